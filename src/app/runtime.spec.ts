import { loadAppConfig } from './config';
import { httpUrl, plannedListeners } from './runtime';

describe('listener URLs', () => {
  it('show wildcard binds as localhost and bracket IPv6 literals', () => {
    expect(httpUrl('0.0.0.0', 8080)).toBe('http://localhost:8080');
    expect(httpUrl('::', 8080)).toBe('http://localhost:8080');
    expect(httpUrl('::1', 8443)).toBe('http://[::1]:8443');
    expect(httpUrl('10.0.0.5', 80)).toBe('http://10.0.0.5:80');
  });

  it('plan one listener per role that listens', () => {
    expect(plannedListeners(loadAppConfig({ ODC_ROLES: 'worker' }))).toEqual([]);
    expect(plannedListeners(loadAppConfig({ ODC_ROLES: 'worker,cron', ODC_OPS_PORT: '9090' }))).toEqual([
      { name: 'ops', url: 'http://localhost:9090' },
    ]);
    expect(
      plannedListeners(loadAppConfig({ ODC_ROLES: 'coordinator,deployer', ODC_OPS_PORT: '9090' })),
    ).toEqual([
      { name: 'api', url: 'http://localhost:8080' },
      { name: 'deployer', url: 'http://127.0.0.1:8443' },
    ]);
  });
});

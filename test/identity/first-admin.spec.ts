import { ApiKeysService } from '../../src/auth/api-keys/api-keys.service';
import { startTestApp, startWithFirstAdmin } from '../support/app';

describe('the first admin', () => {
  it('is made on the first development start, its key printed once on the terminal (not the log) and working; not on the next start', async () => {
    const { app: first, adminKey: key } = await startWithFirstAdmin({
      roles: 'coordinator',
      env: { NODE_ENV: 'development', ODC_LOG_FORMAT: 'json' },
    });
    const announced = first.logs.lines
      .map((l) => String(l.msg))
      .filter((msg) => msg.startsWith('first start'));
    expect(announced).toHaveLength(1);
    expect(JSON.stringify(first.logs.lines)).not.toMatch(/odc_[a-z0-9]{12}_/);
    const holder = await first.core().get(ApiKeysService).authenticate(key);
    expect(holder).toMatchObject({ user: { username: 'admin', role: 'admin' } });
    expect('apiKey' in holder && holder.apiKey.scopes).toContain('clusters:admin');
    const me = await first.http().get('/api/v1/me').set('authorization', `Bearer ${key}`).expect(200);
    expect(me.body).toMatchObject({ username: 'admin', admin: true });
    await first.runtime.close();

    const second = await startTestApp({
      roles: 'coordinator',
      database: first.database,
      env: { NODE_ENV: 'development', ODC_LOG_FORMAT: 'json' },
    });
    expect(second.logs.lines.some((l) => String(l.msg).startsWith('first start'))).toBe(false);
    await second.close();
  });

  it('is never made outside development', async () => {
    const app = await startTestApp({ roles: 'coordinator' });
    expect(app.logs.lines.some((l) => String(l.msg).startsWith('first start'))).toBe(false);
    await app.close();
  });
});

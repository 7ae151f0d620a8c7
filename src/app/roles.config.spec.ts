import { loadAppConfig } from './config';

const PRODUCTION = {
  NODE_ENV: 'production',
  DATABASE_URL: 'postgres://odc:pw@db:5432/odc',
  ODC_MASTER_KEY: 'a'.repeat(64),
};

describe('RolesConfig', () => {
  it('refuses unknown roles with the valid ones named', () => {
    expect(() => loadAppConfig({ ODC_ROLES: 'worker,bogus' })).toThrow(
      /ODC_ROLES: .*unknown role\(s\) "bogus"/,
    );
  });

  it('requires a database and a master key in production for the roles that keep state', () => {
    expect(() => loadAppConfig({ NODE_ENV: 'production', ODC_ROLES: 'worker' })).toThrow(
      /DATABASE_URL: DATABASE_URL is required when NODE_ENV=production[\s\S]*ODC_MASTER_KEY: ODC_MASTER_KEY is required in production/,
    );
    expect(loadAppConfig({ NODE_ENV: 'production', ODC_ROLES: 'deployer' }).DATABASE_URL).toBeUndefined();
  });

  it('refuses a deployer that would serve beyond this machine without authentication', () => {
    expect(() => loadAppConfig({ ...PRODUCTION, ODC_DEPLOYER_HOST: '0.0.0.0' })).toThrow(
      /ODC_DEPLOYER_TOKEN: refusing to serve the deployer on 0\.0\.0\.0 without authentication/,
    );
    for (const guard of [
      { ODC_DEPLOYER_TOKEN: 'a-token-of-16-chars-or-more' },
      { ODC_DEPLOYER_CLIENT_CA: '/tls/ca.crt' },
      { ODC_DEPLOYER_INSECURE: 'true' },
      { ODC_DEPLOYER_HOST: '127.0.0.1' },
      { ODC_ROLES: 'coordinator,worker,cron' },
    ]) {
      expect(() => loadAppConfig({ ...PRODUCTION, ODC_DEPLOYER_HOST: '0.0.0.0', ...guard })).not.toThrow();
    }
    // A development start makes up a token of its own (src/deployer/deployer-access.ts).
    expect(() => loadAppConfig({ NODE_ENV: 'development', ODC_DEPLOYER_HOST: '0.0.0.0' })).not.toThrow();
  });
});

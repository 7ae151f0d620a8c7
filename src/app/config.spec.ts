import { ConfigError, describeConfig } from '../infra/config/load-config';
import { loadAppConfig } from './config';

function problemsOf(source: Record<string, string>): string[] {
  try {
    loadAppConfig(source);
  } catch (error) {
    if (error instanceof ConfigError) {
      return error.problems;
    }
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('loadAppConfig', () => {
  it('gives working defaults for an empty environment', () => {
    const config = loadAppConfig({});
    expect(config.ODC_PORT).toBe(8080);
    expect(config.ODC_DEPLOYER_PORT).toBe(8443);
    expect([...config.roles]).toEqual(['coordinator', 'worker', 'cron', 'deployer']);
    expect(config.DATABASE_URL).toBeUndefined();
    expect(config.ODC_DB_SKIP_MIGRATIONS).toBe(false);
    expect(config.logFormat).toBe('pretty');
  });

  it('converts numbers and booleans', () => {
    const config = loadAppConfig({ ODC_PORT: '9000', ODC_DB_SKIP_MIGRATIONS: 'true', NODE_ENV: 'test' });
    expect(config.ODC_PORT).toBe(9000);
    expect(config.ODC_DB_SKIP_MIGRATIONS).toBe(true);
    expect(config.logFormat).toBe('json');
  });

  it('lists every problem at once', () => {
    const problems = problemsOf({
      ODC_PORT: '80x',
      ODC_DB_SKIP_MIGRATIONS: 'maybe',
      ODC_ROLES: 'worker,bogus',
      ODC_LOG_LEVEL: 'loud',
    });
    expect(problems).toHaveLength(4);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^ODC_PORT: .*integer.*\(got "80x"\)$/),
        expect.stringMatching(/^ODC_DB_SKIP_MIGRATIONS: .*boolean/),
        expect.stringMatching(
          /^ODC_ROLES: .*unknown role\(s\) "bogus"; valid roles: coordinator, worker, cron, deployer/,
        ),
        expect.stringMatching(/^ODC_LOG_LEVEL: /),
      ]),
    );
  });

  it('refuses deployer guards that would not guard: a short token, client names without a client CA', () => {
    expect(problemsOf({ ODC_DEPLOYER_TOKEN: 'short' })).toEqual([
      'ODC_DEPLOYER_TOKEN: ODC_DEPLOYER_TOKEN must be at least 16 characters (it guards pod creation) (got ***)',
    ]);
    expect(problemsOf({ ODC_DEPLOYER_ALLOWED_CLIENT_CNS: 'odc-coordinator' })).toEqual([
      expect.stringMatching(/^ODC_DEPLOYER_ALLOWED_CLIENT_CNS: .*needs ODC_DEPLOYER_CLIENT_CA/),
    ]);
  });

  it('asks aws-ebs for its region, and only aws-ebs', () => {
    expect(() => loadAppConfig({ ODC_STORAGE_PROVIDER: 'aws-ebs' })).toThrow(/ODC_AWS_REGION/);
    expect(() => loadAppConfig({ ODC_STORAGE_PROVIDER: 'aws-ebs', ODC_AWS_REGION: 'nowhere' })).toThrow(
      /ODC_AWS_REGION must be an AWS region/,
    );
    expect(
      loadAppConfig({ ODC_STORAGE_PROVIDER: 'aws-ebs', ODC_AWS_REGION: 'us-east-2' }).ODC_AWS_REGION,
    ).toBe('us-east-2');
    expect(loadAppConfig({}).ODC_STORAGE_PROVIDER).toBe('k8s-csi');
    expect(() => loadAppConfig({ ODC_STORAGE_PROVIDER: 'gcs' })).toThrow(/ODC_STORAGE_PROVIDER/);
  });

  it('refuses a default disk size above the largest allowed', () => {
    expect(() => loadAppConfig({ ODC_DISK_DEFAULT_SIZE_GB: '500', ODC_DISK_MAX_SIZE_GB: '200' })).toThrow(
      /ODC_DISK_DEFAULT_SIZE_GB must not be above ODC_DISK_MAX_SIZE_GB/,
    );
    expect(
      loadAppConfig({ ODC_DISK_DEFAULT_SIZE_GB: '200', ODC_DISK_MAX_SIZE_GB: '200' })
        .ODC_DISK_DEFAULT_SIZE_GB,
    ).toBe(200);
  });

  it('does not require a database for a deployer-only replica, even in production', () => {
    expect(loadAppConfig({ NODE_ENV: 'production', ODC_ROLES: 'deployer' }).DATABASE_URL).toBeUndefined();
  });

  it('requires DATABASE_URL and ODC_MASTER_KEY in production and never echoes their values', () => {
    expect(problemsOf({ NODE_ENV: 'production' })).toEqual([
      expect.stringMatching(/^DATABASE_URL: .*required/),
      expect.stringMatching(/^ODC_MASTER_KEY: .*required in production/),
    ]);
    expect(() => loadAppConfig({ NODE_ENV: 'production', ODC_ROLES: 'deployer' })).not.toThrow();
    const masterKey = 'not-a-valid-master-key-but-a-secret-anyway';
    expect(problemsOf({ ODC_MASTER_KEY: masterKey }).join('\n')).not.toContain(masterKey);
    expect(problemsOf({ DATABASE_URL: 'postgres://odc:hunter2@db:99999/odc' })).toHaveLength(1);
    expect(problemsOf({ DATABASE_URL: 'postgres:///odc' })).toHaveLength(1);
    const problems = problemsOf({ DATABASE_URL: 'mysql://root:hunter2@db/x' });
    expect(problems.join('\n')).not.toContain('hunter2');
    expect(problems[0]).toContain('(got ***)');
  });

  it('ignores variables it does not own', () => {
    expect(() => loadAppConfig({ PATH: '/usr/bin', HOME: '/root' })).not.toThrow();
  });
});

describe('describeConfig', () => {
  it('masks secrets but keeps where the database is', () => {
    const described = describeConfig(
      loadAppConfig({ DATABASE_URL: 'postgres://odc:s3cret@db.internal:5432/odc' }),
    );
    expect(described.DATABASE_URL).toBe('postgres://odc:***@db.internal:5432/odc');
    expect(JSON.stringify(described)).not.toContain('s3cret');
  });
});

import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestApp, type TestApp } from '../support/app';
import { startCli, type CliRun } from '../support/cli';
import { assumedRole, FAKE_AWS_ACCOUNT, FakeSts, type FakeAwsPrincipal } from '../support/fake-sts';

const DANA = assumedRole('GpuUsers', 'Dana.Lee@example.com', 11);
const EVE = assumedRole('Billing', 'eve', 12);

/**
 * `gpu-dev login --aws` as a user runs it: the built CLI in a subprocess with a HOME of its own and
 * AWS credentials only from the environment given (the shared files point nowhere and instance
 * metadata is off, so nothing of this machine's AWS setup is used). It presigns for the fake STS,
 * which the platform is configured to trust as ODC_AWS_STS_ENDPOINT.
 */
describe('gpu-dev login --aws against the running platform and a fake STS', () => {
  const sts = new FakeSts([DANA, EVE]);
  const homes: string[] = [];
  /** Everything every run printed, to prove no AWS secret ever reaches the terminal. */
  const printed: string[] = [];
  let app: TestApp;
  let apiUrl: string;

  beforeAll(async () => {
    await sts.start();
    app = await startTestApp({
      roles: 'coordinator',
      env: {
        ODC_AWS_IAM_AUTH_ENABLED: 'true',
        ODC_AWS_ALLOWED_ROLES: `arn:aws:iam::${FAKE_AWS_ACCOUNT}:role/GpuUsers`,
        ODC_AWS_STS_ENDPOINT: sts.origin,
        ODC_RATE_LIMIT_LOGIN_PER_MINUTE: '100',
      },
    });
    apiUrl = app.runtime.listeners.find((l) => l.name === 'api')!.url;
  });

  afterAll(async () => {
    await app.close();
    await sts.stop();
    homes.forEach((home) => rmSync(home, { recursive: true, force: true }));
  });

  const newHome = () => {
    const home = mkdtempSync(join(tmpdir(), 'gpu-dev-aws-'));
    homes.push(home);
    return home;
  };
  const configFile = (home: string) => join(home, '.config', 'gpu-dev', 'config.json');
  const awsEnv = (principal: FakeAwsPrincipal) => ({
    AWS_ACCESS_KEY_ID: principal.accessKeyId,
    AWS_SECRET_ACCESS_KEY: principal.secretAccessKey,
    AWS_SESSION_TOKEN: principal.sessionToken,
  });

  const cli = async (home: string, args: string[], env: Record<string, string> = {}): Promise<CliRun> => {
    const run = await startCli(home, args, env).done;
    printed.push(run.stdout, run.stderr);
    return run;
  };

  it('logs an allowed role in: saves the key like login --key, and whoami is the session name', async () => {
    const home = newHome();
    const asked = sts.received.length;
    const login = await cli(home, ['--api-url', apiUrl, 'login', '--aws', '--sts-endpoint', sts.origin], {
      ...awsEnv(DANA),
    });
    expect(login).toMatchObject({ code: 0 });
    expect(login.stdout.trim()).toBe(`Logged in to ${apiUrl} as dana.lee.`);
    // Nothing on stderr but the hint a new user needs next.
    expect(login.stderr).toBe(
      'ODC has no SSH key of yours, so gpu-dev connect cannot get in: gpu-dev ssh-keys add FILE\n',
    );

    // STS was asked once, with a GetCallerIdentity presigned for a minute under Dana's session.
    expect(sts.received.length - asked).toBe(1);
    const reached = new URLSearchParams(sts.received[asked]);
    expect(reached.get('Action')).toBe('GetCallerIdentity');
    expect(reached.get('X-Amz-Expires')).toBe('60');
    expect(reached.get('X-Amz-Credential')).toMatch(
      new RegExp(`^${DANA.accessKeyId}/\\d{8}/us-east-1/sts/aws4_request$`),
    );
    expect(reached.get('X-Amz-Security-Token')).toBe(DANA.sessionToken);

    const saved = JSON.parse(readFileSync(configFile(home), 'utf8')) as Record<string, string>;
    expect(saved).toEqual({ api_url: apiUrl, api_key: expect.stringMatching(/^odc_[a-z0-9]{12}_/) });
    expect(statSync(configFile(home)).mode & 0o777).toBe(0o600);

    // The saved key is what later commands use, with no AWS credentials around any more.
    const whoami = await cli(home, ['--json', 'whoami']);
    expect(whoami.code).toBe(0);
    expect(JSON.parse(whoami.stdout)).toMatchObject({
      username: 'dana.lee',
      admin: false,
      authenticated_by: 'api_key',
    });
    const keys = await cli(home, ['--json', 'keys', 'list']);
    expect(keys.code).toBe(0);
    expect((JSON.parse(keys.stdout) as { name: string }[]).map((key) => key.name)).toContain(
      'gpu-dev login --aws',
    );
  });

  it('takes the STS endpoint from ODC_AWS_STS_ENDPOINT too, and prints JSON with --json', async () => {
    const home = newHome();
    const login = await cli(home, ['--api-url', apiUrl, '--json', 'login', '--aws'], {
      ...awsEnv(DANA),
      ODC_AWS_STS_ENDPOINT: sts.origin,
    });
    expect(login.code).toBe(0);
    expect(JSON.parse(login.stdout)).toMatchObject({ username: 'dana.lee', admin: false });
    expect(JSON.parse(readFileSync(configFile(home), 'utf8'))).toMatchObject({ api_url: apiUrl });
  });

  it('exits 3 with "run gpu-dev login" when the role may not log in, and saves nothing', async () => {
    const home = newHome();
    const refused = await cli(home, ['--api-url', apiUrl, 'login', '--aws', '--sts-endpoint', sts.origin], {
      ...awsEnv(EVE),
    });
    expect(refused.code).toBe(3);
    expect(refused.stdout).toBe('');
    expect(refused.stderr.trim().split('\n')).toEqual([
      `error: The AWS role Billing in account ${FAKE_AWS_ACCOUNT} may not log in to ODC: run gpu-dev login`,
    ]);
    expect(() => statSync(configFile(home))).toThrow(/ENOENT/);
  });

  it('exits 3 in one line when there are no AWS credentials, before anything reaches STS', async () => {
    const home = newHome();
    const asked = sts.received.length;
    const none = await cli(home, ['--api-url', apiUrl, 'login', '--aws', '--sts-endpoint', sts.origin]);
    expect(none.code).toBe(3);
    expect(none.stdout).toBe('');
    expect(none.stderr.trim().split('\n')).toHaveLength(1);
    expect(none.stderr).toMatch(/^error: No usable AWS credentials \(.+\): set AWS_PROFILE/);
    expect(sts.received.length).toBe(asked);
    expect(() => statSync(configFile(home))).toThrow(/ENOENT/);
  });

  it('exits 2 for --aws with --key, or --sts-endpoint without --aws, before doing anything', async () => {
    const home = newHome();
    const both = await cli(home, ['--api-url', apiUrl, 'login', '--aws', '--key', 'x'], awsEnv(DANA));
    expect(both.code).toBe(2);
    expect(both.stderr.trim()).toBe('error: --aws and --key are two ways to log in: use one');
    const stray = await cli(home, ['--api-url', apiUrl, 'login', '--key', 'x', '--sts-endpoint', sts.origin]);
    expect(stray.code).toBe(2);
    expect(stray.stderr.trim()).toBe('error: --sts-endpoint goes with --aws');
  });

  it('never prints the secret access key, the session token or the presigned request', () => {
    // Runs after the others (Jest keeps the order in a file): every output they produced.
    expect(printed.length).toBeGreaterThanOrEqual(14);
    const all = printed.join('\n');
    for (const principal of [DANA, EVE]) {
      expect(all).not.toContain(principal.secretAccessKey);
      expect(all).not.toContain(principal.sessionToken);
      expect(all).not.toContain(encodeURIComponent(principal.sessionToken));
    }
    expect(all).not.toMatch(/X-Amz-(Signature|Security-Token|Credential)/i);
    expect(all).not.toContain('Action=GetCallerIdentity');
  });
});

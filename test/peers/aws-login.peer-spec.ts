import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { startTestApp, type TestApp } from '../support/app';
import { startCli } from '../support/cli';
import {
  assumeRole,
  createRole,
  createUserWithKey,
  signedQueryRequest,
  type AwsKeys,
} from './support/aws-query';
import { MOTO_ACCOUNT, MOTO_CREDENTIALS, startMoto, type Moto } from './support/moto';

const CALLER_IDENTITY = { Action: 'GetCallerIdentity' };

interface LoginRow {
  outcome: string;
  request_metadata: Record<string, unknown>;
}

/**
 * The legacy AWS IAM login against moto's STS, which signs nothing in ODC's favour: the principals
 * are moto's (roles made with IAM CreateRole, sessions with STS AssumeRole, an IAM user with its
 * access key), moto checks every signature it is sent (IAM authentication on) and names the caller,
 * and ODC, with ODC_AWS_STS_ENDPOINT at moto, forwards the presigned request and decides.
 *
 * The request is presigned in its Authorization header, a form the login accepts beside the query
 * form gpu-dev sends: moto 5.2.6 serves GetCallerIdentity only in that form (see the last tests).
 */
describe('POST /api/v1/auth/aws-login against moto’s STS', () => {
  let moto: Moto;
  let app: TestApp;
  let alice: AwsKeys & { arn: string };
  let mallory: AwsKeys & { arn: string };
  let bot: AwsKeys & { arn: string };
  let eve: AwsKeys & { arn: string };
  const homes: string[] = [];

  beforeAll(async () => {
    moto = await startMoto();
    const gpuUsers = await createRole(moto.url, MOTO_CREDENTIALS, 'GpuUsers');
    const billing = await createRole(moto.url, MOTO_CREDENTIALS, 'Billing');
    alice = await assumeRole(moto.url, MOTO_CREDENTIALS, gpuUsers, 'Alice.Smith@example.com');
    mallory = await assumeRole(moto.url, MOTO_CREDENTIALS, billing, 'mallory');
    bot = await createUserWithKey(moto.url, MOTO_CREDENTIALS, 'ci-bot');
    eve = await createUserWithKey(moto.url, MOTO_CREDENTIALS, 'eve');
    await moto.requireSignatures();
    app = await startTestApp({
      roles: 'coordinator',
      env: {
        ODC_AWS_IAM_AUTH_ENABLED: 'true',
        ODC_AWS_ALLOWED_ROLES: `${gpuUsers},arn:aws:iam::${MOTO_ACCOUNT}:user/ci-bot`,
        ODC_AWS_STS_ENDPOINT: moto.url,
        ODC_RATE_LIMIT_LOGIN_PER_MINUTE: '100',
      },
    });
  });

  afterAll(async () => {
    await app?.close();
    await moto?.stop();
    homes.forEach((home) => rmSync(home, { recursive: true, force: true }));
  });

  /** GetCallerIdentity signed with `keys` for moto, as the login's body carries it. */
  const presigned = async (keys: AwsKeys) => {
    const { url, headers, body } = await signedQueryRequest(moto.url, 'sts', keys, CALLER_IDENTITY);
    return { url, method: 'POST', headers, body };
  };
  const login = (body: object) => app.http().post('/api/v1/auth/aws-login').send(body);
  const lastLogin = async (): Promise<LoginRow> =>
    (
      await app
        .core()
        .get(DataSource)
        .query<LoginRow[]>(
          `SELECT outcome, request_metadata FROM audit_log WHERE action = 'auth.login' ORDER BY id DESC LIMIT 1`,
        )
    )[0]!;

  it('moto names an AssumeRole session of an allowed role: a key for the session’s user', async () => {
    expect(alice.arn).toBe(`arn:aws:sts::${MOTO_ACCOUNT}:assumed-role/GpuUsers/Alice.Smith@example.com`);
    const res = await login({ ...(await presigned(alice)), key_name: 'peer' }).expect(201);
    expect(res.body).toMatchObject({ username: 'alice.smith', name: 'peer', origin: 'aws-login' });
    const me = await app.http().get('/api/v1/me').set('authorization', `Bearer ${res.body.key}`).expect(200);
    expect(me.body).toMatchObject({ username: 'alice.smith', authenticated_by: 'api_key' });
    expect(await lastLogin()).toMatchObject({
      outcome: 'success',
      request_metadata: { method: 'aws_iam', arn: alice.arn },
    });
  });

  it('an IAM user logs in only by its full ARN on the list', async () => {
    expect((await login(await presigned(bot)).expect(201)).body.username).toBe('ci-bot');
    const refused = await login(await presigned(eve)).expect(401);
    expect(refused.body.details).toEqual({ reason: 'not_an_allowed_role' });
  });

  it('a role not on the list is refused after moto vouched for it, and no user is made', async () => {
    const res = await login(await presigned(mallory)).expect(401);
    expect(res.body).toMatchObject({ code: 'unauthorized', details: { reason: 'not_an_allowed_role' } });
    expect(res.body.message).toBe(`The AWS role Billing in account ${MOTO_ACCOUNT} may not log in to ODC`);
    expect(await lastLogin()).toMatchObject({ outcome: 'denied' });
    expect(await app.core().get(DataSource).query(`SELECT 1 FROM users WHERE username = 'mallory'`)).toEqual(
      [],
    );
  });

  it('what moto does not vouch for is rejected_by_sts, with moto’s code: a forged signature, a key it never issued', async () => {
    const forged = await presigned(alice);
    forged.headers.authorization = forged.headers.authorization!.replace(
      /Signature=[0-9a-f]{64}/,
      `Signature=${'0'.repeat(64)}`,
    );
    const stranger = { accessKeyId: 'AKIANEVERISSUED00001', secretAccessKey: 'whatever' };
    for (const [body, stsCode] of [
      [forged, 'SignatureDoesNotMatch'],
      [await presigned(stranger), 'InvalidClientTokenId'],
    ] as const) {
      const res = await login(body).expect(401);
      expect(res.body.details).toEqual({ reason: 'rejected_by_sts', stsCode });
    }
  });

  it('writes no signature, session token or secret key in a log line or an audit row', async () => {
    const rows = await app
      .core()
      .get(DataSource)
      .query(`SELECT row_to_json(a)::text AS row FROM audit_log a`);
    const written = [
      ...app.logs.lines.map((line) => JSON.stringify(line)),
      ...rows.map((r: { row: string }) => r.row),
    ].join('\n');
    expect(written).toContain('/api/v1/auth/aws-login');
    for (const keys of [alice, mallory, bot, eve]) {
      expect(written).not.toContain(keys.secretAccessKey);
      if (keys.sessionToken) {
        expect(written).not.toContain(keys.sessionToken);
      }
    }
    expect(written).not.toMatch(/Signature=[0-9a-f]{64}/);
  });

  it('gpu-dev login --aws (presigned in the query) gets no login from moto, whose STS never sees it', async () => {
    // moto 5.2.6 routes a request by its Authorization header or Host, never by a query's
    // X-Amz-Credential: a query-presigned GetCallerIdentity reaches its S3 (a bucket list; a 500
    // with signatures required, as S3's check reads an Authorization header that is not there),
    // and its STS reads the caller's key from that header only. ODC takes either for no STS
    // answer, never for an identity.
    const home = mkdtempSync(join(tmpdir(), 'gpu-dev-moto-'));
    homes.push(home);
    const apiUrl = app.runtime.listeners.find((l) => l.name === 'api')!.url;
    const run = await startCli(home, ['--api-url', apiUrl, 'login', '--aws', '--sts-endpoint', moto.url], {
      AWS_ACCESS_KEY_ID: alice.accessKeyId,
      AWS_SECRET_ACCESS_KEY: alice.secretAccessKey,
      AWS_SESSION_TOKEN: alice.sessionToken!,
    }).done;
    expect(run).toMatchObject({ code: 1, stdout: '' });
    expect(run.stderr.trim()).toMatch(/^error: not_ready: STS answered (200 with a body that is not|500)/);
    expect(run.stderr).not.toContain(alice.secretAccessKey);
    expect(() => statSync(join(home, '.config', 'gpu-dev', 'config.json'))).toThrow(/ENOENT/);
    expect(await lastLogin()).toEqual({
      outcome: 'failure',
      request_metadata: expect.objectContaining({ method: 'aws_iam', reason: 'sts_unavailable' }),
    });
  });

  it('answers 503 sts_unavailable (not 401) once moto is gone', async () => {
    const body = await presigned(alice);
    await moto.stop();
    const res = await login(body).expect(503);
    expect(res.body).toMatchObject({ code: 'not_ready', details: { reason: 'sts_unavailable' } });
  });
});

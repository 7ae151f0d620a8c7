import { DataSource } from 'typeorm';
import { AuditService } from '../../src/audit/audit.service';
import { UsersService } from '../../src/auth/users/users.service';
import { startTestApp, type TestApp } from '../support/app';
import { assumedRole, FAKE_AWS_ACCOUNT, FakeSts } from '../support/fake-sts';

const ALICE = assumedRole('GpuUsers', 'Alice.Smith@example.com', 1);
const BOB = assumedRole('GpuAdmins', 'bob', 2);
const MALLORY = assumedRole('Billing', 'mallory', 3);
const CAROL = assumedRole('GpuUsers', 'carol', 4);
const USER_SCOPES = [
  'reservations:read',
  'reservations:write',
  'disks:read',
  'disks:write',
  'ssh-keys:write',
  'keys:write',
];

interface LoginRow {
  outcome: string;
  user_id: string | null;
  username: string | null;
  resource_id: string | null;
  request_metadata: Record<string, unknown>;
}

describe('POST /api/v1/auth/aws-login: a presigned STS request in, an API key out', () => {
  const sts = new FakeSts([ALICE, BOB, MALLORY, CAROL]);
  /** Every presigned URL sent, to prove none of it is written anywhere. */
  const sent: string[] = [];
  let app: TestApp;
  let dataSource: DataSource;

  beforeAll(async () => {
    await sts.start();
    app = await startTestApp({
      roles: 'coordinator',
      env: {
        ODC_AWS_IAM_AUTH_ENABLED: 'true',
        ODC_AWS_ALLOWED_ROLES: ['GpuUsers', 'GpuAdmins']
          .map((role) => `arn:aws:iam::${FAKE_AWS_ACCOUNT}:role/${role}`)
          .join(','),
        ODC_AWS_STS_ENDPOINT: sts.origin,
        ODC_RATE_LIMIT_LOGIN_PER_MINUTE: '100',
      },
    });
    dataSource = app.core().get(DataSource);
  });

  afterAll(async () => {
    await app.close();
    await sts.stop();
  });

  beforeEach(() => {
    sts.down = false;
  });

  const presigned = async (principal = ALICE) => {
    const url = await sts.presign(principal);
    sent.push(url);
    return url;
  };
  const login = (body: object) => app.http().post('/api/v1/auth/aws-login').send(body);
  const lastLogin = async (): Promise<LoginRow> =>
    (
      await dataSource.query<LoginRow[]>(
        `SELECT outcome, user_id, username, resource_id, request_metadata FROM audit_log
         WHERE action = 'auth.login' ORDER BY id DESC LIMIT 1`,
      )
    )[0]!;

  it('logs an allowed role in: 201 with a user key that works on /me, audited with the ARN', async () => {
    const res = await login({ url: await presigned() }).expect(201);
    expect(res.body).toMatchObject({
      username: 'alice.smith',
      name: 'aws-login',
      origin: 'aws-login',
      scopes: USER_SCOPES,
    });
    expect(res.body.key).toMatch(/^odc_[a-z0-9]{12}_/);
    const me = await app.http().get('/api/v1/me').set('authorization', `Bearer ${res.body.key}`).expect(200);
    expect(me.body).toMatchObject({ username: 'alice.smith', admin: false, authenticated_by: 'api_key' });
    expect(await lastLogin()).toEqual({
      outcome: 'success',
      user_id: me.body.id,
      username: 'alice.smith',
      resource_id: res.body.id,
      request_metadata: expect.objectContaining({ method: 'aws_iam', arn: ALICE.arn }),
    });
  });

  it('gives an admin the admin scopes too, and names and times the key as asked', async () => {
    const users = app.core().get(UsersService);
    await dataSource.query(`UPDATE users SET role = 'admin' WHERE id = $1`, [
      (await users.findOrCreateByUsername('bob')).id,
    ]);
    const res = await login({ url: await presigned(BOB), key_name: 'laptop', ttl_hours: 2 }).expect(201);
    expect(res.body).toMatchObject({ username: 'bob', name: 'laptop' });
    expect(res.body.scopes).toEqual([...USER_SCOPES, 'clusters:admin', 'audit:read', 'users:admin']);
    const lifetime = Date.parse(res.body.expires_at) - Date.parse(res.body.created_at);
    expect(lifetime).toBeGreaterThan(1.99 * 3_600_000);
    expect(lifetime).toBeLessThanOrEqual(2 * 3_600_000 + 1000);
  });

  it('refuses a role that is not allowed: 401 not_an_allowed_role, audited as denied', async () => {
    const res = await login({ url: await presigned(MALLORY) }).expect(401);
    expect(res.body).toMatchObject({ code: 'unauthorized', details: { reason: 'not_an_allowed_role' } });
    expect(await lastLogin()).toMatchObject({
      outcome: 'denied',
      user_id: null,
      request_metadata: { method: 'aws_iam', reason: 'not_an_allowed_role' },
    });
    expect((await dataSource.query(`SELECT 1 FROM users WHERE username = 'mallory'`)).length).toBe(0);
  });

  it('refuses a request STS does not vouch for: 401 rejected_by_sts', async () => {
    const url = (await presigned()).replace(
      /X-Amz-Signature=[0-9a-f]{64}/,
      `X-Amz-Signature=${'0'.repeat(64)}`,
    );
    const res = await login({ url }).expect(401);
    expect(res.body.details).toEqual({ reason: 'rejected_by_sts', stsCode: 'SignatureDoesNotMatch' });
    expect((await lastLogin()).request_metadata).toMatchObject({
      reason: 'rejected_by_sts',
      sts_code: 'SignatureDoesNotMatch',
    });
  });

  it('answers 503 (not 401) when STS cannot answer, audited as a failure', async () => {
    sts.down = true;
    const res = await login({ url: await presigned() }).expect(503);
    expect(res.body).toMatchObject({ code: 'not_ready', details: { reason: 'sts_unavailable' } });
    expect(await lastLogin()).toMatchObject({
      outcome: 'failure',
      request_metadata: { method: 'aws_iam', reason: 'sts_unavailable' },
    });
  });

  it('refuses raw AWS credentials with a 400, wherever they are put, before asking STS', async () => {
    const url = await presigned();
    const asked = sts.received.length;
    const unknownField = await login({ url, aws_secret_access_key: ALICE.secretAccessKey }).expect(400);
    expect(unknownField.body.code).toBe('validation_failed');
    const inHeaders = await login({
      url,
      headers: { 'X-Aws-Secret-Access-Key': ALICE.secretAccessKey },
    }).expect(400);
    expect(inHeaders.body).toMatchObject({ code: 'bad_request', details: { reason: 'raw_credentials' } });
    expect(await lastLogin()).toMatchObject({
      outcome: 'denied',
      request_metadata: { reason: 'raw_credentials' },
    });
    await login({ url: 'https://sts.amazonaws.com.evil.example/?Action=GetCallerIdentity' }).expect(400);
    await login({}).expect(400);
    expect(sts.received.length).toBe(asked);
    for (const res of [unknownField, inHeaders]) {
      expect(JSON.stringify(res.body)).not.toContain(ALICE.secretAccessKey);
    }
  });

  it('refuses a disabled user with 403, and issues no key', async () => {
    const carol = await app.core().get(UsersService).findOrCreateByUsername('carol');
    await dataSource.query(`UPDATE users SET disabled = true WHERE id = $1`, [carol.id]);
    const res = await login({ url: await presigned(CAROL) }).expect(403);
    expect(res.body.code).toBe('forbidden');
    expect(await lastLogin()).toMatchObject({
      outcome: 'denied',
      user_id: carol.id,
      request_metadata: { reason: 'user_disabled' },
    });
    expect(await dataSource.query(`SELECT 1 FROM api_keys WHERE user_id = $1`, [carol.id])).toEqual([]);
  });

  it('writes no signature, session token or secret in a log line or an audit row; the chain holds', async () => {
    const secrets = [
      ...sent.flatMap((url) => {
        const params = new URL(url).searchParams;
        return [params.get('X-Amz-Signature')!, params.get('X-Amz-Security-Token')!];
      }),
      ...[ALICE, BOB, MALLORY, CAROL].map((p) => p.secretAccessKey),
    ];
    const rows = await dataSource.query(`SELECT row_to_json(a)::text AS row FROM audit_log a`);
    const written = [
      ...app.logs.lines.map((line) => JSON.stringify(line)),
      ...rows.map((r: { row: string }) => r.row),
    ];
    expect(written.join('\n')).toContain('/api/v1/auth/aws-login');
    for (const secret of secrets) {
      expect(written.join('\n')).not.toContain(secret);
    }
    expect(await app.core().get(AuditService).verifyChain()).toMatchObject({ ok: true });
  });
});

describe('POST /api/v1/auth/aws-login while ODC_AWS_IAM_AUTH_ENABLED is off', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp({ roles: 'coordinator', env: { ODC_RATE_LIMIT_LOGIN_PER_MINUTE: '1' } });
  });

  afterAll(() => app.close());

  it('answers 404, and is still held to the login rate limit', async () => {
    const login = () =>
      app
        .http()
        .post('/api/v1/auth/aws-login')
        .send({ url: 'https://sts.amazonaws.com/?Action=GetCallerIdentity' });
    expect((await login().expect(404)).body.code).toBe('not_found');
    expect((await login().expect(429)).body.code).toBe('rate_limited');
    expect(
      await app.core().get(DataSource).query(`SELECT 1 FROM audit_log WHERE action = 'auth.login'`),
    ).toEqual([]);
  });
});

import { DataSource } from 'typeorm';
import { AuditService } from '../../src/audit/audit.service';
import { ApiKeysService } from '../../src/auth/api-keys/api-keys.service';
import type { ApiKeyScope } from '../../src/auth/api-keys/api-key.entity';
import { UsersService } from '../../src/auth/users/users.service';
import { startTestApp, type TestApp } from '../support/app';

interface Item {
  id: string;
  action: string;
  outcome: string;
  username?: string;
  resource_type?: string;
  resource_id?: string;
  request_metadata?: Record<string, unknown>;
  bedrock_request_id?: string;
  bedrock_tokens_used?: number;
  hash: string;
  prev_hash: string;
}

describe('the audit API: reading the log (admins) and recording usage', () => {
  let app: TestApp;
  let audit: AuditService;
  let adminKey: string;
  let aliceKey: string;
  let aliceNoUsageKey: string;
  let bobId: string;

  beforeAll(async () => {
    // Many calls of one route in a second: well above the API's per-second share.
    app = await startTestApp({ roles: 'coordinator', env: { ODC_RATE_LIMIT_API_PER_MINUTE: '60000' } });
    audit = app.core().get(AuditService);
    const users = app.core().get(UsersService);
    const keys = app.core().get(ApiKeysService);
    const issue = async (username: string, scopes: ApiKeyScope[]) =>
      (
        await keys.issue((await users.findOrCreateByUsername(username)).id, {
          name: 't',
          scopes,
          origin: 'api',
        })
      ).key;
    const admin = await users.findOrCreateByUsername('auditor');
    await app.core().get(DataSource).query(`UPDATE users SET role = 'admin' WHERE id = $1`, [admin.id]);
    adminKey = await issue('auditor', ['audit:read', 'usage:write']);
    aliceKey = await issue('alice', ['audit:read', 'usage:write']);
    aliceNoUsageKey = await issue('alice', ['reservations:read']);
    bobId = (await users.findOrCreateByUsername('bob')).id;
  });

  afterAll(() => app.close());

  const list = (query: Record<string, string | number>, key = adminKey) =>
    app.http().get('/api/v1/audit').query(query).set('authorization', `Bearer ${key}`);
  const items = async (query: Record<string, string | number>): Promise<Item[]> =>
    (await list(query).expect(200)).body.items as Item[];
  const usage = (body: object, key = aliceKey) =>
    app.http().post('/api/v1/audit/usage').set('authorization', `Bearer ${key}`).send(body);

  it('is for admins with audit:read: 401 without a key, 403 for a user', async () => {
    await app.http().get('/api/v1/audit').expect(401);
    expect((await list({}, aliceKey).expect(403)).body.code).toBe('forbidden');
  });

  it('filters by user, action (exact or prefix*), resource, outcome and time, newest first', async () => {
    await audit.record({
      action: 'api_key.create',
      outcome: 'success',
      username: 'alice',
      resourceType: 'api_key',
      resourceId: 'k1',
    });
    await audit.record({ action: 'apixkey.create', outcome: 'success', username: 'alice' });
    await new Promise((resolve) => setTimeout(resolve, 20));
    const between = new Date().toISOString();
    await new Promise((resolve) => setTimeout(resolve, 20));
    await audit.record({
      action: 'api_key.revoke',
      outcome: 'success',
      username: 'alice',
      resourceType: 'api_key',
      resourceId: 'k1',
    });
    await audit.record({
      action: 'api_key.create',
      outcome: 'denied',
      username: 'bob',
      resourceType: 'api_key',
      resourceId: 'k2',
    });

    const actions = (rows: Item[]) => rows.map((row) => `${row.action}:${row.username}`);
    expect(actions(await items({ action: 'api_key.*' }))).toEqual([
      'api_key.create:bob',
      'api_key.revoke:alice',
      'api_key.create:alice',
    ]);
    expect(actions(await items({ action: 'api_key.create', user: 'alice' }))).toEqual([
      'api_key.create:alice',
    ]);
    expect(actions(await items({ resource_type: 'api_key', resource_id: 'k1' }))).toEqual([
      'api_key.revoke:alice',
      'api_key.create:alice',
    ]);
    expect(actions(await items({ outcome: 'denied', action: 'api_key.*' }))).toEqual(['api_key.create:bob']);
    expect(actions(await items({ action: 'api*', since: between }))).toEqual([
      'api_key.create:bob',
      'api_key.revoke:alice',
    ]);
    expect(actions(await items({ action: 'api*', until: between }))).toEqual([
      'apixkey.create:alice',
      'api_key.create:alice',
    ]);
    const [row] = await items({ action: 'api_key.revoke' });
    expect(row).toMatchObject({ outcome: 'success', resource_type: 'api_key', resource_id: 'k1' });
    expect(row!.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(row!.prev_hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('pages with an opaque cursor until no next_cursor is given', async () => {
    for (let n = 0; n < 7; n += 1) {
      await audit.record({ action: 'page.test', outcome: 'success', requestMetadata: { n } });
    }
    const seen: number[] = [];
    const sizes: number[] = [];
    let cursor: string | undefined;
    do {
      const res = await list({ action: 'page.test', limit: 3, ...(cursor ? { cursor } : {}) }).expect(200);
      sizes.push(res.body.items.length);
      seen.push(...res.body.items.map((item: Item) => item.request_metadata!.n as number));
      cursor = res.body.next_cursor as string | undefined;
    } while (cursor);
    expect(sizes).toEqual([3, 3, 1]);
    expect(seen).toEqual([6, 5, 4, 3, 2, 1, 0]);
    expect((await list({ action: 'page.test' }).expect(200)).body.next_cursor).toBeUndefined();
  });

  it.each([
    ['a limit of 0', { limit: 0 }],
    ['a limit over 500', { limit: 501 }],
    ['a limit that is not a number', { limit: 'ten' }],
    ['a cursor it did not give', { cursor: 'garbage' }],
    ['a date that is not ISO 8601', { since: 'yesterday' }],
    ['an unknown outcome', { outcome: 'maybe' }],
    ['LIKE wildcards in the action', { action: 'auth.%' }],
    ['an unknown filter', { actor: 'alice' }],
  ])('answers 400 validation_failed for %s', async (_what, query) => {
    expect((await list(query).expect(400)).body.code).toBe('validation_failed');
  });

  it('records usage for the caller (201), once per Bedrock request id (a repeat: 200, the same row)', async () => {
    const body = {
      bedrock_request_id: 'br-1',
      tokens_used: 1234,
      model: 'claude',
      metadata: { app: 'notebook' },
    };
    const first = await usage(body).expect(201);
    expect(first.body).toMatchObject({
      action: 'usage.record',
      outcome: 'success',
      username: 'alice',
      bedrock_request_id: 'br-1',
      bedrock_tokens_used: 1234,
      request_metadata: { model: 'claude', metadata: { app: 'notebook' } },
    });
    const again = await usage({ ...body, username: 'alice' }).expect(200);
    expect(again.body.id).toBe(first.body.id);
    expect((await usage({ ...body, tokens_used: 1 }).expect(409)).body.code).toBe('conflict');
    const racing = await Promise.all(
      [1, 2, 3].map(() => usage({ bedrock_request_id: 'br-2', tokens_used: 5 })),
    );
    expect(racing.map((res) => res.status).sort()).toEqual([200, 200, 201]);
    expect(await items({ action: 'usage.record' })).toHaveLength(2);
  });

  it('lets only an admin record for another user (403 otherwise), an existing one (404 otherwise)', async () => {
    expect(
      (await usage({ username: 'bob', bedrock_request_id: 'br-3', tokens_used: 1 }).expect(403)).body.code,
    ).toBe('forbidden');
    await usage({ bedrock_request_id: 'br-3', tokens_used: 1 }, aliceNoUsageKey).expect(403);
    const forBob = await usage(
      { username: 'bob', bedrock_request_id: 'br-3', tokens_used: 7 },
      adminKey,
    ).expect(201);
    expect(forBob.body).toMatchObject({
      user_id: bobId,
      username: 'bob',
      bedrock_tokens_used: 7,
      request_metadata: { recorded_by: 'auditor' },
    });
    await usage({ username: 'nobody', bedrock_request_id: 'br-4', tokens_used: 1 }, adminKey).expect(404);
  });

  it.each([
    ['negative tokens', { bedrock_request_id: 'x', tokens_used: -1 }],
    ['fractional tokens', { bedrock_request_id: 'x', tokens_used: 1.5 }],
    ['no request id', { tokens_used: 1 }],
    ['a request id with spaces', { bedrock_request_id: 'a b', tokens_used: 1 }],
    ['metadata that is not an object', { bedrock_request_id: 'x', tokens_used: 1, metadata: 'x' }],
    ['metadata too large', { bedrock_request_id: 'x', tokens_used: 1, metadata: { big: 'x'.repeat(5000) } }],
  ])('refuses usage with %s: 400', async (_what, body) => {
    expect((await usage(body).expect(400)).body.code).toBe('validation_failed');
  });

  it('keeps a Bedrock request id per reporter: another reporter claiming it first does not block the real report', async () => {
    const mallory = (
      await app
        .core()
        .get(ApiKeysService)
        .issue((await app.core().get(UsersService).findOrCreateByUsername('mallory')).id, {
          name: 't',
          scopes: ['usage:write'],
          origin: 'api',
        })
    ).key;
    await usage({ bedrock_request_id: 'br-real', tokens_used: 1 }, mallory).expect(201);
    const real = await usage({ bedrock_request_id: 'br-real', tokens_used: 900 }).expect(201);
    expect(real.body).toMatchObject({ username: 'alice', bedrock_tokens_used: 900 });
    // Each reporter's repeat still finds its own row.
    await usage({ bedrock_request_id: 'br-real', tokens_used: 900 }).expect(200);
    await usage({ bedrock_request_id: 'br-real', tokens_used: 2 }, mallory).expect(409);
  });

  it('leaves an intact chain', async () => {
    expect(await audit.verifyChain()).toMatchObject({ ok: true });
  });
});

import { DataSource } from 'typeorm';
import { AuditService } from '../../../src/audit/audit.service';
import { ApiKeysService } from '../../../src/auth/api-keys/api-keys.service';
import { User } from '../../../src/auth/users/user.entity';
import { loadAppConfig } from '../../../src/app/config';
import { mediumDatabase, type MediumDatabase } from '../../support/medium';

describe('API keys and the audit chain, on a real PostgreSQL', () => {
  let database: MediumDatabase;
  let dataSource: DataSource;
  let keys: ApiKeysService;
  let audit: AuditService;
  let alice: User;

  beforeAll(async () => {
    database = await mediumDatabase({ poolSize: 4 });
    dataSource = database.dataSource;
    const config = loadAppConfig({ NODE_ENV: 'test', ODC_API_KEY_MAX_TTL_HOURS: '48' });
    keys = new ApiKeysService(dataSource, config);
    audit = new AuditService(dataSource, config);
    alice = await dataSource.getRepository(User).save({ username: 'alice' });
  });

  afterAll(async () => {
    await database.close();
  });

  it('issues odc_<prefix>_<secret> keys, stores only a hash, and knows them again', async () => {
    const { key, apiKey } = await keys.issue(alice.id, {
      name: 'laptop',
      scopes: ['reservations:read'],
      origin: 'api',
    });
    expect(key).toMatch(/^odc_[a-z0-9]{12}_[A-Za-z0-9_-]{43}$/);
    const stored = await dataSource.query<{ row: string }[]>(
      `SELECT row_to_json(k)::text AS row FROM api_keys k`,
    );
    expect(stored[0]!.row).not.toContain(key.slice('odc_123456789012_'.length));
    const holder = await keys.authenticate(key);
    expect(holder).toMatchObject({
      user: { username: 'alice' },
      apiKey: { id: apiKey.id, scopes: ['reservations:read'] },
    });
    // The default lifetime is 24 h, and none is longer than the configured maximum.
    expect(apiKey.expiresAt.getTime() - Date.now()).toBeGreaterThan(23.9 * 3_600_000);
    const long = await keys.issue(alice.id, { name: 'ci', scopes: [], origin: 'api', ttlHours: 1000 });
    expect(long.apiKey.expiresAt.getTime() - Date.now()).toBeLessThanOrEqual(48 * 3_600_000);
  });

  it('refuses a wrong secret, a malformed key, a revoked, an expired key and a disabled user', async () => {
    const { key, apiKey } = await keys.issue(alice.id, { name: 'k', scopes: [], origin: 'api' });
    const [, prefix, secret] = key.split('_');
    expect(
      await keys.authenticate(`odc_${prefix}_${secret!.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'))}`),
    ).toEqual({ rejected: 'unknown_key' }); // a wrong secret says nothing of the key
    expect(await keys.authenticate('odc_short_x')).toEqual({ rejected: 'unknown_key' });
    expect(await keys.authenticate('')).toEqual({ rejected: 'unknown_key' });

    const bob = await dataSource.getRepository(User).save({ username: 'bob' });
    expect(await keys.revoke(bob.id, apiKey.id)).toBe(false); // not bob's: no such key
    expect(await keys.authenticate(key)).toHaveProperty('apiKey');
    expect(await keys.revoke(alice.id, apiKey.id)).toBe(true);
    expect(await keys.authenticate(key)).toEqual({ rejected: 'key_revoked' });

    const expiring = await keys.issue(alice.id, { name: 'e', scopes: [], origin: 'api' });
    await dataSource.query(`UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE id = $1`, [
      expiring.apiKey.id,
    ]);
    expect(await keys.authenticate(expiring.key)).toEqual({
      rejected: 'key_expired',
      expiredAt: expect.any(Date) as Date,
    });

    const carol = await dataSource.getRepository(User).save({ username: 'carol' });
    const carols = await keys.issue(carol.id, { name: 'c', scopes: [], origin: 'api' });
    await dataSource.getRepository(User).update(carol.id, { disabled: true });
    expect(await keys.authenticate(carols.key)).toEqual({ rejected: 'user_disabled' });
  });

  it('records last use without a write on every request', async () => {
    const { key, apiKey } = await keys.issue(alice.id, { name: 'used', scopes: [], origin: 'api' });
    await keys.authenticate(key);
    const first = (await keys.list(alice.id)).find((k) => k.id === apiKey.id)!.lastUsedAt;
    expect(first).toBeInstanceOf(Date);
    await keys.authenticate(key);
    expect((await keys.list(alice.id)).find((k) => k.id === apiKey.id)!.lastUsedAt).toEqual(first);
  });

  it('chains audit rows (also when written concurrently) and reports an altered row by its id', async () => {
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        audit.record({
          action: 'key.create',
          outcome: 'success',
          userId: alice.id,
          username: 'alice',
          requestMetadata: { n: i, nested: { b: 1, a: 2 } },
        }),
      ),
    );
    expect(await audit.verifyChain()).toEqual({ ok: true, checked: 20 });
    const [{ id }] = await dataSource.query<[{ id: string }]>(
      `SELECT id FROM audit_log ORDER BY id OFFSET 7 LIMIT 1`,
    );
    await dataSource.query(`UPDATE audit_log SET username = 'mallory' WHERE id = $1`, [id]);
    expect(await audit.verifyChain()).toEqual({
      ok: false,
      checked: 7,
      problem: 'rewritten',
      first_broken_id: id,
    });
  });

  it('commits appends that arrive together as one chain, from two writers, and fails only a bad row', async () => {
    await dataSource.query(`TRUNCATE audit_log`);
    const other = new AuditService(dataSource, loadAppConfig({ NODE_ENV: 'test' })); // another replica's writer
    const outcomes = await Promise.allSettled(
      Array.from({ length: 30 }, (_, i) =>
        (i % 2 === 0 ? audit : other).record({
          // varchar(100): this one row cannot be written
          action: i === 11 ? 'x'.repeat(101) : `group.${i}`,
          outcome: 'success',
          requestMetadata: { n: i },
        }),
      ),
    );
    expect(outcomes.filter((o) => o.status === 'rejected')).toHaveLength(1);
    expect(outcomes[11]!.status).toBe('rejected');
    const ids = outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value.id] : []));
    expect(new Set(ids).size).toBe(29);
    const rows = await dataSource.query<{ id: string; action: string }[]>(
      `SELECT id::text AS id, action FROM audit_log ORDER BY id`,
    );
    expect(rows.map((r) => r.id).sort()).toEqual([...ids].sort());
    expect(await audit.verifyChain()).toEqual({ ok: true, checked: 29 });
  });

  it('reports a deleted row at the row after it', async () => {
    await dataSource.query(`TRUNCATE audit_log`);
    for (const action of ['a', 'b', 'c']) {
      await audit.record({ action, outcome: 'success' });
    }
    const ids = (await dataSource.query<{ id: string }[]>(`SELECT id FROM audit_log ORDER BY id`)).map(
      (r) => r.id,
    );
    await dataSource.query(`DELETE FROM audit_log WHERE id = $1`, [ids[1]]);
    expect(await audit.verifyChain()).toEqual({
      ok: false,
      checked: 1,
      problem: 'rewritten',
      first_broken_id: ids[2],
    });
  });
});

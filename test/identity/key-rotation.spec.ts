import { DataSource } from 'typeorm';
import { ApiKeysService } from '../../src/auth/api-keys/api-keys.service';
import { UsersService } from '../../src/auth/users/users.service';
import { startTestApp, type TestApp } from '../support/app';

const HOUR_MS = 3_600_000;

describe('POST /api/v1/keys/{id}/rotate: a new key in place of an old one', () => {
  let app: TestApp;
  let dataSource: DataSource;
  let aliceId: string;
  let aliceKey: string;

  beforeAll(async () => {
    app = await startTestApp({
      roles: 'coordinator',
      env: { ODC_API_KEY_MAX_TTL_HOURS: '48', ODC_RATE_LIMIT_LOGIN_PER_MINUTE: '100' },
    });
    dataSource = app.core().get(DataSource);
    aliceId = (await app.core().get(UsersService).findOrCreateByUsername('alice')).id;
    aliceKey = (
      await app
        .core()
        .get(ApiKeysService)
        .issue(aliceId, {
          name: 'main',
          scopes: ['reservations:read', 'reservations:write', 'keys:write'],
          origin: 'api',
        })
    ).key;
  });

  afterAll(() => app.close());

  const as = (key: string) => ({
    create: (body: object) =>
      app.http().post('/api/v1/keys').set('authorization', `Bearer ${key}`).send(body).expect(201),
    rotate: (id: string) =>
      app.http().post(`/api/v1/keys/${id}/rotate`).set('authorization', `Bearer ${key}`),
    me: () => app.http().get('/api/v1/me').set('authorization', `Bearer ${key}`),
  });

  it('issues a key with the same name, scopes and lifetime, revokes the old one, and audits it', async () => {
    const old = (await as(aliceKey).create({ name: 'script', scopes: ['reservations:read'], ttl_hours: 2 }))
      .body;
    const rotated = await as(aliceKey)
      .rotate(old.id as string)
      .expect(201);
    expect(rotated.body).toMatchObject({ name: 'script', scopes: ['reservations:read'], origin: 'api' });
    expect(rotated.body.id).not.toBe(old.id);
    expect(rotated.body.key).toMatch(/^odc_/);
    const lifetime = Date.parse(rotated.body.expires_at) - Date.parse(rotated.body.created_at);
    expect(Math.abs(lifetime - 2 * HOUR_MS)).toBeLessThan(1000);

    await as(old.key as string)
      .me()
      .expect(401);
    await as(rotated.body.key as string)
      .me()
      .expect(200);
    const listed = await app
      .http()
      .get('/api/v1/keys')
      .set('authorization', `Bearer ${aliceKey}`)
      .expect(200);
    expect(listed.body.items.find((k: { id: string }) => k.id === old.id).revoked_at).toBeDefined();

    const rows = await dataSource.query(
      `SELECT username, outcome, resource_id, request_metadata FROM audit_log WHERE action = 'api_key.rotate'`,
    );
    expect(rows).toEqual([
      {
        username: 'alice',
        outcome: 'success',
        resource_id: old.id,
        request_metadata: expect.objectContaining({ new_key_id: rotated.body.id }),
      },
    ]);
  });

  it('answers 404 for a revoked, an expired or an unknown key, and 400 for an id that is not one', async () => {
    const revoked = (await as(aliceKey).create({ name: 'r', scopes: [] })).body.id as string;
    await app.http().delete(`/api/v1/keys/${revoked}`).set('authorization', `Bearer ${aliceKey}`).expect(204);
    expect((await as(aliceKey).rotate(revoked).expect(404)).body.code).toBe('not_found');

    const expired = (await as(aliceKey).create({ name: 'e', scopes: [] })).body.id as string;
    await dataSource.query(`UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE id = $1`, [
      expired,
    ]);
    await as(aliceKey).rotate(expired).expect(404);

    await as(aliceKey).rotate('00000000-0000-4000-8000-000000000000').expect(404);
    await as(aliceKey).rotate('not-a-uuid').expect(400);
  });

  it('rotates a key once: rotating it again answers 404', async () => {
    const id = (await as(aliceKey).create({ name: 'once', scopes: [] })).body.id as string;
    const results = await Promise.all([as(aliceKey).rotate(id), as(aliceKey).rotate(id)]);
    expect(results.map((res) => res.status).sort()).toEqual([201, 404]);
    const live = await dataSource.query(
      `SELECT 1 FROM api_keys WHERE user_id = $1 AND name = 'once' AND revoked_at IS NULL`,
      [aliceId],
    );
    expect(live).toHaveLength(1);
  });

  it('never renews a key with scopes the calling credential lacks (403, the key stays live)', async () => {
    const wide = (await as(aliceKey).create({ name: 'wide', scopes: ['reservations:write', 'keys:write'] }))
      .body;
    const narrow = (
      await as(aliceKey).create({ name: 'narrow', scopes: ['reservations:read', 'keys:write'] })
    ).body;
    expect(
      (
        await as(narrow.key as string)
          .rotate(wide.id as string)
          .expect(403)
      ).body.code,
    ).toBe('forbidden');
    await as(wide.key as string)
      .me()
      .expect(200);
  });

  it('caps the new lifetime at the maximum, and can rotate the calling key itself', async () => {
    const { key, apiKey } = await app
      .core()
      .get(ApiKeysService)
      .issue(aliceId, {
        name: 'long',
        scopes: ['keys:write'],
        ttlHours: 48,
        origin: 'api',
      });
    // Issued when the maximum was higher: 100 hours long.
    await dataSource.query(
      `UPDATE api_keys SET created_at = expires_at - interval '100 hours' WHERE id = $1`,
      [apiKey.id],
    );
    const rotated = await as(key).rotate(apiKey.id).expect(201);
    expect(Date.parse(rotated.body.expires_at) - Date.now()).toBeLessThanOrEqual(48 * HOUR_MS);
    expect(Date.parse(rotated.body.expires_at) - Date.now()).toBeGreaterThan(47.9 * HOUR_MS);
    await as(key).me().expect(401);
  });
});

import { generateKeyPair, SignJWT } from 'jose';
import { DataSource } from 'typeorm';
import { AuditService } from '../../src/audit/audit.service';
import { ApiKeysService } from '../../src/auth/api-keys/api-keys.service';
import { UsersService } from '../../src/auth/users/users.service';
import { startTestApp, type TestApp } from '../support/app';
import { startIssuer, type TestIssuer } from '../support/jwt-issuer';

describe('authentication over HTTP (API keys, trusted JWTs, scopes, admin, audit)', () => {
  let app: TestApp;
  let issuer: TestIssuer;
  let aliceKey: string;
  let bobKey: string;
  let readOnlyKey: string;

  beforeAll(async () => {
    issuer = await startIssuer();
    app = await startTestApp({
      roles: 'coordinator',
      env: {
        ODC_JWT_ISSUERS: JSON.stringify([{ issuer: issuer.url, audience: 'odc', username_claim: 'actor' }]),
      },
    });
    const users = app.runtime.core!.get(UsersService);
    const keys = app.runtime.core!.get(ApiKeysService);
    const alice = await users.findOrCreateByUsername('alice');
    const bob = await users.findOrCreateByUsername('bob');
    aliceKey = (
      await keys.issue(alice.id, {
        name: 'all',
        scopes: ['reservations:read', 'reservations:write', 'keys:write', 'ssh-keys:write'],
        origin: 'api',
      })
    ).key;
    bobKey = (
      await keys.issue(bob.id, { name: 'all', scopes: ['reservations:read', 'keys:write'], origin: 'api' })
    ).key;
    readOnlyKey = (await keys.issue(alice.id, { name: 'ro', scopes: ['keys:write'], origin: 'api' })).key;
  });

  afterAll(async () => {
    await app.close();
    await issuer.close();
  });

  const me = (token?: string) => {
    const req = app.http().get('/api/v1/me');
    return token ? req.set('authorization', `Bearer ${token}`) : req;
  };

  it('answers 401 with a code without credentials or with a wrong one, and 200 with a key', async () => {
    const none = (await me().expect(401)).body as { code: string; message: string };
    expect(none).toMatchObject({ code: 'no_credentials', message: expect.stringContaining('gpu-dev login') });
    expect((await me('odc_aaaaaaaaaaaa_' + 'x'.repeat(43)).expect(401)).body.code).toBe('unknown_key');
    expect((await me('not-a-token').expect(401)).body.code).toBe('unknown_key');
    // Another key's prefix with a wrong secret says nothing of that key.
    expect((await me(`${aliceKey.slice(0, 17)}${'x'.repeat(43)}`).expect(401)).body.code).toBe('unknown_key');
    const res = await me(aliceKey).expect(200);
    expect(res.body).toMatchObject({ username: 'alice', admin: false, authenticated_by: 'api_key' });
    expect(res.body.scopes).toEqual([
      'reservations:read',
      'reservations:write',
      'keys:write',
      'ssh-keys:write',
    ]);
  });

  it('tells the holder of a key that it expired, was revoked, or that its user is disabled', async () => {
    const db = app.core().get(DataSource);
    const keys = app.core().get(ApiKeysService);
    const users = app.core().get(UsersService);
    const keyOf = async (username: string) => {
      const user = await users.findOrCreateByUsername(username);
      const issued = await keys.issue(user.id, {
        name: 'test',
        scopes: ['reservations:read'],
        origin: 'api',
      });
      return { user, ...issued };
    };
    const expired = await keyOf('erin');
    await db.query(`UPDATE api_keys SET expires_at = now() - interval '1 minute' WHERE id = $1`, [
      expired.apiKey.id,
    ]);
    const expiredAnswer = (await me(expired.key).expect(401)).body as { code: string; message: string };
    expect(expiredAnswer.code).toBe('key_expired');
    expect(expiredAnswer.message).toMatch(
      /^This API key expired at \d{4}-\d\d-\d\dT.*: get a new one with gpu-dev login$/,
    );

    const revoked = await keyOf('frank');
    await db.query(`UPDATE api_keys SET revoked_at = now() WHERE id = $1`, [revoked.apiKey.id]);
    expect((await me(revoked.key).expect(401)).body.code).toBe('key_revoked');

    const disabled = await keyOf('gina');
    await db.query(`UPDATE users SET disabled = true WHERE id = $1`, [disabled.user.id]);
    expect((await me(disabled.key).expect(401)).body.code).toBe('user_disabled');
  });

  it('accepts a JWT from a trusted issuer (the user appears on first sight) and refuses an expired or foreign one', async () => {
    const res = await me(await issuer.sign({ sub: 'repo:x', actor: 'ci-bot' })).expect(200);
    expect(res.body).toMatchObject({
      username: 'ci-bot',
      authenticated_by: 'jwt',
      scopes: ['reservations:read', 'reservations:write', 'disks:read', 'disks:write'],
    });
    const expired = await new SignJWT({ actor: 'ci-bot' })
      .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .setIssuer(issuer.url)
      .setAudience('odc')
      .setSubject('repo:x')
      .setExpirationTime(Math.floor(Date.now() / 1000) - 3600)
      .sign((await generateKeyPair('RS256')).privateKey);
    await me(expired).expect(401);
    const foreign = await new SignJWT({ actor: 'x' })
      .setProtectedHeader({ alg: 'RS256' })
      .setIssuer('https://elsewhere.example')
      .setAudience('odc')
      .setSubject('s')
      .setExpirationTime('5m')
      .sign((await generateKeyPair('RS256')).privateKey);
    await me(foreign).expect(401);
  });

  it('creates keys with no more scopes than the creator has (403 otherwise), lists them without secrets', async () => {
    const created = await app
      .http()
      .post('/api/v1/keys')
      .set('authorization', `Bearer ${aliceKey}`)
      .send({ name: 'script', scopes: ['reservations:read'], ttl_hours: 2 })
      .expect(201);
    expect(created.body.key).toMatch(/^odc_/);
    await me(created.body.key as string).expect(200);
    const beyond = await app
      .http()
      .post('/api/v1/keys')
      .set('authorization', `Bearer ${readOnlyKey}`)
      .send({ name: 'escalate', scopes: ['reservations:write'] })
      .expect(403);
    expect(beyond.body.code).toBe('forbidden');
    await app
      .http()
      .post('/api/v1/keys')
      .set('authorization', `Bearer ${aliceKey}`)
      .send({ name: 'x', scopes: ['everything'] })
      .expect(400);
    const listed = await app
      .http()
      .get('/api/v1/keys')
      .set('authorization', `Bearer ${aliceKey}`)
      .expect(200);
    expect(JSON.stringify(listed.body)).not.toContain(
      (created.body.key as string).slice('odc_123456789012_'.length),
    );
    expect(listed.body.items.map((k: { name: string }) => k.name)).toEqual(
      expect.arrayContaining(['all', 'ro', 'script']),
    );
  });

  it('answers 404 for another user’s key (revoking it does nothing), and revokes one’s own', async () => {
    const aliceKeys = await app
      .http()
      .get('/api/v1/keys')
      .set('authorization', `Bearer ${aliceKey}`)
      .expect(200);
    const script = aliceKeys.body.items.find((k: { name: string }) => k.name === 'script') as { id: string };
    await app.http().delete(`/api/v1/keys/${script.id}`).set('authorization', `Bearer ${bobKey}`).expect(404);
    await app
      .http()
      .delete(`/api/v1/keys/${script.id}`)
      .set('authorization', `Bearer ${aliceKey}`)
      .expect(204);
    await app.http().delete('/api/v1/keys/not-a-uuid').set('authorization', `Bearer ${aliceKey}`).expect(400);
  });

  it('keeps the audit chain to admins (403 for others) and records every refusal in an intact chain', async () => {
    const refused = await app
      .http()
      .get('/api/v1/audit/verify')
      .set('authorization', `Bearer ${aliceKey}`)
      .expect(403);
    expect(refused.body.code).toBe('forbidden');
    const rows = await app.runtime
      .core!.get(DataSource)
      .query<{ action: string; outcome: string; username: string | null }[]>(
        `SELECT action, outcome, username FROM audit_log WHERE outcome = 'denied' ORDER BY id`,
      );
    expect(rows).toEqual(
      expect.arrayContaining([
        { action: 'auth.unauthenticated', outcome: 'denied', username: null },
        { action: 'auth.forbidden', outcome: 'denied', username: 'alice' },
      ]),
    );
    expect(await app.runtime.core!.get(AuditService).verifyChain()).toMatchObject({ ok: true });
  });

  it('lets an admin verify the audit chain, and names the row altered in SQL', async () => {
    const dataSource = app.runtime.core!.get(DataSource);
    const admin = await app.runtime.core!.get(UsersService).findOrCreateByUsername('root-admin');
    await dataSource.query(`UPDATE users SET role = 'admin' WHERE id = $1`, [admin.id]);
    const { key } = await app.runtime.core!.get(ApiKeysService).issue(admin.id, {
      name: 'audit',
      scopes: ['audit:read'],
      origin: 'api',
    });
    const verify = () =>
      app.http().get('/api/v1/audit/verify').set('authorization', `Bearer ${key}`).expect(200);
    expect((await verify()).body).toMatchObject({ ok: true });
    const [{ id }] = await dataSource.query<[{ id: string }]>(
      `SELECT id FROM audit_log ORDER BY id LIMIT 1 OFFSET 1`,
    );
    await dataSource.query(`UPDATE audit_log SET outcome = 'success' WHERE id = $1`, [id]);
    expect((await verify()).body).toEqual({
      ok: false,
      checked: 1,
      problem: 'rewritten',
      first_broken_id: id,
    });
  });

  it('replaces the caller’s SSH keys after checking each one (400 naming the bad ones)', async () => {
    const { generateKeyPairSync } = await import('node:crypto');
    const raw = generateKeyPairSync('ed25519')
      .publicKey.export({ format: 'der', type: 'spki' })
      .subarray(-32);
    const field = (bytes: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, bytes.length]), bytes]);
    const good = `ssh-ed25519 ${Buffer.concat([field(Buffer.from('ssh-ed25519')), field(raw)]).toString('base64')} alice@laptop`;
    const put = (keys: string[]) =>
      app.http().put('/api/v1/me/ssh-keys').set('authorization', `Bearer ${aliceKey}`).send({ keys });
    const refused = await put([good, 'ssh-rsa AAAA', 'ssh-dss AAAAB3NzaC1kc3M=']).expect(400);
    expect(refused.body.fields.map((f: { field: string }) => f.field)).toEqual(['keys[1]', 'keys[2]']);
    expect((await me(aliceKey).expect(200)).body.ssh_keys).toEqual([]);
    expect((await put([good, good]).expect(200)).body.ssh_keys).toEqual([good]);
    expect((await me(aliceKey).expect(200)).body.ssh_keys).toEqual([good]);
  });

  it('writes no API key secret, token or key into any log line of this auth-heavy run', async () => {
    const jwt = await issuer.sign({ sub: 'repo:x', actor: 'ci-bot' });
    await me(jwt).expect(200);
    await me(`${aliceKey}x`).expect(401);
    // A key where keys do not belong, in the query: logged with the URL, never with its value.
    await app.http().get(`/api/v1/me?api_key=${aliceKey}&apiKey=${bobKey}`).expect(401);
    const written = app.logs.lines.map((line) => JSON.stringify(line)).join('\n');
    // One line per request, with who asked.
    expect(app.logs.lines.map((line) => line.msg)).toContainEqual(
      expect.stringMatching(/^GET \/api\/v1\/me 200 \d+ ms ci-bot req=\S+$/),
    );
    for (const secret of [aliceKey, bobKey, readOnlyKey].map((key) =>
      key.slice('odc_123456789012_'.length),
    )) {
      expect(written).not.toContain(secret);
    }
    expect(written).not.toContain(jwt.split('.')[2]);
    expect(written).toContain('/api/v1/me'); // the requests were logged, without their credentials
  });
});

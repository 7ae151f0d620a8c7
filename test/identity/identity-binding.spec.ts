import { DataSource } from 'typeorm';
import { ApiKeysService } from '../../src/auth/api-keys/api-keys.service';
import { createUserWithKey } from '../../src/auth/first-admin';
import { UserIdentity } from '../../src/auth/users/user-identity.entity';
import { UsersService } from '../../src/auth/users/users.service';
import { startTestApp, type TestApp } from '../support/app';
import { startIssuer, type TestIssuer } from '../support/jwt-issuer';

/**
 * A trusted issuer's token is bound to its (issuer, subject), never to
 * the name it carries, and acts with the scopes its issuer's configuration grants; SSH keys and
 * API keys need scopes of their own.
 */
describe('identities from trusted issuers, and what each credential may do', () => {
  let app: TestApp;
  let ci: TestIssuer;
  let trusted: TestIssuer;
  let adminKey: string;

  beforeAll(async () => {
    ci = await startIssuer();
    trusted = await startIssuer();
    app = await startTestApp({
      roles: 'coordinator',
      env: {
        ODC_RATE_LIMIT_API_PER_MINUTE: '60000',
        ODC_RATE_LIMIT_LOGIN_PER_MINUTE: '1000',
        ODC_JWT_ISSUERS: JSON.stringify([
          { issuer: ci.url, audience: 'odc', username_claim: 'actor' },
          { issuer: trusted.url, audience: 'odc', username_claim: 'actor', scopes: ['*'] },
        ]),
      },
    });
    // The admin as `user:create --admin` makes it: a user of that name, bound to no identity.
    adminKey = (
      await createUserWithKey(app.core().get(DataSource), app.config, {
        username: 'admin',
        admin: true,
        origin: 'user-create',
      })
    ).key;
  });

  afterAll(async () => {
    await app.close();
    await ci.close();
    await trusted.close();
  });

  const as = (token: string) => ({
    get: (path: string) => app.http().get(path).set('authorization', `Bearer ${token}`),
    put: (path: string, body: object) =>
      app.http().put(path).set('authorization', `Bearer ${token}`).send(body),
    post: (path: string, body: object) =>
      app.http().post(path).set('authorization', `Bearer ${token}`).send(body),
    delete: (path: string) => app.http().delete(path).set('authorization', `Bearer ${token}`),
  });
  const identities = () => app.core().get(DataSource).getRepository(UserIdentity);

  it('never lets a token become an existing user by name: 409 naming the identity, for an unbound admin and a bound one', async () => {
    for (const actor of ['Admin', 'admin', 'ADMIN ']) {
      const refused = await as(await ci.sign({ sub: 'attacker', actor }))
        .get('/api/v1/me')
        .expect(409);
      expect(refused.body).toMatchObject({
        code: 'conflict',
        details: { reason: 'username_taken', issuer: ci.url, subject: 'attacker' },
      });
    }
    // Still refused once the admin is tied to an OIDC login.
    const admin = await app.core().get(UsersService).findOrCreateByUsername('admin');
    await identities().insert({
      userId: admin.id,
      issuer: 'https://idp.example',
      subject: 'admin-subject',
      kind: 'oidc',
      boundBy: 'first-sight',
    });
    await as(await ci.sign({ sub: 'attacker', actor: 'admin' }))
      .get('/api/v1/me')
      .expect(409);
    // Even from an issuer granted every scope.
    await as(await trusted.sign({ sub: 'attacker', actor: 'admin' }))
      .get('/api/v1/me')
      .expect(409);
    expect(await identities().countBy({ subject: 'attacker' })).toBe(0);
    const denied = await app
      .core()
      .get(DataSource)
      .query(`SELECT count(*)::int AS n FROM audit_log WHERE action = 'auth.jwt' AND outcome = 'denied'`);
    expect(denied[0].n).toBeGreaterThanOrEqual(5);
  });

  it('binds a first sight to (issuer, subject): the subject decides the user, the name claim only names it', async () => {
    const first = await as(await ci.sign({ sub: 'repo:org/app:ref:main', actor: 'Carol' }))
      .get('/api/v1/me')
      .expect(200);
    expect(first.body).toMatchObject({ username: 'carol', admin: false, authenticated_by: 'jwt' });
    // Another actor, same subject: the same user.
    const again = await as(await ci.sign({ sub: 'repo:org/app:ref:main', actor: 'dave' }))
      .get('/api/v1/me')
      .expect(200);
    expect(again.body.id).toBe(first.body.id);
    // The same subject from another issuer is another identity, and "carol" is taken.
    await as(await trusted.sign({ sub: 'repo:org/app:ref:main', actor: 'carol' }))
      .get('/api/v1/me')
      .expect(409);
    // Concurrent first sights of one identity make one user.
    const token = await ci.sign({ sub: 'repo:org/other', actor: 'org/other' });
    const answers = await Promise.all(Array.from({ length: 6 }, () => as(token).get('/api/v1/me')));
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 200, 200, 200]);
    expect(new Set(answers.map((answer) => answer.body.username))).toEqual(new Set(['org-other']));
  });

  it('gives a token only the scopes its issuer grants: never * by default, every scope only when configured', async () => {
    const scoped = await as(await ci.sign({ sub: 'ci-1', actor: 'ci-one' }))
      .get('/api/v1/me')
      .expect(200);
    expect(scoped.body.scopes).toEqual([
      'reservations:read',
      'reservations:write',
      'disks:read',
      'disks:write',
    ]);
    const token = await ci.sign({ sub: 'ci-1', actor: 'ci-one' });
    await as(token).put('/api/v1/me/ssh-keys', { keys: [] }).expect(403);
    await as(token).post('/api/v1/keys', { name: 'k', scopes: [] }).expect(403);
    await as(token).post('/api/v1/audit/usage', { bedrock_request_id: 'r', tokens_used: 1 }).expect(403);

    const all = await as(await trusted.sign({ sub: 'svc', actor: 'svc' }))
      .get('/api/v1/me')
      .expect(200);
    expect(all.body.scopes).toEqual(expect.arrayContaining(['keys:write', 'usage:write', 'users:admin']));
    // Admin scopes are no use without being an admin.
    await as(await trusted.sign({ sub: 'svc', actor: 'svc' }))
      .get('/api/v1/clusters')
      .expect(403);
  });

  it('lets an admin link a refused identity to the user of that name (then it is that user), and unlink it', async () => {
    const token = await ci.sign({ sub: 'repo:org/ops:environment:gpu', actor: 'admin' });
    await as(token).get('/api/v1/me').expect(409);
    const linked = await as(adminKey)
      .post('/api/v1/users/admin/identities', { issuer: ci.url, subject: 'repo:org/ops:environment:gpu' })
      .expect(201);
    expect(linked.body).toMatchObject({ kind: 'jwt', bound_by: 'admin' });
    const me = await as(token).get('/api/v1/me').expect(200);
    // The admin's user, with the issuer's scopes: no admin scope without the issuer granting it.
    expect(me.body).toMatchObject({ username: 'admin', admin: true, authenticated_by: 'jwt' });
    expect(me.body.scopes).not.toContain('clusters:admin');
    await as(token).get('/api/v1/clusters').expect(403);

    // An identity bound to one user cannot be linked to another.
    await as(adminKey)
      .post('/api/v1/users/carol/identities', { issuer: ci.url, subject: 'repo:org/ops:environment:gpu' })
      .expect(409);
    // Only admins with users:admin link.
    const carolKey = await userKey('carol', ['reservations:read', 'keys:write']);
    await as(carolKey).post('/api/v1/users/carol/identities', { issuer: ci.url, subject: 'x' }).expect(403);
    await as(adminKey).post('/api/v1/users/nobody/identities', { issuer: ci.url, subject: 'x' }).expect(404);
    // An issuer no URL parser reads (a bracket in the host, found by schemathesis) is refused, not stored.
    for (const issuer of ['https://idp.example[', 'https://idp.example/?tenant=1', 'https://idp.example#x']) {
      const refused = await as(adminKey)
        .post('/api/v1/users/admin/identities', { issuer, subject: 'x' })
        .expect(400);
      expect(refused.body.fields).toEqual([expect.objectContaining({ field: 'issuer' })]);
    }

    const listed = await as(adminKey).get('/api/v1/users/admin/identities').expect(200);
    expect(listed.body.items.map((identity: { subject: string }) => identity.subject)).toEqual([
      'admin-subject',
      'repo:org/ops:environment:gpu',
    ]);
    await as(adminKey).delete(`/api/v1/users/admin/identities/${linked.body.id}`).expect(204);
    await as(token).get('/api/v1/me').expect(409);
  });

  async function userKey(username: string, scopes: Parameters<ApiKeysService['issue']>[1]['scopes']) {
    const user = await app.core().get(UsersService).findOrCreateByUsername(username);
    return (await app.core().get(ApiKeysService).issue(user.id, { name: 't', scopes, origin: 'api' })).key;
  }

  it('needs ssh-keys:write for SSH keys and keys:write for keys; GET /me shows the scopes a refusal names', async () => {
    const bare = await userKey('erin', []);
    const own = await userKey('erin', ['reservations:read']);
    const keys = await as(await userKey('erin', ['keys:write']))
      .get('/api/v1/keys')
      .expect(200);
    const ownId = keys.body.items.find((key: { scopes: string[] }) =>
      key.scopes.includes('reservations:read'),
    ).id;

    const ssh = await as(bare).put('/api/v1/me/ssh-keys', { keys: [] }).expect(403);
    expect(ssh.body.message).toContain('ssh-keys:write');
    await as(bare).delete(`/api/v1/keys/${ownId}`).expect(403);
    await as(bare).post(`/api/v1/keys/${ownId}/rotate`, {}).expect(403);
    await as(bare).post('/api/v1/keys', { name: 'more', scopes: [] }).expect(403);
    expect((await as(bare).get('/api/v1/me').expect(200)).body.scopes).toEqual([]);
    await as(own).get('/api/v1/me').expect(200); // the key was not revoked

    const writer = await userKey('erin', ['ssh-keys:write', 'keys:write']);
    await as(writer).put('/api/v1/me/ssh-keys', { keys: [] }).expect(200);
    // A key never hands out what it lacks, admin scopes included.
    await as(writer)
      .post('/api/v1/keys', { name: 'x', scopes: ['reservations:write'] })
      .expect(403);
    const adminScoped = await userKey('erin', ['keys:write', 'users:admin']);
    await as(adminScoped)
      .post('/api/v1/keys', { name: 'x', scopes: ['users:admin'] })
      .expect(403);
    await as(writer).delete(`/api/v1/keys/${ownId}`).expect(204);
    await as(own).get('/api/v1/me').expect(401);
  });
});

import { DataSource } from 'typeorm';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SimulatedCluster } from '../../src/simulator/cluster';
import { withDefaults } from '../../src/simulator/config';
import { kubeconfigBase64 } from '../deployer/fixtures';
import { startTestApp, type TestApp } from '../support/app';
import { keyFor } from '../support/users';
import { createCertificateAuthority, type CertificateAuthority, type Issued } from '../support/certificates';

const DEPLOYER_TOKEN = 'cluster-api-test-token-0123456789';

/** A port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The base64 body of a PEM key: what would show if the key leaked in any form. */
const keyBody = (pem: string) =>
  pem
    .split('\n')
    .filter((line) => line && !line.startsWith('-----'))
    .join('');

describe('cluster registry API: registration over mTLS, secrets, flags, removal, audit', () => {
  let simulated: SimulatedCluster;
  let deployer: TestApp;
  let app: TestApp;
  let ca: CertificateAuthority;
  let client: Issued;
  let work: string;
  let deployerUrl: string;
  let adminKey: string;
  let adminWithoutScopeKey: string;
  let userKey: string;

  beforeAll(async () => {
    simulated = await SimulatedCluster.start(withDefaults({ nodePools: [{ name: 'cpu', count: 1 }] }));
    ca = await createCertificateAuthority('odc-test-ca');
    const server = await ca.issue({ cn: 'deployer', server: true });
    client = await ca.issue({ cn: 'odc-coordinator' });
    work = mkdtempSync(join(tmpdir(), 'odc-clusters-'));
    writeFileSync(join(work, 'server.crt'), server.cert);
    writeFileSync(join(work, 'server.key'), server.key);
    writeFileSync(join(work, 'ca.crt'), ca.cert);
    deployer = await startTestApp({
      roles: 'deployer',
      env: {
        ODC_KUBECONFIG_BASE64: kubeconfigBase64(simulated.url),
        ODC_DEPLOYER_TLS_CERT: join(work, 'server.crt'),
        ODC_DEPLOYER_TLS_KEY: join(work, 'server.key'),
        ODC_DEPLOYER_CLIENT_CA: join(work, 'ca.crt'),
        ODC_DEPLOYER_TOKEN: DEPLOYER_TOKEN,
      },
    });
    deployerUrl = deployer.runtime.listeners.find((l) => l.name === 'deployer')!.url;
    app = await startTestApp({ roles: 'coordinator', env: { ODC_RATE_LIMIT_API_PER_MINUTE: '60000' } });
    adminKey = await keyFor(app, 'ops', ['clusters:admin', 'audit:read'], { admin: true });
    adminWithoutScopeKey = await keyFor(app, 'ops', ['audit:read']);
    userKey = await keyFor(app, 'dev', ['reservations:read', 'reservations:write']);
  });

  afterAll(async () => {
    await app.close();
    await deployer.close();
    await simulated.close();
    rmSync(work, { recursive: true, force: true });
  });

  const as = (key: string) => ({
    get: (path: string) => app.http().get(path).set('authorization', `Bearer ${key}`),
    post: (path: string, body?: object) =>
      app
        .http()
        .post(path)
        .set('authorization', `Bearer ${key}`)
        .send(body ?? {}),
    put: (path: string, body: object) =>
      app.http().put(path).set('authorization', `Bearer ${key}`).send(body),
    delete: (path: string) => app.http().delete(path).set('authorization', `Bearer ${key}`),
  });
  const admin = () => as(adminKey);
  const mtls = (name: string, extra: object = {}) => ({
    name,
    deployer_url: deployerUrl,
    ca_cert: ca.cert,
    client_cert: client.cert,
    client_key: client.key,
    token: DEPLOYER_TOKEN,
    ...extra,
  });

  it('registers an mTLS deployer with the right material as healthy, and shows no key or token', async () => {
    const res = await admin().post('/api/v1/clusters', mtls('east')).expect(201);
    expect(res.body).toMatchObject({
      name: 'east',
      status: 'healthy',
      mtls_enabled: true,
      has_client_key: true,
      has_token: true,
      client_cert: { subject: 'CN=odc-coordinator', issuer: 'CN=odc-test-ca' },
      ca_cert: { subject: 'CN=odc-test-ca' },
    });
    expect(Date.parse(res.body.last_health_check)).toBeGreaterThan(Date.now() - 60_000);
    expect(res.body).not.toHaveProperty('client_key');
    expect(res.body).not.toHaveProperty('token');
    const listed = await admin().get('/api/v1/clusters').expect(200);
    expect(listed.body.items.map((c: { name: string }) => c.name)).toContain('east');
  });

  it('a client certificate the deployer does not trust → auth_failed; a closed port → unreachable', async () => {
    const stranger = await (await createCertificateAuthority('stranger-ca')).issue({ cn: 'odc-coordinator' });
    const refused = await admin()
      .post('/api/v1/clusters', mtls('wrong-cert', { client_cert: stranger.cert, client_key: stranger.key }))
      .expect(201);
    expect(refused.body.status).toBe('auth_failed');
    expect(refused.body.last_error).toEqual(expect.any(String));

    const wrongToken = await admin()
      .post('/api/v1/clusters', mtls('wrong-token', { token: 'not-the-deployer-token-at-all' }))
      .expect(201);
    expect(wrongToken.body.status).toBe('auth_failed');

    const port = await closedPort();
    const closed = await admin()
      .post('/api/v1/clusters', mtls('closed', { deployer_url: `https://127.0.0.1:${port}` }))
      .expect(201);
    expect(closed.body.status).toBe('unreachable');
  });

  it('refuses unusable certificates with 422 and the reason, saving nothing', async () => {
    const expired = await ca.issue({
      cn: 'odc-coordinator',
      notBefore: new Date(Date.now() - 48 * 3600_000),
      notAfter: new Date(Date.now() - 24 * 3600_000),
    });
    const other = await ca.issue({ cn: 'other' });
    const cases: [object, string, RegExp][] = [
      [{ client_cert: expired.cert, client_key: expired.key }, 'client_cert', /expired/],
      [{ client_key: other.key }, 'client_key', /match/],
      [{ ca_cert: 'not a pem' }, 'ca_cert', /PEM|certificate/i],
      [{ client_cert: client.key }, 'client_cert', /private key/i],
    ];
    for (const [extra, field, reason] of cases) {
      const res = await admin().post('/api/v1/clusters', mtls('bad-pem', extra)).expect(422);
      expect(res.body.code).toBe('invalid_certificate');
      expect(res.body.fields).toEqual(
        expect.arrayContaining([{ field, problems: [expect.stringMatching(reason)] }]),
      );
      expect(JSON.stringify(res.body)).not.toContain(keyBody(client.key));
    }
    const noKey = await admin()
      .post('/api/v1/clusters', { name: 'bad-pem', deployer_url: deployerUrl, mtls_enabled: true })
      .expect(422);
    expect(noKey.body.code).toBe('invalid_connection');
    const plainHttp = await admin()
      .post('/api/v1/clusters', mtls('bad-pem', { deployer_url: 'http://127.0.0.1:1' }))
      .expect(422);
    expect(plainHttp.body.code).toBe('invalid_connection');
    const listed = await admin().get('/api/v1/clusters').expect(200);
    expect(listed.body.items.map((c: { name: string }) => c.name)).not.toContain('bad-pem');
  });

  it('refuses bad input with 400 and a taken name with 409', async () => {
    const invalid = await admin()
      .post('/api/v1/clusters', { name: 'Not A Label', deployer_url: 'ftp://x', priority: -1 })
      .expect(400);
    expect(invalid.body.code).toBe('validation_failed');
    expect(invalid.body.fields.map((f: { field: string }) => f.field).sort()).toEqual([
      'deployer_url',
      'name',
      'priority',
    ]);
    const badProfile = await admin()
      .post('/api/v1/clusters', {
        name: 'bad-profile',
        deployer_url: 'http://127.0.0.1:1',
        profile: { gpu_types: [{ name: 'H100!', node_selector: {}, gpus_per_node: 0 }] },
      })
      .expect(400);
    expect(badProfile.body.fields.map((f: { field: string }) => f.field)).toEqual(
      expect.arrayContaining(['profile.gpu_types.0.name', 'profile.gpu_types.0.gpus_per_node']),
    );
    const taken = await admin().post('/api/v1/clusters', mtls('east')).expect(409);
    expect(taken.body.code).toBe('cluster_name_taken');
    await admin().get('/api/v1/clusters/not-a-uuid').expect(400);
    const missing = await admin().get('/api/v1/clusters/00000000-0000-4000-8000-000000000000').expect(404);
    expect(missing.body.code).toBe('not_found');
  });

  it('only admins with clusters:admin may call it; availability is for everyone', async () => {
    await as(userKey).get('/api/v1/clusters').expect(403);
    await as(userKey).post('/api/v1/clusters', mtls('sneaky')).expect(403);
    await as(adminWithoutScopeKey).get('/api/v1/clusters').expect(403);
    await app.http().get('/api/v1/clusters').expect(401);
    await as(userKey).get('/api/v1/availability').expect(200);
    await app.http().get('/api/v1/availability').expect(401);
  });

  it('renews certificates in place, fixing a cluster whose client certificate was refused', async () => {
    const [broken] = (await admin().get('/api/v1/clusters').expect(200)).body.items.filter(
      (c: { name: string }) => c.name === 'wrong-cert',
    );
    const renewed = await ca.issue({ cn: 'odc-coordinator' });
    const res = await admin()
      .put(`/api/v1/clusters/${broken.id}`, { client_cert: renewed.cert, client_key: renewed.key })
      .expect(200);
    expect(res.body).toMatchObject({ status: 'healthy', has_client_key: true, has_token: true });
    expect(res.body.client_cert.fingerprint_sha256).not.toBe(broken.client_cert.fingerprint_sha256);
    // A certificate whose key is not sent is checked against the stored key.
    const mismatched = await admin()
      .put(`/api/v1/clusters/${broken.id}`, { client_cert: (await ca.issue({ cn: 'x' })).cert })
      .expect(422);
    expect(mismatched.body.code).toBe('invalid_certificate');
    // Only the profile: the connection is not tested again, the status stays.
    const profiled = await admin()
      .put(`/api/v1/clusters/${broken.id}`, { profile: { namespace: 'gpu-dev' }, priority: 5 })
      .expect(200);
    expect(profiled.body).toMatchObject({
      priority: 5,
      profile: { namespace: 'gpu-dev' },
      status: 'healthy',
    });
    // The token removed: the deployer wants it, so the test says auth_failed.
    const tokenless = await admin().put(`/api/v1/clusters/${broken.id}`, { token: null }).expect(200);
    expect(tokenless.body).toMatchObject({ has_token: false, status: 'auth_failed' });
  });

  it('drain, undrain, disable, enable; only a draining or disabled cluster may be removed', async () => {
    const [east] = (await admin().get('/api/v1/clusters').expect(200)).body.items.filter(
      (c: { name: string }) => c.name === 'east',
    );
    const busy = await admin().delete(`/api/v1/clusters/${east.id}`).expect(409);
    expect(busy.body.code).toBe('cluster_active');
    expect((await admin().post(`/api/v1/clusters/${east.id}/drain`).expect(200)).body.draining).toBe(true);
    expect((await admin().post(`/api/v1/clusters/${east.id}/undrain`).expect(200)).body.draining).toBe(false);
    expect((await admin().post(`/api/v1/clusters/${east.id}/disable`).expect(200)).body.enabled).toBe(false);
    expect((await admin().post(`/api/v1/clusters/${east.id}/enable`).expect(200)).body.enabled).toBe(true);
    await admin().post(`/api/v1/clusters/${east.id}/drain`).expect(200);
    const removed = await admin().delete(`/api/v1/clusters/${east.id}`).expect(200);
    expect(removed.body.name).toBe('east');
    await admin().get(`/api/v1/clusters/${east.id}`).expect(404);
    expect((await admin().post('/api/v1/clusters/reload').expect(200)).body.clusters).toBeGreaterThan(0);
  });

  it('audits every call, failures too, with no secret in the log', async () => {
    const audit = await admin()
      .get('/api/v1/audit')
      .query({ resource_type: 'cluster', limit: 200 })
      .expect(200);
    const actions = new Set(
      audit.body.items.map((e: { action: string; outcome: string }) => `${e.action}:${e.outcome}`),
    );
    for (const expected of [
      'cluster.create:success',
      'cluster.create:failure',
      'cluster.update:success',
      'cluster.update:failure',
      'cluster.list:success',
      'cluster.read:failure',
      'cluster.drain:success',
      'cluster.undrain:success',
      'cluster.enable:success',
      'cluster.disable:success',
      'cluster.delete:failure',
      'cluster.delete:success',
      'cluster.reload:success',
    ]) {
      expect(actions).toContain(expected);
    }
    const failure = audit.body.items.find(
      (e: { action: string; outcome: string }) => e.action === 'cluster.delete' && e.outcome === 'failure',
    );
    expect(failure.request_metadata).toEqual({ code: 'cluster_active' });
    const [eastCreated] = audit.body.items.filter(
      (e: { action: string; outcome: string; request_metadata?: { name?: string } }) =>
        e.action === 'cluster.create' && e.outcome === 'success' && e.request_metadata?.name === 'east',
    );
    expect(eastCreated.request_metadata).toEqual({
      name: 'east',
      fields: ['ca_cert', 'client_cert', 'client_key', 'deployer_url', 'name', 'token'],
      status: 'healthy',
    });
    expect(JSON.stringify(audit.body)).not.toContain(DEPLOYER_TOKEN);
    expect(JSON.stringify(audit.body)).not.toContain(keyBody(client.key));
  });

  it('the database holds no PEM private key or token; no log line of the run contains one', async () => {
    const rows = await app.core().get(DataSource).query<Record<string, unknown>[]>('SELECT * FROM clusters');
    expect(rows.length).toBeGreaterThan(0);
    const stored = JSON.stringify(
      rows.map((row) =>
        Object.fromEntries(
          Object.entries(row).map(([column, value]) => [
            column,
            Buffer.isBuffer(value) ? value.toString('latin1') : value,
          ]),
        ),
      ),
    );
    expect(stored).not.toMatch(/PRIVATE KEY/);
    expect(stored).not.toContain(keyBody(client.key));
    expect(stored).not.toContain(DEPLOYER_TOKEN);
    const withKey = rows.filter((row) => row.client_key_encrypted !== null);
    expect(withKey.length).toBeGreaterThan(0);
    expect(withKey.every((row) => typeof row.key_id === 'string')).toBe(true);
    const logs = JSON.stringify([...app.logs.lines, ...deployer.logs.lines]);
    expect(logs).not.toMatch(/PRIVATE KEY/);
    expect(logs).not.toContain(keyBody(client.key));
    expect(logs).not.toContain(DEPLOYER_TOKEN);
  });
});

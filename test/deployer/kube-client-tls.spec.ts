import { KubeConfig } from '@kubernetes/client-node';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { KubeClient, KubeError } from '../../src/deployer/kube/kube-client';
import { createCertificateAuthority } from '../support/certificates';

/**
 * The deployer's reads and applies go over undici, not client-node: they must honour the
 * kubeconfig's CA, client certificate and token exactly as client-node does. A minimal HTTPS API
 * server that requires a client certificate stands in for a real cluster.
 */
describe('KubeClient over TLS with a client certificate and a token', () => {
  let server: Server;
  let kube: KubeClient;
  const seen: {
    method: string;
    url: string;
    authorization?: string;
    clientCn?: string;
    contentType?: string;
  }[] = [];

  beforeAll(async () => {
    const ca = await createCertificateAuthority('cluster-ca');
    const serving = await ca.issue({ cn: 'kube-apiserver', server: true });
    const client = await ca.issue({ cn: 'odc-deployer' });
    server = createServer(
      { cert: serving.cert, key: serving.key, ca: ca.cert, requestCert: true, rejectUnauthorized: true },
      (req, res) => {
        const socket = req.socket as TLSSocket;
        seen.push({
          method: req.method ?? '',
          url: req.url ?? '',
          authorization: req.headers.authorization,
          clientCn: String(socket.getPeerCertificate().subject?.CN),
          contentType: req.headers['content-type'],
        });
        res.setHeader('content-type', 'application/json');
        if (req.url === '/api/v1') {
          res.end(
            JSON.stringify({
              kind: 'APIResourceList',
              groupVersion: 'v1',
              resources: [
                { name: 'configmaps', namespaced: true, kind: 'ConfigMap', verbs: ['get', 'patch'] },
              ],
            }),
          );
        } else if (req.url === '/api/v1/namespaces/gpu-dev/configmaps/proxied') {
          res.setHeader('content-type', 'text/html');
          res.end('<html>a proxy says hello</html>');
        } else if (req.method === 'GET' && req.url === '/api/v1/namespaces/gpu-dev/configmaps/present') {
          res.end(JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'present' } }));
        } else if (req.method === 'PATCH') {
          req.resume();
          res.statusCode = 201;
          res.end(JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'made' } }));
        } else {
          res.statusCode = 404;
          res.end(
            JSON.stringify({
              kind: 'Status',
              code: 404,
              reason: 'NotFound',
              message: 'configmaps "x" not found',
            }),
          );
        }
      },
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [
        {
          name: 'c',
          server: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
          caData: Buffer.from(ca.cert).toString('base64'),
        },
      ],
      users: [
        {
          name: 'u',
          token: 'cluster-token-123',
          certData: Buffer.from(client.cert).toString('base64'),
          keyData: Buffer.from(client.key).toString('base64'),
        },
      ],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    kube = new KubeClient(kc, { qps: 1000, burst: 1000 });
  });

  afterAll(async () => {
    await kube.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('reads and applies with the CA, the client certificate and the bearer token; 404 is "absent"', async () => {
    const ref = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'present', namespace: 'gpu-dev' } };
    expect(await kube.read(ref)).toMatchObject({ metadata: { name: 'present' } });
    expect(await kube.read({ ...ref, metadata: { ...ref.metadata, name: 'absent' } })).toBeUndefined();
    const applied = await kube.apply(
      { ...ref, metadata: { ...ref.metadata, name: 'made' }, data: {} },
      undefined,
    );
    expect(applied.action).toBe('created');

    const objectCalls = seen.filter((call) => call.url !== '/api/v1');
    expect(objectCalls.map((call) => `${call.method} ${call.url}`)).toEqual([
      'GET /api/v1/namespaces/gpu-dev/configmaps/present',
      'GET /api/v1/namespaces/gpu-dev/configmaps/absent',
      'PATCH /api/v1/namespaces/gpu-dev/configmaps/made?fieldManager=odc-deployer&force=true',
    ]);
    for (const call of objectCalls) {
      expect(call.authorization).toBe('Bearer cluster-token-123');
      expect(call.clientCn).toBe('odc-deployer');
    }
    expect(objectCalls[2].contentType).toBe('application/apply-patch+yaml');
  });

  it('types a 2xx answer that is not JSON (a proxy in the way) as unavailable', async () => {
    const failure = await kube
      .read({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'proxied', namespace: 'gpu-dev' } })
      .catch((error: unknown) => error);
    expect(failure).toMatchObject({ kind: 'unavailable', message: expect.stringContaining('not JSON') });
  });

  it('takes one rate-limit token per call (discovery is cached and free)', async () => {
    const limited = new KubeClient(kube.kubeConfig, { qps: 1, burst: 3 });
    try {
      const started = performance.now();
      for (let i = 0; i < 3; i += 1) {
        await limited.read({
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: 'present', namespace: 'gpu-dev' },
        });
      }
      expect(performance.now() - started).toBeLessThan(500); // a second token each would wait ~3 s
      const fourth = performance.now();
      await limited.read({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'present', namespace: 'gpu-dev' },
      });
      expect(performance.now() - fourth).toBeGreaterThan(500); // the burst is spent: 1 per second
    } finally {
      await limited.close();
    }
  });

  it('says when the cluster does not serve a kind (its group missing, or the kind missing from it)', async () => {
    for (const ref of [
      { apiVersion: 'snapshot.storage.k8s.io/v1', kind: 'VolumeSnapshot' },
      { apiVersion: 'v1', kind: 'Secret' },
    ]) {
      const failure = await kube
        .read({ ...ref, metadata: { name: 's', namespace: 'gpu-dev' } })
        .catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(KubeError);
      expect(failure).toMatchObject({
        kind: 'bad_request',
        message: `This cluster does not serve ${ref.apiVersion} ${ref.kind}`,
      });
    }
  });

  it('refuses a server its CA did not sign (typed as unavailable, never silently trusted)', async () => {
    const stranger = await createCertificateAuthority('other-ca');
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [
        {
          name: 'c',
          server: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
          caData: Buffer.from(stranger.cert).toString('base64'),
        },
      ],
      users: [{ name: 'u', token: 't' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    const untrusting = new KubeClient(kc, { qps: 1000, burst: 1000 });
    try {
      const failure = await untrusting
        .read({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'present', namespace: 'gpu-dev' } })
        .catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(KubeError);
      expect((failure as KubeError).kind).toBe('unavailable');
    } finally {
      await untrusting.close();
    }
  });
});

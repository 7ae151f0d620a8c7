import { KubeConfig, type Cluster, type User } from '@kubernetes/client-node';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { KubeClient, KubeError } from '../../src/deployer/kube/kube-client';
import { TokenBucket } from '../../src/deployer/kube/token-bucket';
import { createCertificateAuthority } from '../support/certificates';
import { describeRealOnly, startKubeTarget, uniqueName, type KubeTarget } from '../support/simulator';

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
    expect(objectCalls[2]!.contentType).toBe('application/apply-patch+yaml');
  });

  it('types a 2xx answer that is not JSON (a proxy in the way) as unavailable', async () => {
    const failure = await kube
      .read({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'proxied', namespace: 'gpu-dev' } })
      .catch((error: unknown) => error);
    expect(failure).toMatchObject({ kind: 'unavailable', message: expect.stringContaining('not JSON') });
  });

  it('takes one rate-limit token per call (discovery is cached and free)', async () => {
    // What each call would wait for its token, recorded instead of waited: at one token an hour, a
    // fourth call after a burst of three would wait about an hour, whatever this machine's speed.
    const waits: number[] = [];
    const take = jest.spyOn(TokenBucket.prototype, 'take').mockImplementation(function (this: TokenBucket) {
      waits.push(this.reserve());
      return Promise.resolve();
    });
    const limited = new KubeClient(kube.kubeConfig, { qps: 1 / 3600, burst: 3 });
    try {
      for (let i = 0; i < 4; i += 1) {
        await limited.read({
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: 'present', namespace: 'gpu-dev' },
        });
      }
      expect(waits.slice(0, 3)).toEqual([0, 0, 0]); // one token each: the burst covers three
      expect(waits).toHaveLength(4);
      expect(waits[3]).toBeGreaterThan(3_500_000); // the burst is spent: the next token is an hour away
    } finally {
      take.mockRestore();
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

/**
 * The same client against the real tier's kube-apiserver (docs/kube-tier.md): its serving
 * certificate, signed by the CA in the admin kubeconfig, and its client-certificate and token
 * authentication. What passes and what is refused is the API server's own judgement.
 */
describeRealOnly('tls', 'KubeClient against the real API server’s TLS', () => {
  const namespace = uniqueName('kube-client-tls');
  let target: KubeTarget;
  const clients: KubeClient[] = [];
  const configMap = (name: string) => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace },
  });

  beforeAll(async () => {
    target = await startKubeTarget({}, [namespace]);
  });

  afterAll(async () => {
    await Promise.all(clients.map((client) => client.close()));
    await target.close();
  });

  /** A client of the admin kubeconfig, its cluster entry and its user changed as given. */
  const clientWith = (cluster: Partial<Cluster> = {}, user?: User) => {
    const admin = target.kubeconfig;
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ ...admin.getCurrentCluster()!, ...cluster }],
      users: [user ?? admin.getCurrentUser()!],
      contexts: [
        { name: 'x', cluster: admin.getCurrentCluster()!.name, user: (user ?? admin.getCurrentUser()!).name },
      ],
      currentContext: 'x',
    });
    const client = new KubeClient(kc, { qps: 1000, burst: 1000 });
    clients.push(client);
    return client;
  };
  const failureOf = (call: Promise<unknown>) => call.then(() => undefined).catch((error: unknown) => error);

  it('reads and applies with the kubeconfig’s CA and client certificate, as the deployer’s field manager', async () => {
    const kube = clientWith();
    expect(await kube.read(configMap('made'))).toBeUndefined();
    const manifest = { ...configMap('made'), data: { greeting: 'hello' } };
    expect((await kube.apply(manifest, undefined)).action).toBe('created');
    const before = await kube.read(configMap('made'));
    expect(before).toMatchObject({ data: { greeting: 'hello' } });
    expect((await kube.apply(manifest, before)).action).toBe('unchanged');
    const seen = await target.k.core.readNamespacedConfigMap({ namespace, name: 'made' });
    expect(seen.metadata?.managedFields?.map((entry) => [entry.manager, entry.operation])).toEqual([
      ['odc-deployer', 'Apply'],
    ]);
  });

  it('checks the certificate against tls-server-name: a name it was issued for passes, another is refused', async () => {
    const named = clientWith({ tlsServerName: 'kubernetes.default.svc' });
    expect(await named.read(configMap('absent'))).toBeUndefined();
    const misnamed = await failureOf(
      clientWith({ tlsServerName: 'not-the-apiserver.example' }).read(configMap('absent')),
    );
    expect(misnamed).toBeInstanceOf(KubeError);
    expect((misnamed as KubeError).kind).toBe('unavailable');
  });

  it('refuses the API server when another CA is in the kubeconfig, or none (never silently trusted)', async () => {
    const stranger = await createCertificateAuthority('other-ca');
    for (const cluster of [
      { caData: Buffer.from(stranger.cert).toString('base64') },
      { caData: undefined },
    ]) {
      const failure = await failureOf(clientWith(cluster).read(configMap('absent')));
      expect(failure).toBeInstanceOf(KubeError);
      // (The TLS reason itself is lost: client-node's discovery reports only "fetch failed".)
      expect(failure).toMatchObject({ kind: 'unavailable', status: 503 });
      expect((failure as KubeError).message).toMatch(/^Kubernetes is unreachable: /);
    }
  });

  it('is refused (401) with a client certificate another CA signed, or a token the API server does not know', async () => {
    const stranger = await createCertificateAuthority('other-client-ca');
    const impostor = await stranger.issue({ cn: 'admin' });
    for (const user of [
      {
        name: 'impostor',
        certData: Buffer.from(impostor.cert).toString('base64'),
        keyData: Buffer.from(impostor.key).toString('base64'),
      },
      { name: 'guesser', token: 'not-a-token-the-api-server-knows' },
    ]) {
      const failure = await failureOf(clientWith({}, user).read(configMap('absent')));
      expect(failure).toBeInstanceOf(KubeError);
      expect(failure).toMatchObject({ kind: 'unauthorized', status: 401 });
    }
  });

  it('says when the API server does not serve a kind (its group missing, or the kind missing from it)', async () => {
    const kube = clientWith();
    for (const ref of [
      { apiVersion: 'widgets.odc.dev/v1', kind: 'Widget' },
      { apiVersion: 'v1', kind: 'Widget' },
    ]) {
      const failure = await failureOf(kube.read({ ...ref, metadata: { name: 'w', namespace } }));
      expect(failure).toBeInstanceOf(KubeError);
      expect(failure).toMatchObject({
        kind: 'bad_request',
        message: `This cluster does not serve ${ref.apiVersion} ${ref.kind}`,
      });
    }
  });
});

import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import {
  backoffMs,
  DeployerClient,
  retryAfterMs,
  type DeployerClientSettings,
  type DeployerEndpoint,
  type HttpMethod,
} from '../../src/clusters/client/deployer-client';
import {
  classifyConnectionFailure,
  DeployerAuthFailed,
  DeployerFull,
  DeployerPolicyRejected,
  DeployerRequestRejected,
  DeployerServerError,
  DeployerUnreachable,
  errorFromAnswer,
  parseAnswer,
} from '../../src/clusters/client/deployer-client.errors';
import { sampleReservationSpec } from '../../src/deployer/sample-spec';
import { createCertificateAuthority, type CertificateAuthority, type Issued } from '../support/certificates';

const SETTINGS: DeployerClientSettings = {
  connectTimeoutMs: 1_000,
  requestTimeoutMs: 300,
  concurrency: 4,
  statusConcurrency: 2,
  retries: 2,
  breakerFailures: 3,
  breakerOpenMs: 1_000,
};

const HEALTH = {
  status: 'ok',
  kubernetes: { reachable: true, version: 'v1.31.0' },
  namespaces: [],
  uptime_seconds: 1,
};

/** What the scripted deployer does with the next request. */
type Behaviour =
  | {
      status: number;
      body?: unknown;
      /** Instead of `body`: the body made from the request's URL (for answers to calls that race). */
      answer?: (url: URL) => unknown;
      headers?: Record<string, string>;
      delayMs?: number;
    }
  | 'reset'
  | 'hang';

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

async function stop(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}

/** A plain-HTTP deployer that plays a script, one behaviour per request (then answers 200). */
class ScriptedDeployer {
  readonly requests: { method: string; url: string }[] = [];
  private script: Behaviour[] = [];
  private inFlight = 0;
  maxInFlight = 0;
  url = '';
  private readonly server = createHttpServer((req, res) => this.handle(req, res));

  async start(): Promise<this> {
    this.url = `http://127.0.0.1:${await listen(this.server)}`;
    return this;
  }

  play(...behaviours: Behaviour[]): void {
    this.script = behaviours;
    this.requests.length = 0;
    this.maxInFlight = 0;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    req.resume();
    this.requests.push({ method: req.method!, url: req.url! });
    const behaviour = this.script.shift() ?? { status: 200, body: HEALTH };
    if (behaviour === 'reset') {
      req.socket.destroy();
      return;
    }
    if (behaviour === 'hang') {
      return; // never answers; closed by the client's timeout
    }
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    setTimeout(() => {
      this.inFlight -= 1;
      res.writeHead(behaviour.status, { 'content-type': 'application/json', ...behaviour.headers });
      const body = behaviour.answer ? behaviour.answer(new URL(req.url!, this.url)) : behaviour.body;
      res.end(body === undefined ? '' : JSON.stringify(body));
    }, behaviour.delayMs ?? 0);
  }

  close(): Promise<void> {
    return stop(this.server);
  }
}

/** The deployer's error body, as its exception filter writes it. */
const failure = (code: string, message: string, details?: unknown) => ({
  code,
  message,
  requestId: 'req-1',
  details,
});

/** Exposes the generic call, for what the named methods do not cover. */
class GenericClient extends DeployerClient {
  call(
    method: HttpMethod,
    path: string,
    body?: unknown,
    options?: { idempotent?: boolean },
  ): Promise<unknown> {
    return this.request(method, path, body, options);
  }
}

describe('DeployerClient against a scripted deployer', () => {
  const deployer = new ScriptedDeployer();
  let clock: number;
  let sleeps: number[];
  const clients: DeployerClient[] = [];

  function client(settings: Partial<DeployerClientSettings> = {}, url = deployer.url): GenericClient {
    const made = new GenericClient(
      { clusterId: 'c-1', name: 'east', url },
      { ...SETTINGS, ...settings },
      {
        random: () => 0.5,
        sleep: async (ms) => {
          sleeps.push(ms);
        },
        now: () => clock,
      },
    );
    clients.push(made);
    return made;
  }

  beforeAll(() => deployer.start());
  beforeEach(() => {
    clock = 0;
    sleeps = [];
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
  });
  afterAll(() => deployer.close());

  it('retries 503s of an idempotent call with a jittered, doubling backoff', async () => {
    deployer.play({ status: 503 }, { status: 503 }, { status: 200, body: { nodes: [], totals: [] } });
    await expect(client().capacity()).resolves.toEqual({ nodes: [], totals: [] });
    expect(deployer.requests).toHaveLength(3);
    expect(deployer.requests[0]).toEqual({ method: 'GET', url: '/api/v1/capacity' });
    expect(sleeps).toEqual([100, 200]); // random 0.5 × 200, × 400
  });

  it('gives up after the configured retries with the last failure', async () => {
    deployer.play(
      ...Array.from({ length: 3 }, () => ({
        status: 503,
        body: failure('not_ready', 'Kubernetes is starting'),
      })),
    );
    const error = await client()
      .listDeployments()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeployerServerError);
    expect(error).toMatchObject({
      code: 'not_ready',
      details: { deployer_message: 'Kubernetes is starting' },
    });
    expect(deployer.requests).toHaveLength(3);
  });

  it('retries a connection reset', async () => {
    deployer.play('reset', { status: 200, body: HEALTH });
    await expect(client().health()).resolves.toEqual(HEALTH);
    expect(deployer.requests).toHaveLength(2);
  });

  it('retries a call that outlives the timeout, then reports it unreachable', async () => {
    deployer.play('hang', { status: 200, body: HEALTH });
    await expect(client().health()).resolves.toEqual(HEALTH);
    expect(deployer.requests).toHaveLength(2);

    deployer.play('hang', 'hang');
    const error = await client({ retries: 1 })
      .health()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeployerUnreachable);
    expect(error).toMatchObject({ reason: 'timeout', code: 'not_ready' });
    expect(deployer.requests).toHaveLength(2);
  });

  it('does not retry a deployer whose own Kubernetes role forbids the call, nor count it against the circuit', async () => {
    const forbidden = { status: 502, body: failure('kube_forbidden', 'pods is forbidden') };
    const made = client({ breakerFailures: 2 });
    deployer.play(forbidden, forbidden, forbidden);
    for (let i = 0; i < 3; i++) {
      const error = await made.capacity().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DeployerServerError);
      expect(error).toMatchObject({ code: 'kube_forbidden' });
    }
    expect(deployer.requests).toHaveLength(3);
    expect(made.breaker.state).toBe('closed');
  });

  it('waits as long as a 429 asks (capped)', async () => {
    deployer.play(
      { status: 429, headers: { 'retry-after': '1' } },
      { status: 429, headers: { 'retry-after': '120' } },
      { status: 200, body: HEALTH },
    );
    await expect(client().health()).resolves.toEqual(HEALTH);
    expect(sleeps).toEqual([1000, 5000]);
  });

  it('retries an apply (idempotent by external id) and does not retry its 422', async () => {
    const spec = sampleReservationSpec('res-1', 'gpu-dev');
    deployer.play({ status: 502 }, { status: 201, body: { external_id: 'res-1', objects: [] } });
    await expect(client().applyDeployment(spec)).resolves.toEqual({ external_id: 'res-1', objects: [] });
    expect(deployer.requests.map((r) => r.method)).toEqual(['POST', 'POST']);

    const violations = [{ path: 'deployment.spec.template.spec.hostNetwork', rule: 'host_network' }];
    deployer.play({
      status: 422,
      body: failure('POLICY_VIOLATION', 'The spec breaks the policy', { violations }),
    });
    const error = await client()
      .applyDeployment(spec)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeployerPolicyRejected);
    expect(error).toMatchObject({ code: 'POLICY_VIOLATION', violations, details: { violations } });
    expect(deployer.requests).toHaveLength(1);
  });

  it('maps a 409 to DeployerFull with the deployer’s conflicts', async () => {
    const conflicts = [{ field: 'service', kind: 'Service', name: 'res-1-ssh', owner: 'deployment res-0' }];
    deployer.play({
      status: 409,
      body: failure('conflict', 'objects belong to something else', { conflicts }),
    });
    const error = await client()
      .applyDeployment(sampleReservationSpec('res-1', 'gpu-dev'))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeployerFull);
    expect(error).toMatchObject({ code: 'conflict', details: { conflicts } });
  });

  it('never retries a non-idempotent call', async () => {
    deployer.play({ status: 503 });
    await expect(
      client().call('POST', '/deployments/res-1/file-transfers/upload', {}),
    ).rejects.toBeInstanceOf(
      DeployerUnreachable, // a bodyless 503: something in front of the deployer
    );
    expect(deployer.requests).toHaveLength(1);
    deployer.play('reset');
    await expect(client().call('POST', '/anything', {}, { idempotent: false })).rejects.toBeInstanceOf(
      DeployerUnreachable,
    );
    expect(deployer.requests).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });

  it('deletes and reads status under the endpoint’s path prefix', async () => {
    deployer.play({ status: 204 }, { status: 200, body: { external_id: 'res-1', exists: false } });
    const prefixed = client({}, `${deployer.url}/prod/`);
    await expect(prefixed.deleteDeployment('res-1')).resolves.toBeUndefined();
    await expect(prefixed.deploymentStatus('res-1')).resolves.toMatchObject({ exists: false });
    expect(deployer.requests).toEqual([
      { method: 'DELETE', url: '/prod/api/v1/deployments/res-1' },
      { method: 'GET', url: '/prod/api/v1/deployments/res-1/status' },
    ]);
  });

  it('keeps at most `concurrency` calls in flight; the rest queue', async () => {
    deployer.play(...Array.from({ length: 6 }, () => ({ status: 200, body: HEALTH, delayMs: 50 })));
    const limited = client({ concurrency: 2 });
    await Promise.all(Array.from({ length: 6 }, () => limited.health()));
    expect(deployer.requests).toHaveLength(6);
    expect(deployer.maxInFlight).toBe(2);
  });

  it('asks about many deployments in calls of at most 100, `statusConcurrency` of them in flight', async () => {
    const ids = Array.from({ length: 550 }, (_, i) => `res-${i}`);
    // Each call is answered about the ids it asked for: two in flight may arrive in either order.
    const answer = {
      status: 200,
      answer: (url: URL) =>
        url.searchParams
          .get('external_id')!
          .split(',')
          .map((external_id) => ({ external_id, exists: true })),
      delayMs: 30,
    };
    deployer.play(...Array.from({ length: 6 }, () => answer));
    const statuses = await client({ concurrency: 4, statusConcurrency: 2 }).listDeployments(ids);
    expect(statuses.map((s) => s.external_id)).toEqual(ids);
    expect(deployer.requests).toHaveLength(6);
    expect(deployer.maxInFlight).toBe(2);
    const asked = deployer.requests.map((r) =>
      new URL(r.url, deployer.url).searchParams.get('external_id')!.split(','),
    );
    expect(asked.map((list) => list.length).sort((a, b) => a - b)).toEqual([50, 100, 100, 100, 100, 100]);
    expect(asked.flat().sort()).toEqual([...ids].sort());
  });

  it('shares the status calls in flight between the callers of one cluster', async () => {
    deployer.play(...Array.from({ length: 6 }, () => ({ status: 200, body: [], delayMs: 30 })));
    const shared = client({ concurrency: 8, statusConcurrency: 2 });
    await Promise.all(Array.from({ length: 3 }, (_, i) => shared.listDeployments([`a-${i}`, `b-${i}`])));
    await shared.listDeployments();
    expect(deployer.requests).toHaveLength(4);
    expect(deployer.maxInFlight).toBe(2);
  });

  it('makes none of the waiting status calls once one has failed', async () => {
    const ids = Array.from({ length: 500 }, (_, i) => `res-${i}`);
    deployer.play(
      { status: 400, body: failure('validation_failed', 'no'), delayMs: 20 },
      ...Array.from({ length: 4 }, () => ({ status: 200, body: [], delayMs: 20 })),
    );
    const error = await client({ statusConcurrency: 1 })
      .listDeployments(ids)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeployerRequestRejected);
    expect(deployer.requests).toHaveLength(1);
  });

  describe('circuit breaker', () => {
    const failing = () =>
      Array.from({ length: 3 }, () => ({ status: 500, body: failure('internal_error', 'bug') }));

    it('opens after consecutive failures, fails fast while open, closes after a successful probe', async () => {
      const breaking = client({ retries: 0 });
      deployer.play(...failing());
      for (let i = 0; i < 3; i++) {
        await expect(breaking.health()).rejects.toBeInstanceOf(DeployerServerError);
      }
      expect(breaking.breaker.state).toBe('open');

      clock = 999;
      await expect(breaking.health()).rejects.toMatchObject({ reason: 'circuit_open' });
      expect(deployer.requests).toHaveLength(3); // nothing reached the deployer

      clock = 1_000;
      await expect(breaking.health()).resolves.toEqual(HEALTH); // the half-open probe
      expect(breaking.breaker.state).toBe('closed');
      expect(deployer.requests).toHaveLength(4);
    });

    it('opens again when the probe fails', async () => {
      const breaking = client({ retries: 0 });
      deployer.play(...failing(), 'reset');
      for (let i = 0; i < 3; i++) {
        await breaking.health().catch(() => undefined);
      }
      clock = 1_000;
      await expect(breaking.health()).rejects.toMatchObject({ reason: 'unreachable' });
      expect(breaking.breaker.state).toBe('open');
      await expect(breaking.health()).rejects.toMatchObject({ reason: 'circuit_open' });
      expect(deployer.requests).toHaveLength(4);
    });

    it('does not count 4xx answers as failures', async () => {
      const breaking = client({ retries: 0 });
      deployer.play(
        ...Array.from({ length: 4 }, () => ({ status: 400, body: failure('invalid_spec', 'no') })),
      );
      for (let i = 0; i < 4; i++) {
        await expect(breaking.health()).rejects.toBeInstanceOf(DeployerRequestRejected);
      }
      expect(breaking.breaker.state).toBe('closed');
    });
  });
});

describe('DeployerClient over mTLS', () => {
  let ca: CertificateAuthority;
  let stranger: CertificateAuthority;
  let coordinator: Issued;
  const servers: Server[] = [];
  let url: string;
  let impostorUrl: string;

  /** An https deployer answering /api/v1/health to clients with a certificate from `ca`. */
  async function httpsDeployer(serverCert: Issued): Promise<string> {
    const server = createHttpsServer(
      {
        cert: serverCert.cert,
        key: serverCert.key,
        ca: ca.cert,
        requestCert: true,
        rejectUnauthorized: true,
      },
      (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(HEALTH)),
    );
    servers.push(server);
    return `https://127.0.0.1:${await listen(server)}`;
  }

  function endpoint(overrides: Partial<DeployerEndpoint> = {}): DeployerEndpoint {
    return {
      clusterId: 'c-1',
      name: 'east',
      url,
      caCert: ca.cert,
      clientCert: coordinator.cert,
      clientKey: coordinator.key,
      ...overrides,
    };
  }

  async function probe(overrides: Partial<DeployerEndpoint> = {}) {
    const client = new DeployerClient(endpoint(overrides), SETTINGS);
    try {
      return await client.probe();
    } finally {
      await client.close();
    }
  }

  beforeAll(async () => {
    ca = await createCertificateAuthority('odc-test-ca');
    stranger = await createCertificateAuthority('other-ca');
    coordinator = await ca.issue({ cn: 'odc-coordinator' });
    url = await httpsDeployer(await ca.issue({ cn: 'deployer', server: true }));
    impostorUrl = await httpsDeployer(await stranger.issue({ cn: 'deployer', server: true }));
  });
  afterAll(() => Promise.all(servers.map(stop)));

  it('is healthy with a client certificate from the deployer’s CA', async () => {
    await expect(probe()).resolves.toEqual({ status: 'healthy' });
  });

  it('fails authentication with a client certificate from another CA, or none', async () => {
    const other = await stranger.issue({ cn: 'odc-coordinator' });
    await expect(probe({ clientCert: other.cert, clientKey: other.key })).resolves.toMatchObject({
      status: 'auth_failed',
    });
    await expect(probe({ clientCert: undefined, clientKey: undefined })).resolves.toMatchObject({
      status: 'auth_failed',
    });
  });

  it('fails authentication when the server’s certificate is not from the pinned CA', async () => {
    const result = await probe({ url: impostorUrl });
    expect(result.status).toBe('auth_failed');
    expect(result.error).not.toMatch(/PRIVATE KEY/);
  });

  it('is unreachable on a closed port', async () => {
    const server = createHttpServer();
    const port = await listen(server);
    await stop(server);
    await expect(probe({ url: `https://127.0.0.1:${port}` })).resolves.toMatchObject({
      status: 'unreachable',
    });
  });

  it('does not retry, nor open the circuit for, refused credentials', async () => {
    const other = await stranger.issue({ cn: 'odc-coordinator' });
    const sleeps: number[] = [];
    const client = new DeployerClient(
      endpoint({ clientCert: other.cert, clientKey: other.key }),
      { ...SETTINGS, breakerFailures: 1 },
      { sleep: async (ms) => void sleeps.push(ms) },
    );
    try {
      await expect(client.health()).rejects.toBeInstanceOf(DeployerAuthFailed);
      expect(client.breaker.state).toBe('closed');
      expect(sleeps).toEqual([]);
    } finally {
      await client.close();
    }
  });
});

describe('DeployerClient with a bearer token', () => {
  const TOKEN = 'deployer-token-s3cret';
  let server: Server;
  let url: string;

  beforeAll(async () => {
    server = createHttpServer((req, res) => {
      const ok = req.headers.authorization === `Bearer ${TOKEN}`;
      res
        .writeHead(ok ? 200 : 401, { 'content-type': 'application/json' })
        .end(JSON.stringify(ok ? HEALTH : failure('unauthorized', 'A valid bearer token is required')));
    });
    url = `http://127.0.0.1:${await listen(server)}`;
  });
  afterAll(() => stop(server));

  async function probe(token: string) {
    const client = new DeployerClient({ clusterId: 'c-1', name: 'east', url, token }, SETTINGS);
    try {
      return await client.probe();
    } finally {
      await client.close();
    }
  }

  it('is healthy with the right token', async () => {
    await expect(probe(TOKEN)).resolves.toEqual({ status: 'healthy' });
  });

  it('fails authentication with a wrong token, without repeating any token', async () => {
    const result = await probe('wrong-token-123');
    expect(result.status).toBe('auth_failed');
    expect(result.error).toContain('A valid bearer token is required');
    expect(result.error).not.toContain('wrong-token-123');
  });
});

describe('classifyConnectionFailure', () => {
  const coded = (code: string, extra: object = {}) => Object.assign(new Error(code), { code }, extra);

  it.each([
    ['ECONNREFUSED', 'unreachable'],
    ['ECONNRESET', 'unreachable'], // reset before (or without) TLS: a connect failure
    ['ENOTFOUND', 'unreachable'],
    ['EAI_AGAIN', 'unreachable'],
    ['ERR_SSL_WRONG_VERSION_NUMBER', 'unreachable'], // TLS spoken to a plain-HTTP port
    ['UND_ERR_CONNECT_TIMEOUT', 'timeout'],
    ['UND_ERR_HEADERS_TIMEOUT', 'timeout'],
    ['UND_ERR_BODY_TIMEOUT', 'timeout'],
    ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'auth'],
    ['SELF_SIGNED_CERT_IN_CHAIN', 'auth'],
    ['DEPTH_ZERO_SELF_SIGNED_CERT', 'auth'],
    ['CERT_HAS_EXPIRED', 'auth'],
    ['ERR_TLS_CERT_ALTNAME_INVALID', 'auth'],
    ['ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED', 'auth'],
    ['ERR_SSL_TLSV1_ALERT_UNKNOWN_CA', 'auth'],
    ['ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE', 'auth'],
  ])('%s → %s', (code, kind) => {
    expect(classifyConnectionFailure(coded(code), true)).toBe(kind);
  });

  it('takes a connection closed before any byte as a refused client certificate, over TLS only', () => {
    const closed = coded('UND_ERR_SOCKET', { socket: { bytesRead: 0 } });
    expect(classifyConnectionFailure(closed, true)).toBe('auth');
    expect(classifyConnectionFailure(closed, false)).toBe('unreachable');
    const reused = coded('UND_ERR_SOCKET', { socket: { bytesRead: 512 } });
    expect(classifyConnectionFailure(reused, true)).toBe('unreachable');
  });

  it('looks through causes and the addresses happy eyeballs tried', () => {
    expect(
      classifyConnectionFailure(new Error('fetch failed', { cause: coded('CERT_HAS_EXPIRED') }), true),
    ).toBe('auth');
    const both = new AggregateError([coded('ECONNREFUSED'), coded('ETIMEDOUT')]);
    expect(classifyConnectionFailure(both, false)).toBe('timeout');
  });
});

describe('errorFromAnswer', () => {
  const ref = { clusterId: 'c-1', name: 'east' };
  const answer = (status: number, body?: unknown) =>
    errorFromAnswer(ref, parseAnswer(status, body === undefined ? '' : JSON.stringify(body)));

  function expectError(
    error: unknown,
    type: abstract new (...args: never[]) => unknown,
    fields: object = {},
  ) {
    expect(error).toBeInstanceOf(type);
    expect(error).toMatchObject(fields);
  }

  it('maps each answer to its error and code', () => {
    // our credentials refused: not the caller's 401/403
    expectError(answer(401, failure('unauthorized', 'token')), DeployerAuthFailed, { code: 'not_ready' });
    expectError(answer(403, failure('forbidden', 'cn')), DeployerAuthFailed);
    expectError(answer(422, failure('kube_rejected', 'invalid')), DeployerPolicyRejected, {
      code: 'kube_rejected',
      violations: [],
    });
    expectError(answer(409, failure('conflict', 'taken')), DeployerFull, { code: 'conflict' });
    expectError(answer(400, failure('invalid_spec', 'bad')), DeployerRequestRejected, {
      code: 'invalid_spec',
    });
    expectError(answer(404, '<html>'), DeployerRequestRejected, { code: 'bad_request' });
    expectError(answer(502, failure('kube_unavailable', 'down')), DeployerServerError, {
      code: 'kube_unavailable',
    });
    expectError(answer(500, failure('internal_error', 'bug')), DeployerServerError, {
      code: 'not_ready',
      details: { deployer_code: 'internal_error', deployer_request_id: 'req-1', cluster_id: 'c-1' },
    });
    expectError(answer(504), DeployerUnreachable, { reason: 'unreachable' });
    expectError(answer(429, failure('rate_limited', 'slow down')), DeployerServerError, {
      details: { reason: 'rate_limited' },
    });
  });
});

describe('backoff', () => {
  it('doubles from 200 ms up to 5 s, scaled by the jitter', () => {
    expect([0, 1, 2, 3, 4, 5, 9].map((retry) => backoffMs(retry, () => 1))).toEqual([
      200, 400, 800, 1600, 3200, 5000, 5000,
    ]);
    expect(backoffMs(3, () => 0.25)).toBe(400);
  });

  it('reads Retry-After in seconds or as a date, capped', () => {
    expect(retryAfterMs('2', 0)).toBe(2000);
    expect(retryAfterMs('600', 0)).toBe(5000);
    expect(retryAfterMs(new Date(3_000).toUTCString(), 1_000)).toBe(2000);
    expect(retryAfterMs('soon', 0)).toBeUndefined();
    expect(retryAfterMs(undefined, 0)).toBeUndefined();
  });
});

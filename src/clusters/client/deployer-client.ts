/**
 * The coordinator's HTTP client for one cluster's deployer (its routes: src/deployer/deployer.controller.ts,
 * its wire types: src/deployer/contract.ts). One connection pool per cluster, retries with backoff for
 * the calls that may be repeated, and a circuit breaker so a dead cluster fails fast.
 */
import { setTimeout as wait } from 'node:timers/promises';
import { buildConnector, Pool } from 'undici';
import {
  MAX_EXTERNAL_IDS,
  type ApplyResult,
  type ClusterCapacity,
  type DeployerHealth,
  type DeploymentSpec,
  type DeploymentStatus,
  type SnapshotInfo,
  type SnapshotRequest,
  type VolumeInfo,
  type VolumeRequest,
  DeployerErrorCode,
} from '../../deployer/public';
import type { ClustersConfig } from '../clusters.config';
import { CallGate } from './call-gate';
import { CircuitBreaker } from './circuit-breaker';
import {
  classifyConnectionFailure,
  DeployerAuthFailed,
  DeployerServerError,
  DeployerUnreachable,
  errorFromAnswer,
  errorFromConnectionFailure,
  parseAnswer,
  type DeployerRef,
} from './deployer-client.errors';

export interface DeployerEndpoint {
  clusterId: string;
  name: string;
  /** http(s)://host:port, maybe with a path prefix (API Gateway's stage, e.g. `/prod`). */
  url: string;
  /** PEM. When set, the only CA trusted for the deployer's server certificate. */
  caCert?: string;
  /** PEM client certificate and key, for a deployer that requires mTLS. */
  clientCert?: string;
  clientKey?: string;
  /** Bearer token the deployer checks (ODC_DEPLOYER_TOKEN on its side). */
  token?: string;
}

export interface DeployerClientSettings {
  connectTimeoutMs: number;
  /** Time to the answer's headers, and between chunks of its body. */
  requestTimeoutMs: number;
  /** Connections per cluster, so calls in flight at once; more calls queue. */
  concurrency: number;
  /**
   * `GET /deployments?external_id=…` calls in flight at once per cluster (each names up to
   * MAX_EXTERNAL_IDS); a long list goes in turns, leaving the other connections to applies.
   */
  statusConcurrency: number;
  /** Retries of an idempotent call, after the first try. */
  retries: number;
  breakerFailures: number;
  breakerOpenMs: number;
}

export function deployerClientSettings(config: ClustersConfig): DeployerClientSettings {
  return {
    connectTimeoutMs: config.ODC_DEPLOYER_CLIENT_CONNECT_TIMEOUT_MS,
    requestTimeoutMs: config.ODC_DEPLOYER_CLIENT_TIMEOUT_MS,
    concurrency: config.ODC_DEPLOYER_CLIENT_CONCURRENCY,
    statusConcurrency: config.ODC_DEPLOYER_CLIENT_STATUS_CONCURRENCY,
    retries: config.ODC_DEPLOYER_CLIENT_RETRIES,
    breakerFailures: config.ODC_DEPLOYER_CLIENT_BREAKER_FAILURES,
    breakerOpenMs: config.ODC_DEPLOYER_CLIENT_BREAKER_OPEN_SECONDS * 1000,
  };
}

/** One call as metrics see it: its route template, how long it took with its retries, how it ended. */
export interface DeployerCallObservation {
  cluster: string;
  /** `GET /deployments/{id}/status`: ids left out, so the label set stays small. */
  operation: string;
  seconds: number;
  outcome: 'ok' | 'error';
}

/** Seams for tests (the jitter, the waits between retries, the clock) and for metrics. */
export interface DeployerClientHooks {
  random?: () => number;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  observe?: (call: DeployerCallObservation) => void;
}

export interface DeployerProbe {
  status: 'healthy' | 'unreachable' | 'auth_failed';
  error?: string;
}

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

const IDEMPOTENT_METHODS: ReadonlySet<HttpMethod> = new Set(['GET', 'PUT', 'DELETE']);
/** Answers that say "not now": the same call may work a moment later. */
const RETRIED_STATUSES: ReadonlySet<number> = new Set([429, 502, 503, 504]);
export const BACKOFF_BASE_MS = 200;
export const BACKOFF_CAP_MS = 5_000;
/** Below Node's 5 s server keep-alive: the client drops an idle connection before the server does. */
const KEEP_ALIVE_MS = 4_000;

/** Full jitter: anywhere from 0 to base·2^retry (capped), so clients that failed together spread out. */
export function backoffMs(retry: number, random: () => number): number {
  return random() * Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** retry);
}

/** Retry-After (seconds or an HTTP date) in ms, capped like the backoff; undefined when absent or unreadable. */
export function retryAfterMs(value: string | undefined, now: number): number | undefined {
  if (value === undefined || value.trim() === '') {
    return undefined;
  }
  const seconds = Number(value);
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(value) - now;
  return Number.isNaN(ms) ? undefined : Math.min(BACKOFF_CAP_MS, Math.max(0, ms));
}

/**
 * The deployer's 502 `kube_forbidden`: its Kubernetes RBAC refused the call, an operator's fix that
 * no retry brings.
 */
function deniedByItsKubernetes(answer: { status: number; text: string }): boolean {
  return (
    answer.status === 502 && parseAnswer(answer.status, answer.text).code === DeployerErrorCode.KubeForbidden
  );
}

/** One try: the deployer's answer, or the failure that kept it from answering. */
type Attempt = { answer: { status: number; text: string; retryAfter?: string } } | { failure: unknown };

/** The route template of a path: names left out, so metrics' label set stays small. */
function operationOf(path: string): string {
  const [route = ''] = path.split('?');
  return route
    .replace(/^\/deployments\/[^/]+/, '/deployments/{id}')
    .replace(/^\/(volumes|snapshots)\/[^/]+/, '/$1/{name}');
}

function namespaceQuery(namespace: string | undefined): string {
  return namespace ? `?namespace=${encodeURIComponent(namespace)}` : '';
}

export class DeployerClient {
  readonly breaker: CircuitBreaker;
  /** Paces status lists: however many deployments are asked about, this many calls at a time. */
  readonly statusCalls: CallGate;
  private readonly ref: DeployerRef;
  private readonly pool: Pool;
  private readonly overTls: boolean;
  /** `/prod` behind API Gateway, else empty. */
  private readonly prefix: string;
  /** Private, so the token never shows when the client is logged or inspected. */
  readonly #authorization?: string;
  private readonly random: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly now: () => number;
  private readonly observe?: (call: DeployerCallObservation) => void;

  constructor(
    endpoint: DeployerEndpoint,
    private readonly settings: DeployerClientSettings,
    hooks: DeployerClientHooks = {},
  ) {
    const url = new URL(endpoint.url);
    this.ref = { clusterId: endpoint.clusterId, name: endpoint.name };
    this.overTls = url.protocol === 'https:';
    this.prefix = url.pathname.replace(/\/+$/, '');
    this.#authorization = endpoint.token ? `Bearer ${endpoint.token}` : undefined;
    this.random = hooks.random ?? Math.random;
    this.sleep = hooks.sleep ?? ((ms) => wait(ms));
    this.now = hooks.now ?? Date.now;
    this.observe = hooks.observe;
    this.breaker = new CircuitBreaker(settings.breakerFailures, settings.breakerOpenMs, this.now);
    this.statusCalls = new CallGate(settings.statusConcurrency);
    this.pool = new Pool(url.origin, {
      // HTTP/1.1, one request per connection: `connections` is then the cluster's concurrency limit.
      connections: settings.concurrency,
      allowH2: false,
      pipelining: 1,
      keepAliveTimeout: KEEP_ALIVE_MS,
      headersTimeout: settings.requestTimeoutMs,
      bodyTimeout: settings.requestTimeoutMs,
      // A connector built here keeps the key in its closure, out of the pool's inspectable options.
      connect: buildConnector({
        timeout: settings.connectTimeoutMs,
        allowH2: false,
        ...(endpoint.caCert ? { ca: endpoint.caCert } : {}),
        ...(endpoint.clientCert && endpoint.clientKey
          ? { cert: endpoint.clientCert, key: endpoint.clientKey }
          : {}),
      }),
    });
  }

  /** Authenticated on the deployer: a success proves our credentials as well as its Kubernetes. */
  health(): Promise<DeployerHealth> {
    return this.request('GET', '/health');
  }

  /**
   * Healthy, unreachable or refusing our credentials, now; never throws. One try, past the circuit
   * breaker (it reports the deployer, not what the breaker remembers of it) and without feeding it.
   */
  async probe(): Promise<DeployerProbe> {
    const attempt = await this.attempt('GET', '/health');
    try {
      this.resultOf(attempt);
      return { status: 'healthy' };
    } catch (error) {
      return {
        status: error instanceof DeployerAuthFailed ? 'auth_failed' : 'unreachable',
        error: error instanceof Error ? error.message : String(error),
      };
    }
  }

  capacity(): Promise<ClusterCapacity> {
    return this.request('GET', '/capacity');
  }

  /**
   * Every managed deployment's status, or only these: in calls of at most MAX_EXTERNAL_IDS, at most
   * `statusConcurrency` of them in flight on this cluster (whoever asks), in order. Once one call
   * fails, the calls still waiting their turn are not made: the answer is that failure.
   */
  async listDeployments(externalIds?: string[]): Promise<DeploymentStatus[]> {
    if (!externalIds) {
      return this.statusCalls.run(() => this.request('GET', '/deployments'));
    }
    const chunks: string[][] = [];
    for (let i = 0; i < externalIds.length; i += MAX_EXTERNAL_IDS) {
      chunks.push(externalIds.slice(i, i + MAX_EXTERNAL_IDS));
    }
    let failed = false;
    const lists = await Promise.all(
      chunks.map((ids) =>
        this.statusCalls.run(async () => {
          if (failed) {
            return [];
          }
          try {
            return await this.request<DeploymentStatus[]>('GET', `/deployments?external_id=${ids.join(',')}`);
          } catch (error) {
            failed = true;
            throw error;
          }
        }),
      ),
    );
    return lists.flat();
  }

  /** Idempotent by external_id (a repeat changes nothing, a retry after a partial apply completes it). */
  applyDeployment(spec: DeploymentSpec): Promise<ApplyResult> {
    return this.request('POST', '/deployments', spec, { idempotent: true });
  }

  /** A deployment already gone is not an error (the deployer answers 204 either way). */
  async deleteDeployment(externalId: string): Promise<void> {
    await this.request('DELETE', `/deployments/${encodeURIComponent(externalId)}`);
  }

  deploymentStatus(externalId: string): Promise<DeploymentStatus> {
    return this.request('GET', `/deployments/${encodeURIComponent(externalId)}/status`);
  }

  /** A claim that outlives deployments; idempotent by name (an existing disk of that name is answered). */
  createVolume(request: VolumeRequest): Promise<VolumeInfo> {
    return this.request('POST', '/volumes', request, { idempotent: true });
  }

  getVolume(name: string, namespace?: string): Promise<VolumeInfo> {
    return this.request('GET', `/volumes/${encodeURIComponent(name)}${namespaceQuery(namespace)}`);
  }

  listVolumes(namespace?: string): Promise<VolumeInfo[]> {
    return this.request('GET', `/volumes${namespaceQuery(namespace)}`);
  }

  /** Gone already is not an error; a claim still mounted answers 409 (DeployerFull). */
  async deleteVolume(name: string, namespace?: string): Promise<void> {
    await this.request('DELETE', `/volumes/${encodeURIComponent(name)}${namespaceQuery(namespace)}`);
  }

  /** Merges labels onto a managed claim (the reconciler's quarantine mark). */
  labelVolume(name: string, labels: Record<string, string>, namespace?: string): Promise<VolumeInfo> {
    return this.request(
      'PATCH',
      `/volumes/${encodeURIComponent(name)}${namespaceQuery(namespace)}`,
      { labels },
      { idempotent: true },
    );
  }

  labelSnapshot(name: string, labels: Record<string, string>, namespace?: string): Promise<SnapshotInfo> {
    return this.request(
      'PATCH',
      `/snapshots/${encodeURIComponent(name)}${namespaceQuery(namespace)}`,
      { labels },
      { idempotent: true },
    );
  }

  /** Idempotent by name. */
  createSnapshot(request: SnapshotRequest): Promise<SnapshotInfo> {
    return this.request('POST', '/snapshots', request, { idempotent: true });
  }

  getSnapshot(name: string, namespace?: string): Promise<SnapshotInfo> {
    return this.request('GET', `/snapshots/${encodeURIComponent(name)}${namespaceQuery(namespace)}`);
  }

  listSnapshots(namespace?: string): Promise<SnapshotInfo[]> {
    return this.request('GET', `/snapshots${namespaceQuery(namespace)}`);
  }

  async deleteSnapshot(name: string, namespace?: string): Promise<void> {
    await this.request('DELETE', `/snapshots/${encodeURIComponent(name)}${namespaceQuery(namespace)}`);
  }

  /** In-flight calls finish first. */
  async close(): Promise<void> {
    await this.pool.close();
  }

  /**
   * A call to `/api/v1${path}` through the breaker, retried when `idempotent` (by default: GET, PUT
   * and DELETE), its failure typed (deployer-client.errors.ts).
   */
  protected async request<T>(
    method: HttpMethod,
    path: string,
    body?: unknown,
    options: { idempotent?: boolean } = {},
  ): Promise<T> {
    if (!this.breaker.tryAcquire()) {
      throw new DeployerUnreachable(
        this.ref,
        `circuit open after repeated failures, next try in ${Math.ceil(this.breaker.remainingOpenMs)} ms`,
        'circuit_open',
      );
    }
    const started = performance.now();
    let attempt: Attempt;
    try {
      attempt = await this.withRetries(
        method,
        path,
        body,
        options.idempotent ?? IDEMPOTENT_METHODS.has(method),
      );
    } catch (error) {
      this.breaker.recordFailure(); // unexpected, but the breaker must hear back from every call
      throw error;
    }
    if (this.isFailure(attempt)) {
      this.breaker.recordFailure();
    } else {
      this.breaker.recordSuccess();
    }
    const observe = (outcome: 'ok' | 'error') =>
      this.observe?.({
        cluster: this.ref.name,
        operation: `${method} ${operationOf(path)}`,
        seconds: (performance.now() - started) / 1000,
        outcome,
      });
    try {
      const result = this.resultOf<T>(attempt);
      observe('ok');
      return result;
    } catch (error) {
      observe('error');
      throw error;
    }
  }

  private async withRetries(
    method: HttpMethod,
    path: string,
    body: unknown,
    idempotent: boolean,
  ): Promise<Attempt> {
    for (let retry = 0; ; retry++) {
      const attempt = await this.attempt(method, path, body);
      const delay = idempotent && retry < this.settings.retries ? this.retryDelay(attempt, retry) : undefined;
      if (delay === undefined) {
        return attempt;
      }
      await this.sleep(delay);
    }
  }

  /** How long to wait before trying again, or undefined when another try cannot help. */
  private retryDelay(attempt: Attempt, retry: number): number | undefined {
    if ('failure' in attempt) {
      return classifyConnectionFailure(attempt.failure, this.overTls) === 'auth'
        ? undefined
        : backoffMs(retry, this.random);
    }
    const { status, retryAfter } = attempt.answer;
    if (!RETRIED_STATUSES.has(status) || deniedByItsKubernetes(attempt.answer)) {
      return undefined;
    }
    const asked = status === 429 || status === 503 ? retryAfterMs(retryAfter, this.now()) : undefined;
    return asked ?? backoffMs(retry, this.random);
  }

  /**
   * What opens the circuit: no answer, or a 5xx. Refused credentials, 4xx answers and the deployer
   * saying its own Kubernetes role forbids the call prove it is up.
   */
  private isFailure(attempt: Attempt): boolean {
    if ('failure' in attempt) {
      return classifyConnectionFailure(attempt.failure, this.overTls) !== 'auth';
    }
    return attempt.answer.status >= 500 && !deniedByItsKubernetes(attempt.answer);
  }

  private async attempt(method: HttpMethod, path: string, body?: unknown): Promise<Attempt> {
    try {
      const response = await this.pool.request({
        method,
        path: `${this.prefix}/api/v1${path}`,
        headers: {
          accept: 'application/json',
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...(this.#authorization ? { authorization: this.#authorization } : {}),
        },
        body: body !== undefined ? JSON.stringify(body) : undefined,
      });
      const text = await response.body.text();
      const retryAfter = response.headers['retry-after'];
      return {
        answer: {
          status: response.statusCode,
          text,
          retryAfter: Array.isArray(retryAfter) ? retryAfter[0] : retryAfter,
        },
      };
    } catch (failure) {
      return { failure };
    }
  }

  /** The answer's JSON body (undefined when empty), or the typed error (a redirect is one: not followed). */
  private resultOf<T>(attempt: Attempt): T {
    if ('failure' in attempt) {
      throw errorFromConnectionFailure(this.ref, attempt.failure, this.overTls);
    }
    const { status, text, retryAfter } = attempt.answer;
    if (status < 200 || status >= 300) {
      throw errorFromAnswer(this.ref, parseAnswer(status, text, retryAfter));
    }
    if (text === '') {
      return undefined as T;
    }
    try {
      return JSON.parse(text) as T;
    } catch {
      // e.g. a proxy's HTML page in front of the deployer
      throw new DeployerServerError(this.ref, { status, message: 'answered with a body that is not JSON' });
    }
  }
}

/**
 * The deployer's one port to Kubernetes (only the deployer and the simulator import
 * @kubernetes/client-node). Failures become typed KubeErrors, never swallowed.
 */
import {
  ApiException,
  CoreV1Api,
  KubeConfig,
  KubernetesObjectApi,
  VersionApi,
  type KubernetesObject,
} from '@kubernetes/client-node';
import type https from 'node:https';
import { Agent, ProxyAgent, request, type Dispatcher } from 'undici';
import { sameJson } from '../../infra/kubernetes/json-equal';
import { TokenBucket } from './token-bucket';
import { FIELD_MANAGER, type AppliedObject, type LogOptions, type Manifest } from '../contract';

export type KubeErrorKind =
  'bad_request' | 'unauthorized' | 'forbidden' | 'not_found' | 'conflict' | 'invalid' | 'unavailable';

export class KubeError extends Error {
  constructor(
    readonly kind: KubeErrorKind,
    readonly status: number,
    message: string,
    readonly causes: { field?: string; message?: string }[] = [],
  ) {
    super(message);
    this.name = 'KubeError';
  }
}

const KIND_BY_STATUS: Record<number, KubeErrorKind> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  409: 'conflict',
  422: 'invalid',
};

/**
 * kube-apiserver answers a server-side apply whose values do not fit the kind's schema (a string
 * for a port) with a bare 500 carrying this message, though the request is at fault
 * (managedfields/internal/structuredmerge.go; kubernetes/kubernetes#139253, #122480).
 */
const TYPED_PATCH_FAILURE = /^failed to create typed patch object /;

/**
 * Admission plugins refuse with 403 too, though RBAC allowed the call, and it is not an operator's
 * credentials problem: a ResourceQuota the object would exceed means this cluster cannot take it
 * now (another may: a conflict), a Pod Security level it breaks means the object is at fault.
 * Seen on kube-apiserver's ResourceQuota and PodSecurity admission ("... is forbidden: exceeded
 * quota: q, requested: ...", "... is forbidden: violates PodSecurity \"baseline:latest\": ...").
 */
const ADMISSION_REFUSALS: readonly { pattern: RegExp; kind: KubeErrorKind }[] = [
  { pattern: / is forbidden: exceeded quota: /, kind: 'conflict' },
  { pattern: / is forbidden: violates PodSecurity /, kind: 'invalid' },
];

function kindOf(status: number, message: string): KubeErrorKind {
  if (status === 500 && TYPED_PATCH_FAILURE.test(message)) {
    return 'invalid';
  }
  if (status === 403) {
    return ADMISSION_REFUSALS.find((refusal) => refusal.pattern.test(message))?.kind ?? 'forbidden';
  }
  return KIND_BY_STATUS[status] ?? 'unavailable';
}

/** A non-2xx answer: its Status body (when it is one) says why. */
function fromStatus(status: number, rawBody: unknown): KubeError {
  let body: { message?: string; details?: { causes?: { field?: string; message?: string }[] } } = {};
  try {
    body = (typeof rawBody === 'string' ? JSON.parse(rawBody) : rawBody) as typeof body;
  } catch {
    // not a Status: keep the HTTP code
  }
  const message = body?.message ?? `Kubernetes answered ${status}`;
  return new KubeError(kindOf(status, message), status, message, body?.details?.causes ?? []);
}

export function toKubeError(error: unknown): KubeError {
  if (error instanceof KubeError) {
    return error;
  }
  if (error instanceof ApiException) {
    return fromStatus(error.code, error.body);
  }
  return new KubeError('unavailable', 503, `Kubernetes is unreachable: ${withCauses(error)}`);
}

/**
 * An error's message with those of its causes: fetch says only "fetch failed", and why (a
 * certificate signed by an unknown authority, a refused connection) is in its cause.
 */
function withCauses(error: unknown): string {
  const messages: string[] = [];
  for (let at: unknown = error, depth = 0; at !== undefined && at !== null && depth < 5; depth++) {
    const message = at instanceof Error ? at.message : typeof at === 'string' ? at : 'an error';
    const code = (at as { code?: unknown }).code;
    messages.push(typeof code === 'string' && !message.includes(code) ? `${message} (${code})` : message);
    at = at instanceof Error ? at.cause : undefined;
  }
  return messages.join(': ');
}

type TlsMaterial = Pick<https.RequestOptions, 'ca' | 'cert' | 'key' | 'rejectUnauthorized' | 'servername'>;

function sameTls(a: TlsMaterial, b: TlsMaterial): boolean {
  const same = (x: unknown, y: unknown) =>
    Buffer.isBuffer(x) && Buffer.isBuffer(y) ? x.equals(y) : JSON.stringify(x) === JSON.stringify(y);
  return (['ca', 'cert', 'key', 'rejectUnauthorized', 'servername'] as const).every((field) =>
    same(a[field], b[field]),
  );
}

/** client-node's object API, with the REST path of an object (API discovery, cached) made reachable. */
class ObjectApi extends KubernetesObjectApi {
  static forConfig(kubeConfig: KubeConfig): ObjectApi {
    const api = kubeConfig.makeApiClient(ObjectApi);
    api.setDefaultNamespace(kubeConfig);
    return api;
  }

  async pathOf(ref: Pick<Manifest, 'apiVersion' | 'kind' | 'metadata'>): Promise<string> {
    await this.assertServed(ref.apiVersion, ref.kind);
    // specUriPath fills in missing fields of what it is given: a copy, then.
    return this.specUriPath(
      { apiVersion: ref.apiVersion, kind: ref.kind, metadata: { ...ref.metadata } },
      'read',
    );
  }

  /** A kind's collection: in a namespace, or (namespace undefined) across all of them. */
  async collectionPathOf(apiVersion: string, kind: string, namespace: string | undefined): Promise<string> {
    await this.assertServed(apiVersion, kind);
    return this.specUriPath({ apiVersion, kind, metadata: namespace ? { namespace } : {} }, 'list');
  }

  /**
   * Discovery answered, and the kind is not in it (e.g. no snapshot CRDs): the request's problem
   * on this cluster, not an outage.
   */
  private async assertServed(apiVersion: string, kind: string): Promise<void> {
    const served = await this.resource(apiVersion, kind).catch((error: unknown) => {
      if (error instanceof ApiException && error.code === 404) {
        return undefined; // the whole group/version is not served
      }
      throw error;
    });
    if (!served) {
      throw new KubeError('bad_request', 400, `This cluster does not serve ${apiVersion} ${kind}`);
    }
  }
}

export interface KubeRateLimit {
  qps: number;
  burst: number;
}

/**
 * What an apply can change: everything but status and bookkeeping metadata. Controllers update
 * status (and so the resourceVersion) all the time, so a resourceVersion comparison would call an
 * untouched object "configured".
 */
function desiredState(object: KubernetesObject): unknown {
  const { status: _status, metadata, ...rest } = object as KubernetesObject & { status?: unknown };
  return { ...rest, labels: metadata?.labels, annotations: metadata?.annotations };
}

export class KubeClient {
  private readonly objects: ObjectApi;
  private readonly core: CoreV1Api;
  private readonly versionApi: VersionApi;
  private readonly bucket: TokenBucket;
  private readonly server: string;
  private dispatcher?: { tls: TlsMaterial; pool: Dispatcher };

  constructor(
    readonly kubeConfig: KubeConfig,
    rateLimit: KubeRateLimit,
  ) {
    this.bucket = new TokenBucket(rateLimit.qps, rateLimit.burst);
    this.objects = ObjectApi.forConfig(kubeConfig);
    this.core = kubeConfig.makeApiClient(CoreV1Api);
    this.versionApi = kubeConfig.makeApiClient(VersionApi);
    this.server = (kubeConfig.getCurrentCluster()?.server ?? '').replace(/\/$/, '');
  }

  /**
   * Server-side apply as the deployer's field manager, taking over fields others changed (force).
   * `before` is the object as it was (read by the caller, for many objects at once): with the
   * answer's status (201 when the apply created it) it tells created, configured and unchanged apart.
   */
  async apply(manifest: Manifest, before: KubernetesObject | undefined): Promise<AppliedObject> {
    const path = await this.pathOf(manifest);
    const { status, body } = await this.send('PATCH', `${path}?fieldManager=${FIELD_MANAGER}&force=true`, {
      body: JSON.stringify(manifest),
      contentType: 'application/apply-patch+yaml',
    });
    const action =
      status === 201 || !before
        ? status === 201
          ? 'created'
          : 'configured'
        : sameJson(desiredState(before), desiredState(body as KubernetesObject))
          ? 'unchanged'
          : 'configured';
    return {
      kind: manifest.kind,
      name: manifest.metadata.name,
      namespace: manifest.metadata.namespace,
      action,
    };
  }

  /**
   * A JSON merge patch (changes only what `patch` names). Not an apply: an apply that named only
   * some fields would remove the others the deployer's field manager applied before.
   */
  async mergePatch(
    ref: Pick<Manifest, 'apiVersion' | 'kind' | 'metadata'>,
    patch: Record<string, unknown>,
  ): Promise<KubernetesObject> {
    const path = await this.pathOf(ref);
    const { body } = await this.send('PATCH', `${path}?fieldManager=${FIELD_MANAGER}`, {
      body: JSON.stringify(patch),
      contentType: 'application/merge-patch+json',
    });
    return body as KubernetesObject;
  }

  async read(ref: Pick<Manifest, 'apiVersion' | 'kind' | 'metadata'>): Promise<KubernetesObject | undefined> {
    const path = await this.pathOf(ref);
    try {
      return (await this.send('GET', path)).body as KubernetesObject;
    } catch (error) {
      if (error instanceof KubeError && error.kind === 'not_found') {
        return undefined;
      }
      throw error;
    }
  }

  /**
   * An object's REST path. Discovery is cached by client-node, so this takes no rate-limit token:
   * only the read or apply that follows does.
   */
  private async pathOf(ref: Pick<Manifest, 'apiVersion' | 'kind' | 'metadata'>): Promise<string> {
    try {
      return await this.objects.pathOf(ref);
    } catch (error) {
      throw toKubeError(error);
    }
  }

  /**
   * The hot path (reads and applies) goes straight over undici: the answer's status code is needed
   * (client-node's object API drops it), and plain JSON costs a fraction of client-node's typed
   * (de)serialisation. Authentication and TLS come from the same KubeConfig.
   */
  private async send(
    method: 'GET' | 'PATCH' | 'DELETE',
    path: string,
    payload?: { body: string; contentType: string },
  ): Promise<{ status: number; body: unknown }> {
    await this.bucket.take();
    let response: Dispatcher.ResponseData;
    try {
      const options: https.RequestOptions = {};
      await this.kubeConfig.applyToHTTPSOptions(options);
      response = await request(`${this.server}${path}`, {
        method,
        dispatcher: this.dispatcherFor(options),
        headers: {
          ...(options.headers as Record<string, string> | undefined),
          ...(options.auth ? { authorization: `Basic ${Buffer.from(options.auth).toString('base64')}` } : {}),
          accept: 'application/json',
          ...(payload ? { 'content-type': payload.contentType } : {}),
        },
        body: payload?.body,
      });
    } catch (error) {
      throw toKubeError(error);
    }
    const text = await response.body.text();
    if (response.statusCode < 200 || response.statusCode > 299) {
      throw fromStatus(response.statusCode, text);
    }
    try {
      return { status: response.statusCode, body: JSON.parse(text) as unknown };
    } catch {
      // e.g. a proxy's HTML page in front of the API server
      throw new KubeError(
        'unavailable',
        502,
        `Kubernetes answered ${response.statusCode} with a body that is not JSON`,
      );
    }
  }

  /**
   * One connection pool per cluster with the kubeconfig's CA, client certificate and TLS settings,
   * through its proxy-url when it has one. Renewed when the TLS material changes (a rotated client
   * certificate), so a long-running deployer never keeps an old one.
   */
  private dispatcherFor(options: https.RequestOptions): Dispatcher {
    const tls = {
      ...(options.ca ? { ca: options.ca } : {}),
      ...(options.cert ? { cert: options.cert } : {}),
      ...(options.key ? { key: options.key } : {}),
      ...(options.rejectUnauthorized !== undefined ? { rejectUnauthorized: options.rejectUnauthorized } : {}),
      ...(options.servername ? { servername: options.servername } : {}),
    };
    // Every request reads the material afresh: a byte comparison (no hashing) says if it changed.
    if (!this.dispatcher || !sameTls(this.dispatcher.tls, tls)) {
      const previous = this.dispatcher?.pool;
      const proxy = this.kubeConfig.getCurrentCluster()?.proxyUrl;
      this.dispatcher = {
        tls,
        pool: proxy ? new ProxyAgent({ uri: proxy, requestTls: tls }) : new Agent({ connect: tls }),
      };
      void previous?.close(); // in-flight requests finish on it
    }
    return this.dispatcher.pool;
  }

  async close(): Promise<void> {
    await this.dispatcher?.pool.close();
  }

  /**
   * One list call; without a namespace, a namespaced kind is listed across all namespaces. Lists
   * and deletes go over the same connection pool as reads and applies: client-node's own calls
   * open a new connection each, which a busy deployer turns into thousands of sockets in TIME_WAIT
   * (and, against a real API server, a TLS handshake per call).
   */
  async list(
    apiVersion: string,
    kind: string,
    namespace: string | undefined,
    labelSelector: string,
    fieldSelector?: string,
  ): Promise<KubernetesObject[]> {
    const collection = await this.collectionPath(apiVersion, kind, namespace);
    const query = new URLSearchParams();
    if (labelSelector) {
      query.set('labelSelector', labelSelector);
    }
    if (fieldSelector) {
      query.set('fieldSelector', fieldSelector);
    }
    const { body } = await this.send(
      'GET',
      query.size > 0 ? `${collection}?${query.toString()}` : collection,
    );
    return ((body as { items?: KubernetesObject[] }).items ?? []).map((item) => ({
      ...item,
      apiVersion,
      kind,
    }));
  }

  /** Deletes in the background (dependents follow); an object already gone is not an error. */
  async delete(object: KubernetesObject): Promise<void> {
    const path = await this.pathOf({
      apiVersion: object.apiVersion ?? 'v1',
      kind: object.kind ?? '',
      metadata: { name: object.metadata?.name ?? '', namespace: object.metadata?.namespace },
    });
    try {
      await this.send('DELETE', path, {
        body: JSON.stringify({ apiVersion: 'v1', kind: 'DeleteOptions', propagationPolicy: 'Background' }),
        contentType: 'application/json',
      });
    } catch (error) {
      if (!(error instanceof KubeError && error.kind === 'not_found')) {
        throw error;
      }
    }
  }

  private async collectionPath(
    apiVersion: string,
    kind: string,
    namespace: string | undefined,
  ): Promise<string> {
    try {
      return await this.objects.collectionPathOf(apiVersion, kind, namespace);
    } catch (error) {
      throw toKubeError(error);
    }
  }

  async podLog(namespace: string, name: string, options: LogOptions): Promise<string> {
    return this.kube(() => this.core.readNamespacedPodLog({ namespace, name, ...options }));
  }

  /** The namespace's Warning events (only they explain a failing workload), timestamps as sent. */
  async listWarningEvents(namespace: string): Promise<
    {
      reason?: string;
      message?: string;
      type?: string;
      involvedObject: { name?: string; kind?: string };
      lastTimestamp?: string;
      eventTime?: string;
      firstTimestamp?: string;
    }[]
  > {
    // Listing only warnings keeps status reads small however many Normal events (Scheduled,
    // Started, …) the namespace has piled up.
    return (await this.list('v1', 'Event', namespace, '', 'type=Warning')) as never;
  }

  async serverVersion(): Promise<string> {
    return (await this.kube(() => this.versionApi.getCode())).gitVersion;
  }

  /** Every call: a token from the rate limiter, then the call, its failure typed. */
  private async kube<T>(call: () => Promise<T>): Promise<T> {
    await this.bucket.take();
    try {
      return await call();
    } catch (error) {
      throw toKubeError(error);
    }
  }
}

/**
 * The deployer's one port to Kubernetes (only the deployer and the simulator import
 * @kubernetes/client-node). Failures become typed KubeErrors, never swallowed.
 */
import {
  ApiException,
  CoreV1Api,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  VersionApi,
  type KubernetesObject,
} from '@kubernetes/client-node';
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

export function toKubeError(error: unknown): KubeError {
  if (error instanceof KubeError) {
    return error;
  }
  if (error instanceof ApiException) {
    const status = error.code;
    let body: { message?: string; details?: { causes?: { field?: string; message?: string }[] } } = {};
    try {
      body = (typeof error.body === 'string' ? JSON.parse(error.body) : error.body) as typeof body;
    } catch {
      // not a Status: keep the HTTP code
    }
    return new KubeError(
      KIND_BY_STATUS[status] ?? 'unavailable',
      status,
      body.message ?? `Kubernetes answered ${status}`,
      body.details?.causes ?? [],
    );
  }
  return new KubeError(
    'unavailable',
    503,
    `Kubernetes is unreachable: ${error instanceof Error ? error.message : String(error)}`,
  );
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
  private readonly objects: KubernetesObjectApi;
  private readonly core: CoreV1Api;
  private readonly versionApi: VersionApi;
  private readonly bucket: TokenBucket;

  constructor(
    readonly kubeConfig: KubeConfig,
    rateLimit: KubeRateLimit,
  ) {
    this.bucket = new TokenBucket(rateLimit.qps, rateLimit.burst);
    this.objects = KubernetesObjectApi.makeApiClient(kubeConfig);
    this.core = kubeConfig.makeApiClient(CoreV1Api);
    this.versionApi = kubeConfig.makeApiClient(VersionApi);
  }

  /**
   * Server-side apply as the deployer's field manager, taking over fields others changed (force).
   * `before` is the object as it was (read by the caller, for many objects at once): it tells
   * created, configured and unchanged apart.
   */
  async apply(manifest: Manifest, before: KubernetesObject | undefined): Promise<AppliedObject> {
    const applied = await this.kube(() =>
      this.objects.patch(
        manifest as KubernetesObject,
        undefined,
        undefined,
        FIELD_MANAGER,
        true,
        PatchStrategy.ServerSideApply,
      ),
    );
    const action = !before
      ? 'created'
      : sameJson(desiredState(before), desiredState(applied))
        ? 'unchanged'
        : 'configured';
    return {
      kind: manifest.kind,
      name: manifest.metadata.name,
      namespace: manifest.metadata.namespace,
      action,
    };
  }

  async read(ref: Pick<Manifest, 'apiVersion' | 'kind' | 'metadata'>): Promise<KubernetesObject | undefined> {
    try {
      return await this.kube(() =>
        this.objects.read({
          apiVersion: ref.apiVersion,
          kind: ref.kind,
          metadata: { name: ref.metadata.name, namespace: ref.metadata.namespace },
        }),
      );
    } catch (error) {
      if (error instanceof KubeError && error.kind === 'not_found') {
        return undefined;
      }
      throw error;
    }
  }

  /** One list call; without a namespace, a namespaced kind is listed across all namespaces. */
  async list(
    apiVersion: string,
    kind: string,
    namespace: string | undefined,
    labelSelector: string,
    fieldSelector?: string,
  ): Promise<KubernetesObject[]> {
    const list = await this.kube(() =>
      this.objects.list(
        apiVersion,
        kind,
        namespace,
        undefined,
        undefined,
        undefined,
        fieldSelector,
        labelSelector || undefined,
      ),
    );
    return list.items.map((item) => ({ ...item, apiVersion, kind }));
  }

  /** Deletes in the background (dependents follow); an object already gone is not an error. */
  async delete(object: KubernetesObject): Promise<void> {
    try {
      await this.kube(() =>
        this.objects.delete(object, undefined, undefined, undefined, undefined, 'Background'),
      );
    } catch (error) {
      if (!(error instanceof KubeError && error.kind === 'not_found')) {
        throw error;
      }
    }
  }

  async podLog(namespace: string, name: string, options: LogOptions): Promise<string> {
    return this.kube(() => this.core.readNamespacedPodLog({ namespace, name, ...options }));
  }

  async listEvents(namespace: string): Promise<
    {
      reason?: string;
      message?: string;
      type?: string;
      involvedObject: { name?: string; kind?: string };
      lastTimestamp?: Date;
    }[]
  > {
    return (await this.kube(() => this.core.listNamespacedEvent({ namespace }))).items;
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

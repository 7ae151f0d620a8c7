import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type { KubernetesObject } from '@kubernetes/client-node';
import { AppError, CommonErrorCode } from '../infra/errors/app-error';
import {
  LABELS,
  MANAGED_BY,
  manifestsOf,
  WORKLOAD_FIELDS,
  type AppliedObject,
  type ApplyResult,
  type ClusterCapacity,
  type DeployerHealth,
  type GpuTypeCapacity,
  type NodeCapacity,
  type DeploymentSpec,
  type DeploymentStatus,
  type LogOptions,
  type Manifest,
  type PodSummary,
  type SshEndpoint,
  type UrlReady,
} from './contract';
import { DeployerSettings } from './deployer-settings';
import { KubeClient } from './kube/kube-client';
import { applyFailure, reportKubeFailures } from './kube/kube-failures';
import { assertNoViolations, checkPolicy, enforced, type DeployerPolicy } from './policy';

export const KUBE_CLIENT = Symbol('KUBE_CLIENT');

/** The kinds a deployment is made of, in the order they are torn down. */
const MANAGED_KINDS: [apiVersion: string, kind: string, namespaced: boolean][] = [
  ['batch/v1', 'Job', true],
  ['apps/v1', 'Deployment', true],
  ['v1', 'Pod', true],
  ['networking.k8s.io/v1', 'Ingress', true],
  ['v1', 'Service', true],
  ['policy/v1', 'PodDisruptionBudget', true],
  ['v1', 'ConfigMap', true],
  ['v1', 'PersistentVolumeClaim', true],
  ['v1', 'PersistentVolume', false],
];

type Pod = KubernetesObject & {
  spec?: { nodeName?: string };
  status?: {
    phase?: string;
    hostIP?: string;
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
    containerStatuses?: {
      restartCount: number;
      lastState?: { terminated?: { reason?: string } };
      state?: { waiting?: { reason?: string }; terminated?: { reason?: string } };
    }[];
  };
};

@Injectable()
export class DeployerService implements OnApplicationShutdown {
  private readonly started = Date.now();
  private readonly namespaces: string[];
  private readonly policy: DeployerPolicy;
  private readonly gpuLabel: string;

  constructor(
    @Inject(KUBE_CLIENT) private readonly kube: KubeClient,
    settings: DeployerSettings,
  ) {
    this.namespaces = settings.namespaces;
    this.gpuLabel = settings.gpuLabel;
    this.policy = settings.policy;
  }

  /** The Kubernetes connections close with the app. */
  async onApplicationShutdown(): Promise<void> {
    await this.kube.close();
  }

  /**
   * Applies every object (policy first: all or nothing). Idempotent: a repeat changes nothing; after
   * a failure part-way, the answer names the object that failed and a retry completes the rest.
   */
  async applyDeployment(spec: DeploymentSpec): Promise<{ created: boolean; result: ApplyResult }> {
    assertNoViolations(checkPolicy(spec, this.policy), 'spec');
    const externalId = spec.metadata.external_id;
    const enforcedManifests = manifestsOf(spec).map(({ field, manifest }) => ({
      field,
      manifest: enforced(manifest, externalId),
    }));
    // Every object says which objects its spec has: the next apply prunes from that, not by listing.
    const record = JSON.stringify(enforcedManifests.map(({ manifest }) => objectKeyOf(manifest)));
    const manifests = enforcedManifests.map(({ field, manifest }) => ({
      field,
      manifest: withSpecObjects(manifest, record),
    }));
    // One round of parallel reads (they tell created, configured and unchanged apart), then two
    // rounds of parallel applies: what the workload needs, then the workload.
    const before = await reportKubeFailures(() =>
      Promise.all(manifests.map(({ manifest }) => this.kube.read(manifest))),
    );
    const planned = manifests.map((entry, index) => ({ ...entry, before: before[index] }));
    assertOwnedBy(externalId, planned);
    const objects: AppliedObject[] = [];
    for (const wave of [
      planned.filter(({ field }) => !WORKLOAD_FIELDS.includes(field)),
      planned.filter(({ field }) => WORKLOAD_FIELDS.includes(field)),
    ]) {
      const results = await Promise.allSettled(
        // Compared as if it carried this spec's record already: a new record alone is bookkeeping,
        // not a change to report (the object is `unchanged`).
        wave.map(({ manifest, before: current }) =>
          this.kube.apply(manifest, current && withSpecObjects(current, record)),
        ),
      );
      objects.push(...results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : [])));
      const failed = results.findIndex((r) => r.status === 'rejected');
      const failedEntry = wave[failed]; // none at index -1, when nothing failed
      if (failedEntry) {
        const { field, manifest } = failedEntry;
        throw applyFailure(field, manifest, (results[failed] as PromiseRejectedResult).reason, objects);
      }
    }
    const existed = planned.flatMap(({ before: current }) => (current ? [current] : []));
    if (existed.length > 0) {
      objects.push(...(await reportKubeFailures(() => this.pruneLeftovers(externalId, manifests, existed))));
    }
    return {
      created: objects.some((o) => o.action === 'created'),
      result: { external_id: externalId, objects },
    };
  }

  /**
   * A spec is the whole deployment: what an earlier spec of it had and this one has not (the
   * Ingress once Jupyter is off, the Pod after a switch to a Deployment) goes. Persistent disks,
   * file transfers and pods a controller owns are not the spec's to prune. Only looked for when the
   * deployment existed before (a first apply has nothing to prune). The objects that existed name
   * the earlier spec's objects (SPEC_OBJECTS): only those not in this one are read, and deleted when
   * they are still this deployment's. An object applied before that record existed makes it list
   * every managed kind instead.
   */
  private async pruneLeftovers(
    externalId: string,
    manifests: { manifest: Manifest }[],
    existed: KubernetesObject[],
  ): Promise<AppliedObject[]> {
    const wanted = new Set(manifests.map(({ manifest }) => refOf(objectKeyOf(manifest))));
    const earlier = earlierSpecObjects(existed);
    const leftovers = earlier
      ? await this.recordedLeftovers(externalId, earlier, wanted)
      : (await this.listManaged(leftoverSelector(externalId))).filter(
          (object) => prunable(object) && !wanted.has(refOf(objectKeyOf(object))),
        );
    for (const object of leftovers) {
      await this.kube.delete(object);
    }
    return leftovers.map((object) => ({
      kind: object.kind ?? '',
      name: object.metadata?.name ?? '',
      ...(object.metadata?.namespace ? { namespace: object.metadata.namespace } : {}),
      action: 'pruned' as const,
    }));
  }

  /** The earlier spec's objects this one does not have, as they are now, when still this deployment's. */
  private async recordedLeftovers(
    externalId: string,
    earlier: ObjectKey[],
    wanted: Set<string>,
  ): Promise<KubernetesObject[]> {
    const gone = earlier.filter((key) => !wanted.has(refOf(key)));
    const found = await Promise.all(
      gone.map(async ([apiVersion, kind, namespace, name]) => {
        const object = await this.kube.read({
          apiVersion,
          kind,
          metadata: { name, ...(namespace ? { namespace } : {}) },
        });
        const current: KubernetesObject[] = object ? [{ ...object, apiVersion, kind }] : [];
        return current.filter((o) => prunable(o) && ownedBy(o, externalId));
      }),
    );
    return found.flat();
  }

  /** Everything carrying the external id, except volumes of persistent disks (they live on). */
  async deleteDeployment(externalId: string): Promise<number> {
    return reportKubeFailures(() => this.deleteAll(externalId));
  }

  private async deleteAll(externalId: string): Promise<number> {
    const selector = leftoverSelector(externalId);
    // All at once: a teardown is as slow as one delete, not the sum of them (objects that a
    // cascade removed first answer 404, which is fine).
    const objects = await this.listManaged(selector);
    await Promise.all(objects.map((object) => this.kube.delete(object)));
    return objects.length;
  }

  async status(externalId: string): Promise<DeploymentStatus> {
    return reportKubeFailures(() => this.readStatus(externalId));
  }

  private async readStatus(externalId: string): Promise<DeploymentStatus> {
    const objects = await this.workloadObjects(`${LABELS.externalId}=${externalId}`);
    return statusFrom(externalId, objects);
  }

  /**
   * Every managed deployment's status, or only those of `externalIds` (one selector, not a call
   * each). Linear in what is listed: one list per kind and namespace and one of the namespaces'
   * Warning events per call, each object and event handed to its deployment in one pass.
   */
  async listDeployments(externalIds?: string[]): Promise<DeploymentStatus[]> {
    return reportKubeFailures(async () => {
      const only = externalIds ? `,${LABELS.externalId} in (${externalIds.join(',')})` : '';
      const objects = await this.workloadObjects(`${LABELS.managedBy}=${MANAGED_BY}${only}`);
      return groupByDeployment(objects).map(([id, group]) => statusFrom(id, group));
    });
  }

  /**
   * What status is made of, one list call per kind and namespace whatever the number of
   * deployments: their Deployments, ReplicaSets (a pod that cannot even be created is a ReplicaSet
   * event), pods, Services (the SSH node port), Ingresses (the Jupyter host), and the namespaces'
   * Warning events.
   */
  private async workloadObjects(selector: string): Promise<WorkloadObjects> {
    const [deployments, replicaSets, pods, services, ingresses, events] = await Promise.all([
      this.listIn('apps/v1', 'Deployment', selector),
      this.listIn('apps/v1', 'ReplicaSet', selector),
      this.listIn('v1', 'Pod', selector) as Promise<Pod[]>,
      this.listIn('v1', 'Service', selector) as Promise<Service[]>,
      this.listIn('networking.k8s.io/v1', 'Ingress', selector) as Promise<Ingress[]>,
      Promise.all(this.namespaces.map((ns) => this.kube.listWarningEvents(ns))).then((lists) => lists.flat()),
    ]);
    return { deployments, replicaSets, pods, services, ingresses, events };
  }

  /** Nodes with their GPUs (type from the configured label, allocatable, requested) and totals per type. */
  async capacity(): Promise<ClusterCapacity> {
    return reportKubeFailures(async () => {
      const [nodes, pods] = await Promise.all([
        this.kube.list('v1', 'Node', undefined, '') as Promise<NodeObject[]>,
        this.kube.list('v1', 'Pod', undefined, '', 'status.phase!=Succeeded,status.phase!=Failed') as Promise<
          PodWithResources[]
        >,
      ]);
      const requested = new Map<string, number>();
      const managed = new Map<string, number>();
      for (const pod of pods) {
        const node = pod.spec?.nodeName;
        if (node) {
          requested.set(node, (requested.get(node) ?? 0) + gpusOf(pod));
          if (pod.metadata?.labels?.[LABELS.managedBy] === MANAGED_BY) {
            managed.set(node, (managed.get(node) ?? 0) + gpusOf(pod));
          }
        }
      }
      const summaries: NodeCapacity[] = nodes.map((node) => ({
        name: node.metadata?.name ?? '',
        ...(node.metadata?.labels?.[this.gpuLabel] ? { gpu_type: node.metadata.labels[this.gpuLabel] } : {}),
        labels: node.metadata?.labels ?? {},
        allocatable_gpus: Object.entries(node.status?.allocatable ?? {})
          .filter(([name]) => name.endsWith('/gpu'))
          .reduce((sum, [, value]) => sum + Number(value), 0),
        requested_gpus: requested.get(node.metadata?.name ?? '') ?? 0,
        managed_gpus: managed.get(node.metadata?.name ?? '') ?? 0,
        ready: node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
        schedulable: node.spec?.unschedulable !== true,
      }));
      const totals = new Map<string, GpuTypeCapacity>();
      for (const node of summaries.filter((n) => n.gpu_type)) {
        const total = totals.get(node.gpu_type!) ?? {
          gpu_type: node.gpu_type!,
          nodes: 0,
          allocatable_gpus: 0,
          requested_gpus: 0,
          free_gpus: 0,
        };
        total.nodes += 1;
        total.allocatable_gpus += node.allocatable_gpus;
        total.requested_gpus += node.requested_gpus;
        total.free_gpus +=
          node.ready && node.schedulable ? Math.max(0, node.allocatable_gpus - node.requested_gpus) : 0;
        totals.set(node.gpu_type!, total);
      }
      return {
        nodes: summaries,
        totals: [...totals.values()].sort((a, b) => a.gpu_type.localeCompare(b.gpu_type)),
      };
    });
  }

  async urlReady(externalId: string): Promise<UrlReady> {
    const objects = await reportKubeFailures(() =>
      this.workloadObjects(`${LABELS.externalId}=${externalId}`),
    );
    const { services, ingresses } = objects;
    const workload = statusFrom(externalId, objects).pods.some((pod) => pod.ready);
    const checks = { workload, service: services.length > 0, ingress: ingresses.length > 0 };
    // Jupyter (the Ingress) is optional: SSH needs the workload and its Service.
    return { ready: workload && checks.service, checks };
  }

  async logs(externalId: string, options: LogOptions): Promise<string | undefined> {
    return reportKubeFailures(async () => {
      const pods = (await this.listIn('v1', 'Pod', `${LABELS.externalId}=${externalId}`)) as Pod[];
      const pod = pods.find((p) => p.status?.phase === 'Running') ?? pods[0];
      if (!pod?.metadata?.name || !pod.metadata.namespace) {
        return undefined;
      }
      return this.kube.podLog(pod.metadata.namespace, pod.metadata.name, options);
    });
  }

  async health(): Promise<DeployerHealth> {
    const version = await reportKubeFailures(() => this.kube.serverVersion());
    return {
      status: 'ok',
      kubernetes: { reachable: true, version },
      namespaces: this.namespaces,
      uptime_seconds: Math.round((Date.now() - this.started) / 1000),
    };
  }

  private async listIn(apiVersion: string, kind: string, selector: string): Promise<KubernetesObject[]> {
    return (
      await Promise.all(this.namespaces.map((ns) => this.kube.list(apiVersion, kind, ns, selector)))
    ).flat();
  }

  private async listManaged(selector: string): Promise<KubernetesObject[]> {
    const lists = await Promise.all(
      MANAGED_KINDS.map(([apiVersion, kind, namespaced]) =>
        namespaced
          ? this.listIn(apiVersion, kind, selector)
          : this.kube.list(apiVersion, kind, undefined, selector),
      ),
    );
    return lists.flat();
  }
}

/**
 * An object of the spec that exists already must be this deployment's own: the deployer never
 * takes over what it did not create, nor what another deployment (or a persistent disk) owns.
 */
function assertOwnedBy(
  externalId: string,
  planned: {
    field: string;
    manifest: { kind: string; metadata: { name: string } };
    before?: KubernetesObject;
  }[],
): void {
  const conflicts = planned
    .filter(({ before }) => before !== undefined)
    .map(({ field, manifest, before }) => {
      const labels = before!.metadata?.labels ?? {};
      const owner =
        labels[LABELS.managedBy] !== MANAGED_BY
          ? 'not managed by the deployer'
          : labels[LABELS.externalId] !== externalId
            ? labels[LABELS.externalId]
              ? `deployment ${labels[LABELS.externalId]}`
              : 'a persistent disk'
            : undefined;
      return { field, kind: manifest.kind, name: manifest.metadata.name, owner };
    })
    .filter((conflict): conflict is typeof conflict & { owner: string } => conflict.owner !== undefined);
  if (conflicts.length > 0) {
    throw new AppError(
      CommonErrorCode.Conflict,
      `${conflicts.length} object(s) of the spec exist and belong to something else (${conflicts
        .map((c) => `${c.kind} ${c.name}: ${c.owner}`)
        .join('; ')}); nothing was applied`,
      { conflicts },
    );
  }
}

/**
 * Annotation on every object the deployer applies: the objects of the spec it was applied with
 * (JSON, `[apiVersion, kind, namespace, name]` each), so the next apply of the deployment knows
 * what to prune without listing every managed kind.
 */
const SPEC_OBJECTS = 'odc.dev/spec-objects';

type ObjectKey = [apiVersion: string, kind: string, namespace: string, name: string];

function objectKeyOf(object: KubernetesObject): ObjectKey {
  return [
    object.apiVersion ?? '',
    object.kind ?? '',
    object.metadata?.namespace ?? '',
    object.metadata?.name ?? '',
  ];
}

/** Kind, namespace and name: the same object whichever version of its API names it. */
function refOf([, kind, namespace, name]: ObjectKey): string {
  return `${kind}/${namespace}/${name}`;
}

function withSpecObjects<T extends KubernetesObject>(manifest: T, record: string): T {
  return {
    ...manifest,
    metadata: {
      ...manifest.metadata,
      annotations: { ...manifest.metadata?.annotations, [SPEC_OBJECTS]: record },
    },
  };
}

/**
 * The objects of the specs the existing objects were applied with (all of them: after a failure
 * part-way, some carry the earlier spec and some this one); undefined when one of them carries no
 * readable record (applied before records were kept, or the annotation was removed).
 */
function earlierSpecObjects(existed: KubernetesObject[]): ObjectKey[] | undefined {
  const keys = new Map<string, ObjectKey>();
  for (const object of existed) {
    const record = object.metadata?.annotations?.[SPEC_OBJECTS];
    if (!record) {
      return undefined;
    }
    try {
      const parsed = JSON.parse(record) as unknown;
      if (!Array.isArray(parsed)) {
        return undefined;
      }
      for (const key of parsed) {
        if (!Array.isArray(key) || key.length !== 4 || !key.every((part) => typeof part === 'string')) {
          return undefined;
        }
        keys.set(refOf(key as ObjectKey), key as ObjectKey);
      }
    } catch {
      return undefined;
    }
  }
  return [...keys.values()];
}

/** What a deployment's teardown and pruning may delete: its objects, but never a persistent disk's. */
function leftoverSelector(externalId: string): string {
  return `${LABELS.externalId}=${externalId},${LABELS.managedBy}=${MANAGED_BY},!${LABELS.persistentDisk}`;
}

/** Not a file transfer's Job, nor a pod its controller owns (they go with their owner). */
function prunable(object: KubernetesObject): boolean {
  return object.kind !== 'Job' && !object.metadata?.ownerReferences?.some((owner) => owner.controller);
}

function ownedBy(object: KubernetesObject, externalId: string): boolean {
  const labels = object.metadata?.labels ?? {};
  return (
    labels[LABELS.managedBy] === MANAGED_BY &&
    labels[LABELS.externalId] === externalId &&
    labels[LABELS.persistentDisk] === undefined
  );
}

type KubeEvent = Awaited<ReturnType<KubeClient['listWarningEvents']>>[number];

type Service = KubernetesObject & {
  spec?: { ports?: { name?: string; port?: number; nodePort?: number }[] };
};
type Ingress = KubernetesObject & { spec?: { rules?: { host?: string }[] } };

interface WorkloadObjects {
  deployments: KubernetesObject[];
  replicaSets: KubernetesObject[];
  pods: Pod[];
  services: Service[];
  ingresses: Ingress[];
  events: KubeEvent[];
}

function emptyWorkload(): WorkloadObjects {
  return { deployments: [], replicaSets: [], pods: [], services: [], ingresses: [], events: [] };
}

/**
 * Each deployment's objects, by external id (sorted), with only the events of its own Deployment,
 * ReplicaSets and pods. A deployment exists through its workload (its Deployment or its pods): a
 * Service or an Ingress left alone makes no entry.
 */
function groupByDeployment(objects: WorkloadObjects): [string, WorkloadObjects][] {
  const byId = new Map<string, WorkloadObjects>();
  const of = (object: KubernetesObject, create: boolean): WorkloadObjects | undefined => {
    const id = object.metadata?.labels?.[LABELS.externalId];
    if (!id) {
      return undefined;
    }
    let group = byId.get(id);
    if (!group && create) {
      group = emptyWorkload();
      byId.set(id, group);
    }
    return group;
  };
  // Whose events: the objects that events of a deployment are about, by kind and name.
  const owners = new Map<string, WorkloadObjects>();
  const own = (kind: string, object: KubernetesObject, group: WorkloadObjects | undefined) => {
    if (group) {
      owners.set(objectRef(kind, object.metadata?.name), group);
    }
  };
  for (const d of objects.deployments) {
    const group = of(d, true);
    group?.deployments.push(d);
    own('Deployment', d, group);
  }
  for (const p of objects.pods) {
    const group = of(p, true);
    group?.pods.push(p);
    own('Pod', p, group);
  }
  for (const r of objects.replicaSets) {
    const group = of(r, false);
    group?.replicaSets.push(r);
    own('ReplicaSet', r, group);
  }
  objects.services.forEach((svc) => of(svc, false)?.services.push(svc));
  objects.ingresses.forEach((ing) => of(ing, false)?.ingresses.push(ing));
  for (const event of objects.events) {
    owners.get(objectRef(event.involvedObject.kind, event.involvedObject.name))?.events.push(event);
  }
  return [...byId].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

function objectRef(kind: string | undefined, name: string | undefined): string {
  return `${kind}/${name}`;
}

const RECENT_WARNINGS = 10;

function statusFrom(
  externalId: string,
  { deployments, replicaSets, pods, services, ingresses, events }: WorkloadObjects,
): DeploymentStatus {
  const ssh = sshEndpoint(services, pods);
  const jupyterHost = ingresses.flatMap((i) => i.spec?.rules ?? []).find((rule) => rule.host)?.host;
  const involved = new Set([
    ...deployments.map((d) => objectRef('Deployment', d.metadata?.name)),
    ...replicaSets.map((r) => objectRef('ReplicaSet', r.metadata?.name)),
    ...pods.map((p) => objectRef('Pod', p.metadata?.name)),
  ]);
  const timeOf = (e: KubeEvent) => {
    const at = Date.parse(e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp ?? '');
    return Number.isNaN(at) ? 0 : at;
  };
  return {
    external_id: externalId,
    exists: deployments.length + pods.length > 0,
    ready_replicas: deployments.reduce(
      (sum, d) => sum + ((d as { status?: { readyReplicas?: number } }).status?.readyReplicas ?? 0),
      0,
    ),
    pods: pods.map(summarizePod),
    warnings: events
      .filter(
        (e) => e.type === 'Warning' && involved.has(objectRef(e.involvedObject.kind, e.involvedObject.name)),
      )
      .sort((a, b) => timeOf(a) - timeOf(b))
      .slice(-RECENT_WARNINGS)
      .map((e) => ({
        reason: e.reason ?? '',
        message: e.message ?? '',
        object: objectRef(e.involvedObject.kind, e.involvedObject.name),
        ...(timeOf(e) > 0 ? { at: new Date(timeOf(e)).toISOString() } : {}),
      })),
    ...(ssh ? { ssh } : {}),
    ...(jupyterHost ? { jupyter_host: jupyterHost } : {}),
  };
}

/**
 * The node port of the Service port named `ssh` (or, failing a name, of port 22), and where the
 * pod that answers it runs: the ready pod, else a running one (not one being deleted).
 */
function sshEndpoint(services: Service[], pods: Pod[]): SshEndpoint | undefined {
  const ports = services.flatMap((s) => s.spec?.ports ?? []);
  const nodePort = (ports.find((p) => p.name === 'ssh') ?? ports.find((p) => p.port === 22))?.nodePort;
  if (!nodePort) {
    return undefined;
  }
  const live = pods.filter((p) => !p.metadata?.deletionTimestamp);
  const pod =
    live.find((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) ??
    live.find((p) => p.status?.phase === 'Running');
  return {
    node_port: nodePort,
    ...(pod?.status?.hostIP ? { host_ip: pod.status.hostIP } : {}),
    ...(pod?.spec?.nodeName ? { node: pod.spec.nodeName } : {}),
  };
}

type NodeObject = KubernetesObject & {
  spec?: { unschedulable?: boolean };
  status?: { allocatable?: Record<string, string>; conditions?: { type: string; status: string }[] };
};
type PodWithResources = KubernetesObject & {
  spec?: {
    nodeName?: string;
    containers?: { resources?: { requests?: Record<string, string>; limits?: Record<string, string> } }[];
  };
};

function gpusOf(pod: PodWithResources): number {
  return (pod.spec?.containers ?? []).reduce((sum, container) => {
    const resources = { ...container.resources?.limits, ...container.resources?.requests };
    return (
      sum +
      Object.entries(resources)
        .filter(([name]) => name.endsWith('/gpu'))
        .reduce((n, [, value]) => n + Number(value), 0)
    );
  }, 0);
}

function summarizePod(pod: Pod): PodSummary {
  const statuses = pod.status?.containerStatuses ?? [];
  const scheduled = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
  const termination = statuses
    .map((c) => c.lastState?.terminated?.reason ?? c.state?.terminated?.reason ?? c.state?.waiting?.reason)
    .find(Boolean);
  return {
    name: pod.metadata?.name ?? '',
    phase: pod.status?.phase ?? 'Pending',
    ready: pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
    ...(pod.spec?.nodeName ? { node: pod.spec.nodeName } : {}),
    restarts: statuses.reduce((sum, c) => sum + c.restartCount, 0),
    ...(termination ? { last_termination_reason: termination } : {}),
    ...(scheduled?.status === 'False' && scheduled.message ? { scheduling_message: scheduled.message } : {}),
  };
}

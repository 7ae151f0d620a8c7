/**
 * The workload controllers of the simulated cluster: Deployment → ReplicaSet → Pods (one
 * ReplicaSet per pod template, older ones scaled to zero), Job → Pod, and their status
 * (replicas, ready, available, conditions) following the pods.
 */
import { k8sNow } from './time';
import { createHash, randomBytes } from 'node:crypto';
import { sameJson } from '../infra/kubernetes/json-equal';
import { admit, applyDefaults, initialPodStatus } from './defaults';
import type { EventRecorder } from './events';
import { RESOURCE_TYPES, type ResourceType } from './resources';
import { condition } from './scheduler';
import { safely, type K8sObject, type ObjectStore, type StoreEvent } from './store';

const typeOf = (kind: string): ResourceType => RESOURCE_TYPES.find((t) => t.kind === kind)!;
const POD = typeOf('Pod');
const REPLICA_SET = typeOf('ReplicaSet');
const DEPLOYMENT = typeOf('Deployment');
const JOB = typeOf('Job');
const PDB = typeOf('PodDisruptionBudget');

type PodTemplate = {
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: Record<string, unknown>;
};

const phaseOf = (pod: K8sObject) => (pod.status as { phase?: string } | undefined)?.phase;
const isReady = (pod: K8sObject) =>
  (pod.status as { conditions?: { type: string; status: string }[] } | undefined)?.conditions?.some(
    (c) => c.type === 'Ready' && c.status === 'True',
  ) ?? false;
const isLive = (pod: K8sObject) =>
  !pod.metadata.deletionTimestamp && !['Succeeded', 'Failed'].includes(phaseOf(pod) ?? '');

function ownerRef(
  owner: K8sObject,
): NonNullable<K8sObject['metadata']['ownerReferences']>[number] & { blockOwnerDeletion: boolean } {
  return {
    apiVersion: owner.apiVersion,
    kind: owner.kind,
    name: owner.metadata.name,
    uid: owner.metadata.uid!,
    controller: true,
    blockOwnerDeletion: true,
  };
}

function controllerOf(object: K8sObject): { kind: string; name: string; uid: string } | undefined {
  return object.metadata.ownerReferences?.find((ref) => ref.controller);
}

/** Keeps a condition's transition time when its status did not change, so status writes settle. */
function mergeConditions(previous: unknown, next: Record<string, unknown>[]): Record<string, unknown>[] {
  const old = (Array.isArray(previous) ? previous : []) as Record<string, unknown>[];
  return next.map((c) => {
    const before = old.find((o) => o.type === c.type);
    if (!before || before.status !== c.status) {
      return c;
    }
    // Same status: the transition stays; a new reason or message is an update.
    return before.reason === c.reason && before.message === c.message
      ? before
      : { ...c, lastTransitionTime: before.lastTransitionTime };
  });
}

const REVISION = 'deployment.kubernetes.io/revision';
const DESIRED_REPLICAS = 'deployment.kubernetes.io/desired-replicas';
const MAX_REPLICAS = 'deployment.kubernetes.io/max-replicas';

/** A rolling update's surge in pods: a number, or a percentage of the replicas rounded up. */
function maxSurge(deployment: K8sObject, replicas: number): number {
  const strategy = (deployment.spec as { strategy?: { rollingUpdate?: { maxSurge?: number | string } } })
    .strategy;
  const surge = strategy?.rollingUpdate?.maxSurge;
  if (surge === undefined) {
    return 0;
  }
  return typeof surge === 'number' ? surge : Math.ceil((replicas * Number.parseInt(surge, 10)) / 100);
}

/** Counts the API sends only when not zero (`omitempty` in the Go types). */
function omitZero(counts: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(counts).filter(([, value]) => value > 0));
}

/** A Deployment's conditions say when they were last updated, not probed. */
function deploymentCondition(type: string, status: 'True' | 'False'): Record<string, unknown> {
  const now = k8sNow();
  return { type, status, lastUpdateTime: now, lastTransitionTime: now };
}

/** Kubernetes' generateName suffix: 5 characters of an alphabet without vowels or look-alikes. */
const ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

export function randomSuffix(): string {
  return [...randomBytes(5)].map((b) => ALPHABET[b % ALPHABET.length]).join('');
}

export function generatedName(prefix: string): string {
  return `${prefix}-${randomSuffix()}`;
}

export class WorkloadControllers {
  private readonly queued = new Map<string, { type: ResourceType; namespace: string; name: string }>();
  private flushQueued = false;
  private readonly unsubscribe: () => void;

  private readonly deploymentEvents?: EventRecorder;
  private readonly replicaSetEvents?: EventRecorder;
  private readonly jobEvents?: EventRecorder;

  /** `events` makes a recorder per controller (deployment-controller, replicaset-controller, …). */
  constructor(
    private readonly store: ObjectStore,
    events?: (component: string) => EventRecorder,
  ) {
    this.deploymentEvents = events?.('deployment-controller');
    this.replicaSetEvents = events?.('replicaset-controller');
    this.jobEvents = events?.('job-controller');
    this.unsubscribe = store.subscribe((event) => this.observe(event));
  }

  stop(): void {
    this.unsubscribe();
  }

  private observe(event: StoreEvent): void {
    const { object, resource } = event;
    if (resource === DEPLOYMENT || resource === REPLICA_SET || resource === JOB) {
      if (event.type !== 'DELETED') {
        this.enqueue(resource, object.metadata.namespace!, object.metadata.name);
      }
      const owner = controllerOf(object);
      if (resource === REPLICA_SET && owner?.kind === 'Deployment') {
        this.enqueue(DEPLOYMENT, object.metadata.namespace!, owner.name);
      }
      return;
    }
    if (resource === PDB) {
      if (event.type !== 'DELETED') {
        this.enqueue(PDB, object.metadata.namespace!, object.metadata.name);
      }
      return;
    }
    if (resource === POD) {
      // The disruption controller follows the pods of each budget that selects them (filtered
      // before the store copies anything: a namespace can hold a budget per reservation).
      const labels = object.metadata.labels ?? {};
      for (const pdb of this.store.list(PDB, object.metadata.namespace, (budget) =>
        budgetSelects(budget, labels),
      )) {
        this.enqueue(PDB, pdb.metadata.namespace!, pdb.metadata.name);
      }
      const owner = controllerOf(object);
      if (owner?.kind === 'ReplicaSet') {
        this.enqueue(REPLICA_SET, object.metadata.namespace!, owner.name);
      } else if (owner?.kind === 'Job') {
        this.enqueue(JOB, object.metadata.namespace!, owner.name);
      }
    }
  }

  /** Reconciles are coalesced: many events about one object in a tick make one reconcile. */
  private enqueue(type: ResourceType, namespace: string, name: string): void {
    this.queued.set(`${type.kind}/${namespace}/${name}`, { type, namespace, name });
    if (!this.flushQueued) {
      this.flushQueued = true;
      setImmediate(() => safely(() => this.flush()));
    }
  }

  private flush(): void {
    this.flushQueued = false;
    const work = [...this.queued.values()];
    this.queued.clear();
    for (const { type, namespace, name } of work) {
      const object = this.store.get(type, namespace, name);
      if (!object || object.metadata.deletionTimestamp) {
        continue;
      }
      if (type === DEPLOYMENT) {
        this.reconcileDeployment(object);
      } else if (type === REPLICA_SET) {
        this.reconcileReplicaSet(object);
      } else if (type === PDB) {
        this.reconcileDisruptionBudget(object);
      } else {
        this.reconcileJob(object);
      }
    }
  }

  /** What the owner controls, of one type, by name: from the store's owner index, not a scan of the type. */
  private owned(type: ResourceType, owner: K8sObject): K8sObject[] {
    return this.store
      .dependentsOf(owner.metadata.uid!)
      .filter(
        (dependent) => dependent.type === type && controllerOf(dependent.object)?.uid === owner.metadata.uid,
      )
      .map((dependent) => dependent.object)
      .sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1));
  }

  private writeStatus(type: ResourceType, object: K8sObject, status: Record<string, unknown>): void {
    if (sameJson(object.status, status)) {
      return;
    }
    const next = { ...object, status };
    delete next.metadata.resourceVersion;
    this.store.update(type, next);
  }

  private reconcileDeployment(deployment: K8sObject): void {
    const spec = deployment.spec as { replicas?: number; template: PodTemplate };
    const desired = spec.replicas ?? 1;
    const hash = createHash('sha256').update(JSON.stringify(spec.template)).digest('hex').slice(0, 10);
    const sets = this.owned(REPLICA_SET, deployment);
    let current = sets.find((rs) => rs.metadata.labels?.['pod-template-hash'] === hash);
    const name = `${deployment.metadata.name}-${hash}`;
    const orphan = current ? undefined : this.store.get(REPLICA_SET, deployment.metadata.namespace, name);
    if (orphan && !controllerOf(orphan)) {
      // Adopt the ReplicaSet an orphaning delete left behind, as the deployment controller does.
      orphan.metadata.ownerReferences = [...(orphan.metadata.ownerReferences ?? []), ownerRef(deployment)];
      delete orphan.metadata.resourceVersion;
      current = this.store.update(REPLICA_SET, orphan);
      sets.push(current);
    }
    const revision = String(
      Math.max(0, ...sets.map((rs) => Number(rs.metadata.annotations?.[REVISION] ?? 0))) + (current ? 0 : 1),
    );
    const annotations = {
      [DESIRED_REPLICAS]: String(desired),
      [MAX_REPLICAS]: String(desired + maxSurge(deployment, desired)),
      [REVISION]: current?.metadata.annotations?.[REVISION] ?? revision,
    };
    if (!current) {
      const labels = { ...spec.template.metadata?.labels, 'pod-template-hash': hash };
      current = this.store.create(
        REPLICA_SET,
        applyDefaults({
          apiVersion: 'apps/v1',
          kind: 'ReplicaSet',
          metadata: {
            name: `${deployment.metadata.name}-${hash}`,
            namespace: deployment.metadata.namespace,
            labels,
            annotations,
            ownerReferences: [ownerRef(deployment)],
          },
          spec: {
            replicas: desired,
            selector: { matchLabels: labels },
            template: { ...spec.template, metadata: { ...spec.template.metadata, labels } },
          },
        }),
      );
      this.deploymentEvents?.record(
        deployment,
        'Normal',
        'ScalingReplicaSet',
        `Scaled up replica set ${current.metadata.name} from 0 to ${desired}`,
      );
      sets.push(current);
    }
    for (const rs of sets) {
      const want = rs.metadata.uid === current.metadata.uid ? desired : 0;
      const had = (rs.spec as { replicas?: number }).replicas ?? 0;
      const wantAnnotations =
        rs.metadata.uid === current.metadata.uid
          ? { ...rs.metadata.annotations, ...annotations }
          : rs.metadata.annotations;
      if (had !== want || !sameJson(rs.metadata.annotations, wantAnnotations)) {
        const next = {
          ...rs,
          metadata: { ...rs.metadata, ...(wantAnnotations ? { annotations: wantAnnotations } : {}) },
          spec: { ...(rs.spec as object), replicas: want },
        };
        delete next.metadata.resourceVersion;
        this.store.update(REPLICA_SET, next);
        if (had !== want) {
          this.deploymentEvents?.record(
            deployment,
            'Normal',
            'ScalingReplicaSet',
            `Scaled ${want > had ? 'up' : 'down'} replica set ${rs.metadata.name} from ${had} to ${want}`,
          );
        }
      }
    }
    const shownRevision = annotations[REVISION];
    if (deployment.metadata.annotations?.[REVISION] !== shownRevision) {
      const next = {
        ...deployment,
        metadata: {
          ...deployment.metadata,
          annotations: { ...deployment.metadata.annotations, [REVISION]: shownRevision },
        },
      };
      delete next.metadata.resourceVersion;
      deployment = this.store.update(DEPLOYMENT, next);
    }
    const totals = this.owned(REPLICA_SET, deployment).map(
      (rs) => rs.status as { replicas?: number; readyReplicas?: number } | undefined,
    );
    const replicas = totals.reduce((sum, s) => sum + (s?.replicas ?? 0), 0);
    const ready = totals.reduce((sum, s) => sum + (s?.readyReplicas ?? 0), 0);
    const updated =
      (
        this.store.get(REPLICA_SET, current.metadata.namespace, current.metadata.name)?.status as
          { replicas?: number } | undefined
      )?.replicas ?? 0;
    const available = ready >= desired;
    this.writeStatus(DEPLOYMENT, deployment, {
      observedGeneration: deployment.metadata.generation,
      ...omitZero({
        replicas,
        updatedReplicas: updated,
        readyReplicas: ready,
        availableReplicas: ready,
        unavailableReplicas: replicas - ready,
      }),
      terminatingReplicas: 0,
      conditions: mergeConditions((deployment.status as { conditions?: unknown } | undefined)?.conditions, [
        {
          ...deploymentCondition('Available', available ? 'True' : 'False'),
          reason: available ? 'MinimumReplicasAvailable' : 'MinimumReplicasUnavailable',
          message: available
            ? 'Deployment has minimum availability.'
            : 'Deployment does not have minimum availability.',
        },
        {
          ...deploymentCondition('Progressing', 'True'),
          reason: 'NewReplicaSetAvailable',
          message: `ReplicaSet "${current.metadata.name}" has successfully progressed.`,
        },
      ]),
    });
  }

  private reconcileReplicaSet(rs: K8sObject): void {
    const spec = rs.spec as { replicas?: number; template: PodTemplate };
    const desired = spec.replicas ?? 1;
    const pods = this.owned(POD, rs).filter(isLive);
    for (let i = pods.length; i < desired; i += 1) {
      const pod = this.createPod(rs, spec.template);
      this.replicaSetEvents?.record(rs, 'Normal', 'SuccessfulCreate', `Created pod: ${pod.metadata.name}`);
    }
    for (const extra of pods.slice(desired).reverse()) {
      this.store.remove(POD, extra.metadata.namespace, extra.metadata.name);
      this.replicaSetEvents?.record(rs, 'Normal', 'SuccessfulDelete', `Deleted pod: ${extra.metadata.name}`);
    }
    const live = this.owned(POD, rs).filter(isLive);
    const ready = live.filter(isReady).length;
    this.writeStatus(REPLICA_SET, rs, {
      replicas: live.length,
      ...omitZero({ fullyLabeledReplicas: live.length, readyReplicas: ready, availableReplicas: ready }),
      observedGeneration: rs.metadata.generation,
      terminatingReplicas: 0,
    });
  }

  /**
   * The disruption controller: how many of the budget's pods are healthy, how many must stay, so
   * how many may be disrupted now (matchLabels selectors; the pods' controllers give the expected count).
   */
  private reconcileDisruptionBudget(pdb: K8sObject): void {
    const spec = (pdb.spec ?? {}) as DisruptionBudgetSpec;
    const pods = this.store.list(
      POD,
      pdb.metadata.namespace,
      (pod) => isLive(pod) && budgetSelects(pdb, pod.metadata.labels ?? {}),
    );
    const expected = pods.filter((pod) => controllerOf(pod)).length;
    const healthy = pods.filter(isReady).length;
    const count = (value: number | string, of: number, round: (n: number) => number) =>
      typeof value === 'number' ? value : round((of * Number.parseInt(value, 10)) / 100);
    const desired =
      spec.minAvailable !== undefined
        ? count(spec.minAvailable, expected, Math.ceil)
        : Math.max(0, expected - count(spec.maxUnavailable ?? 0, expected, Math.ceil));
    const allowed = Math.max(0, healthy - desired);
    const previous = (pdb.status ?? {}) as { conditions?: unknown };
    this.writeStatus(PDB, pdb, {
      disruptionsAllowed: allowed,
      currentHealthy: healthy,
      desiredHealthy: desired,
      expectedPods: expected,
      observedGeneration: pdb.metadata.generation,
      conditions: mergeConditions(previous.conditions, [
        {
          type: 'DisruptionAllowed',
          status: allowed > 0 ? 'True' : 'False',
          reason: allowed > 0 ? 'SufficientPods' : 'InsufficientPods',
          message: '',
          observedGeneration: pdb.metadata.generation,
          lastTransitionTime: k8sNow(),
        },
      ]),
    });
  }

  private reconcileJob(job: K8sObject): void {
    const template = (job.spec as { template: PodTemplate }).template;
    const pods = this.owned(POD, job);
    if (pods.length === 0) {
      const pod = this.createPod(job, template, {
        'job-name': job.metadata.name,
        'batch.kubernetes.io/job-name': job.metadata.name,
      });
      this.jobEvents?.record(job, 'Normal', 'SuccessfulCreate', `Created pod: ${pod.metadata.name}`);
      return;
    }
    const succeeded = pods.filter((p) => phaseOf(p) === 'Succeeded').length;
    const failed = pods.filter((p) => phaseOf(p) === 'Failed').length;
    const active = pods.filter(isLive).length;
    const previous = (job.status ?? {}) as {
      startTime?: string;
      completionTime?: string;
      conditions?: unknown;
    };
    const done = succeeded > 0;
    this.writeStatus(JOB, job, {
      startTime: previous.startTime ?? k8sNow(),
      active,
      succeeded,
      failed,
      ready: pods.filter(isReady).length,
      ...(done
        ? {
            completionTime: previous.completionTime ?? k8sNow(),
            conditions: mergeConditions(previous.conditions, [
              { ...condition('SuccessCriteriaMet', 'True'), reason: 'CompletionsReached' },
              { ...condition('Complete', 'True'), reason: 'CompletionsReached' },
            ]),
          }
        : {}),
    });
  }

  /** A pod of the owner's template, named and defaulted as the API server does for a controller. */
  private createPod(
    owner: K8sObject,
    template: PodTemplate,
    extraLabels: Record<string, string> = {},
  ): K8sObject {
    let name = generatedName(owner.metadata.name);
    while (this.store.get(POD, owner.metadata.namespace, name)) {
      name = generatedName(owner.metadata.name);
    }
    const pod = admit(
      applyDefaults({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {
          name,
          generateName: `${owner.metadata.name}-`,
          namespace: owner.metadata.namespace,
          labels: { ...template.metadata?.labels, ...extraLabels },
          ...(template.metadata?.annotations ? { annotations: template.metadata.annotations } : {}),
          ownerReferences: [ownerRef(owner)],
        },
        spec: structuredClone(template.spec),
      }),
    );
    return this.store.create(POD, { ...pod, status: initialPodStatus(pod) });
  }
}

interface DisruptionBudgetSpec {
  selector?: { matchLabels?: Record<string, string> };
  minAvailable?: number | string;
  maxUnavailable?: number | string;
}

/** Whether a budget's selector (matchLabels) selects these labels. */
function budgetSelects(pdb: K8sObject, labels: Record<string, string>): boolean {
  const wanted = ((pdb.spec ?? {}) as DisruptionBudgetSpec).selector?.matchLabels ?? {};
  return Object.entries(wanted).every(([key, value]) => labels[key] === value);
}

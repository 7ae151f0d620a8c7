/**
 * A kube-scheduler for the simulated cluster: binds pending pods to nodes that are Ready and
 * schedulable, match `nodeSelector` and required node affinity, whose taints the pod tolerates and
 * whose free cpu, memory, pods and extended resources (GPUs) cover the pod's requests. Among the
 * nodes that fit it packs (most-allocated GPUs first, as GPU clusters configure it), keeping whole
 * nodes free for large requests. A pod that fits nowhere stays Pending with `PodScheduled=False`
 * and one `FailedScheduling` event, and is retried when capacity changes.
 */
import { k8sNow } from './time';
import type { EventRecorder } from './events';
import { parseCpuMillis, parseQuantity } from '../infra/kubernetes/quantity';
import { RESOURCE_TYPES } from './resources';
import { safely, type K8sObject, type ObjectStore, type StoreEvent } from './store';

const POD = RESOURCE_TYPES.find((t) => t.kind === 'Pod')!;

type Resources = Map<string, number>; // 'cpu' in millicores, 'memory' in bytes, 'pods', extended resources

interface NodeInfo {
  name: string;
  labels: Record<string, string>;
  taints: { key: string; value?: string; effect: string }[];
  ready: boolean;
  unschedulable: boolean;
  allocatable: Resources;
  used: Resources;
}

interface Toleration {
  key?: string;
  operator?: 'Exists' | 'Equal';
  value?: string;
  effect?: string;
}

interface SelectorRequirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist' | 'Gt' | 'Lt';
  values?: string[];
}

interface PodSpec {
  nodeName?: string;
  nodeSelector?: Record<string, string>;
  tolerations?: Toleration[];
  affinity?: {
    nodeAffinity?: {
      requiredDuringSchedulingIgnoredDuringExecution?: {
        nodeSelectorTerms: {
          matchExpressions?: SelectorRequirement[];
          matchFields?: SelectorRequirement[];
        }[];
      };
    };
  };
  containers: { resources?: { requests?: Record<string, string>; limits?: Record<string, string> } }[];
}

const key = (pod: K8sObject) => `${pod.metadata.namespace}/${pod.metadata.name}`;
const isTerminal = (pod: K8sObject) =>
  ['Succeeded', 'Failed'].includes((pod.status as { phase?: string } | undefined)?.phase ?? '');
const amount = (name: string, value: string | undefined) =>
  name === 'cpu' ? parseCpuMillis(value) : parseQuantity(value);

/** What a pod asks for: per container, requests, falling back to limits (as Kubernetes defaults them). */
export function podRequests(pod: K8sObject): Resources {
  const total: Resources = new Map([['pods', 1]]);
  for (const container of (pod.spec as PodSpec).containers ?? []) {
    const requests = { ...container.resources?.limits, ...container.resources?.requests };
    for (const [name, value] of Object.entries(requests)) {
      total.set(name, (total.get(name) ?? 0) + amount(name, value));
    }
  }
  return total;
}

function tolerates(tolerations: Toleration[], taint: NodeInfo['taints'][number]): boolean {
  return tolerations.some(
    (t) =>
      (t.key === undefined || t.key === '' ? t.operator === 'Exists' : t.key === taint.key) &&
      (t.operator === 'Exists' || (t.value ?? '') === (taint.value ?? '')) &&
      (!t.effect || t.effect === taint.effect),
  );
}

function requirementMatches(requirement: SelectorRequirement, value: string | undefined): boolean {
  const values = requirement.values ?? [];
  switch (requirement.operator) {
    case 'In':
      return value !== undefined && values.includes(value);
    case 'NotIn':
      return value === undefined || !values.includes(value);
    case 'Exists':
      return value !== undefined;
    case 'DoesNotExist':
      return value === undefined;
    case 'Gt':
      return value !== undefined && Number(value) > Number(values[0]);
    case 'Lt':
      return value !== undefined && Number(value) < Number(values[0]);
  }
}

function affinityMatches(spec: PodSpec, node: NodeInfo): boolean {
  if (Object.entries(spec.nodeSelector ?? {}).some(([k, v]) => node.labels[k] !== v)) {
    return false;
  }
  const terms =
    spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  if (!terms || terms.length === 0) {
    return true;
  }
  return terms.some(
    (term) =>
      (term.matchExpressions ?? []).every((r) => requirementMatches(r, node.labels[r.key])) &&
      (term.matchFields ?? []).every((r) =>
        requirementMatches(r, r.key === 'metadata.name' ? node.name : undefined),
      ),
  );
}

function nodeInfo(node: K8sObject): NodeInfo {
  const status = node.status as
    { allocatable?: Record<string, string>; conditions?: { type: string; status: string }[] } | undefined;
  const spec = node.spec as { taints?: NodeInfo['taints']; unschedulable?: boolean } | undefined;
  return {
    name: node.metadata.name,
    labels: node.metadata.labels ?? {},
    taints: spec?.taints ?? [],
    ready: status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
    unschedulable: spec?.unschedulable === true,
    allocatable: new Map(
      Object.entries(status?.allocatable ?? {}).map(([name, value]) => [name, amount(name, value)]),
    ),
    used: new Map(),
  };
}

export class Scheduler {
  private readonly nodes = new Map<string, NodeInfo>();
  /** Bound, non-terminal pods and what they hold, so node usage is kept incrementally. */
  private readonly bound = new Map<string, { node: string; requests: Resources }>();
  /** Pods waiting for a node, with what they ask for (so a retry costs no store read). */
  private readonly waiting = new Map<string, { spec: PodSpec; requests: Resources }>();
  private readonly active = new Set<string>();
  private readonly parked = new Map<string, string>(); // unschedulable pod → last failure message
  private passQueued = false;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly store: ObjectStore,
    private readonly events: EventRecorder,
  ) {
    this.unsubscribe = store.subscribe((event) => this.observe(event));
  }

  stop(): void {
    this.unsubscribe();
  }

  private observe(event: StoreEvent): void {
    if (event.resource.kind === 'Node') {
      if (event.type === 'DELETED') {
        this.nodes.delete(event.object.metadata.name);
      } else {
        const info = nodeInfo(event.object);
        info.used = this.nodes.get(info.name)?.used ?? new Map<string, number>();
        this.nodes.set(info.name, info);
      }
      this.retryParked();
      return;
    }
    if (event.resource !== POD) {
      return;
    }
    const pod = event.object;
    const id = key(pod);
    const gone = event.type === 'DELETED' || isTerminal(pod) || pod.metadata.deletionTimestamp !== undefined;
    const nodeName = (pod.spec as PodSpec).nodeName;
    if (gone) {
      this.waiting.delete(id);
      this.active.delete(id);
      this.parked.delete(id);
      if (this.release(id)) {
        this.retryParked();
      }
      return;
    }
    if (nodeName) {
      this.waiting.delete(id);
      this.active.delete(id);
      this.parked.delete(id);
      if (!this.bound.has(id)) {
        this.hold(id, nodeName, podRequests(pod));
      }
      return;
    }
    this.waiting.set(id, { spec: pod.spec as PodSpec, requests: podRequests(pod) });
    if (!this.parked.has(id)) {
      this.active.add(id);
      this.queuePass();
    }
  }

  private hold(id: string, node: string, requests: Resources): void {
    this.bound.set(id, { node, requests });
    const used = this.nodes.get(node)?.used;
    if (used) {
      for (const [name, value] of requests) {
        used.set(name, (used.get(name) ?? 0) + value);
      }
    }
  }

  private release(id: string): boolean {
    const held = this.bound.get(id);
    if (!held) {
      return false;
    }
    this.bound.delete(id);
    const used = this.nodes.get(held.node)?.used;
    for (const [name, value] of held.requests) {
      used?.set(name, (used.get(name) ?? 0) - value);
    }
    return true;
  }

  private retryParked(): void {
    if (this.parked.size > 0) {
      this.parked.forEach((_message, id) => this.active.add(id));
      this.queuePass();
    }
  }

  private queuePass(): void {
    if (!this.passQueued) {
      this.passQueued = true;
      setImmediate(() => safely(() => this.pass()));
    }
  }

  private pass(): void {
    this.passQueued = false;
    const queue = [...this.active];
    this.active.clear();
    let headroom = this.headroom();
    for (const id of queue) {
      const waiting = this.waiting.get(id);
      if (!waiting) {
        continue;
      }
      // A parked pod asking for more of something than any node has free cannot fit: skip the
      // per-node scan (it keeps its last message), so a full cluster retries thousands cheaply.
      if (
        this.parked.has(id) &&
        [...waiting.requests].some(([name, value]) => value > (headroom.get(name) ?? 0))
      ) {
        continue;
      }
      if (this.schedule(id, waiting.spec, waiting.requests)) {
        headroom = this.headroom();
      }
    }
  }

  /** The most of each resource free on any node that takes pods. */
  private headroom(): Resources {
    const most: Resources = new Map();
    for (const node of this.nodes.values()) {
      if (!node.ready || node.unschedulable) {
        continue;
      }
      for (const [name, total] of node.allocatable) {
        most.set(name, Math.max(most.get(name) ?? 0, total - (node.used.get(name) ?? 0)));
      }
    }
    return most;
  }

  /** Binds the pod to the best node, or reports why none fits; true when it was bound. */
  private schedule(id: string, spec: PodSpec, requests: Resources): boolean {
    const reasons = new Map<string, number>();
    const fail = (reason: string) => reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
    // Per node, whether preemption could make room (kube-scheduler's Unschedulable) or not
    // (UnschedulableAndUnresolvable): only too little free room can be helped.
    let resolvable = 0;
    let best: { node: NodeInfo; score: [gpus: number, cpu: number] } | undefined;
    for (const node of this.nodes.values()) {
      // The default profile's filters, in its order; the first that fails speaks for the node.
      if (node.unschedulable) {
        fail('node(s) were unschedulable');
        continue;
      }
      if (!node.ready) {
        fail('node(s) had untolerated taint {node.kubernetes.io/not-ready: }');
        continue;
      }
      const taint = node.taints.find(
        (t) => t.effect !== 'PreferNoSchedule' && !tolerates(spec.tolerations ?? [], t),
      );
      if (taint) {
        fail(`node(s) had untolerated taint {${taint.key}: ${taint.value ?? ''}}`);
        continue;
      }
      if (!affinityMatches(spec, node)) {
        fail("node(s) didn't match Pod's node affinity/selector");
        continue;
      }
      // NodeResourcesFit names every resource short on the node.
      const short = [...requests].filter(
        ([name, value]) => value > (node.allocatable.get(name) ?? 0) - (node.used.get(name) ?? 0),
      );
      if (short.length > 0) {
        short.forEach(([name]) => fail(name === 'pods' ? 'Too many pods' : `Insufficient ${name}`));
        if (short.every(([name, value]) => value <= (node.allocatable.get(name) ?? 0))) {
          resolvable += 1;
        }
        continue;
      }
      const free = (name: string) =>
        (node.allocatable.get(name) ?? 0) - (node.used.get(name) ?? 0) - (requests.get(name) ?? 0);
      const gpuFree = [...node.allocatable.keys()]
        .filter((n) => n.endsWith('/gpu'))
        .reduce((sum, n) => sum + free(n), 0);
      const score: [gpus: number, cpu: number] = [-gpuFree, -free('cpu')];
      if (!best || score[0] > best.score[0] || (score[0] === best.score[0] && score[1] > best.score[1])) {
        best = { node, score };
      }
    }
    const [namespace, name = ''] = id.split('/');
    const pod = this.store.get(POD, namespace, name);
    if (!pod || (pod.spec as PodSpec).nodeName || pod.metadata.deletionTimestamp || isTerminal(pod)) {
      this.waiting.delete(id);
      return false;
    }
    if (best) {
      this.bind(pod, best.node, requests, id);
      return true;
    }
    this.reportUnschedulable(pod, id, reasons, resolvable);
    return false;
  }

  private bind(pod: K8sObject, node: NodeInfo, requests: Resources, id: string): void {
    pod.spec = { ...(pod.spec as object), nodeName: node.name };
    // The binding copies the node's topology labels onto the pod (PodTopologyLabels admission).
    const topology = Object.entries(node.labels).filter(([key]) => TOPOLOGY_LABELS.includes(key));
    if (topology.length > 0) {
      pod.metadata.labels = { ...pod.metadata.labels, ...Object.fromEntries(topology) };
    }
    const status = (pod.status ?? {}) as { conditions?: { type: string }[] };
    pod.status = {
      ...status,
      conditions: [
        ...(status.conditions ?? []).filter((c) => c.type !== 'PodScheduled'),
        condition('PodScheduled', 'True'),
      ],
    };
    delete pod.metadata.resourceVersion;
    this.hold(id, node.name, requests);
    // A binding is its own subresource: the pod's generation stays.
    const bound = this.store.update(POD, pod, { keepGeneration: true });
    this.events.recordAction(
      bound,
      'Normal',
      'Scheduled',
      'Binding',
      `Successfully assigned ${id} to ${node.name}`,
    );
  }

  private reportUnschedulable(
    pod: K8sObject,
    id: string,
    reasons: Map<string, number>,
    resolvable: number,
  ): void {
    const message = unschedulableMessage(this.nodes.size, reasons, resolvable);
    const previous = this.parked.get(id);
    this.parked.set(id, message);
    if (previous === message) {
      return; // already reported: no event storm while it waits
    }
    const status = (pod.status ?? {}) as { conditions?: { type: string }[] };
    pod.status = {
      ...status,
      phase: 'Pending',
      conditions: [
        ...(status.conditions ?? []).filter((c) => c.type !== 'PodScheduled'),
        {
          ...condition('PodScheduled', 'False'),
          observedGeneration: pod.metadata.generation,
          reason: 'Unschedulable',
          message,
        },
      ],
    };
    delete pod.metadata.resourceVersion;
    const updated = this.store.update(POD, pod);
    this.events.recordAction(updated, 'Warning', 'FailedScheduling', 'Scheduling', message);
  }
}

/** Labels a pod takes from the node it is bound to. */
const TOPOLOGY_LABELS = ['topology.kubernetes.io/zone', 'topology.kubernetes.io/region'];

/** `count reason` strings sorted as strings, as kube-scheduler's histogram prints them. */
function histogram(reasons: Map<string, number>): string {
  return [...reasons]
    .map(([reason, count]) => `${count} ${reason}`)
    .sort()
    .join(', ');
}

/**
 * kube-scheduler's FitError: why each node was filtered out, then what preemption found (nodes
 * only short of room could be helped by evicting lower-priority pods; the simulator has none).
 */
export function unschedulableMessage(
  nodes: number,
  reasons: Map<string, number>,
  resolvable: number,
): string {
  const filtered = `0/${nodes} nodes are available${reasons.size > 0 ? `: ${histogram(reasons)}` : ''}.`;
  const preemption = new Map<string, number>();
  if (nodes - resolvable > 0) {
    preemption.set('Preemption is not helpful for scheduling', nodes - resolvable);
  }
  if (resolvable > 0) {
    preemption.set('No preemption victims found for incoming pod', resolvable);
  }
  return `${filtered} preemption: 0/${nodes} nodes are available: ${histogram(preemption)}.`;
}

export function condition(type: string, status: 'True' | 'False' | 'Unknown'): Record<string, unknown> {
  return {
    type,
    status,
    lastProbeTime: null,
    lastTransitionTime: k8sNow(),
  };
}

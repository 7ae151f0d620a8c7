/**
 * The kubelets of every simulated node: a pod bound to a node starts (Running) and becomes Ready
 * after the configured delays; an image matching the failure pattern stays Pending in
 * ErrImagePull; a Job's pod succeeds after it has run; pods on a node that goes NotReady fail.
 */
import { ControllerTimers, k8sNow } from './time';
import type { SimulatorFaults, SimulatorTimings } from './config';
import type { EventRecorder } from './events';
import { RESOURCE_TYPES } from './resources';
import { condition } from './scheduler';
import { safely, type K8sObject, type ObjectStore, type StoreEvent } from './store';

const POD = RESOURCE_TYPES.find((t) => t.kind === 'Pod')!;

interface Container {
  name: string;
  image: string;
}

export class Kubelets {
  private readonly started = new Set<string>();
  /** Node name → its InternalIP (a pod's `status.hostIP`), kept from the nodes' events. */
  private readonly nodeIPs = new Map<string, string>();
  private readonly timers = new ControllerTimers(safely);
  private readonly unsubscribe: () => void;

  constructor(
    private readonly store: ObjectStore,
    private readonly events: EventRecorder,
    private readonly timings: SimulatorTimings,
    /** Read at each pod start, so faults can be injected while the cluster runs. */
    private readonly faults: () => SimulatorFaults,
  ) {
    this.unsubscribe = store.subscribe((event) => this.observe(event));
  }

  stop(): void {
    this.unsubscribe();
    this.timers.clear();
  }

  /** Lines a container "printed", for `kubectl logs`. */
  logs(pod: K8sObject, container: string | undefined): string[] {
    const containers = (pod.spec as { containers: Container[]; nodeName?: string }).containers;
    const chosen = containers.find((c) => c.name === container) ?? containers[0];
    const node = (pod.spec as { nodeName?: string }).nodeName ?? '<unscheduled>';
    const phase = (pod.status as { phase?: string } | undefined)?.phase ?? 'Pending';
    return [
      `[odc-sim] pod ${pod.metadata.namespace}/${pod.metadata.name} container ${chosen?.name} image ${chosen?.image}`,
      `[odc-sim] node ${node}, phase ${phase}`,
      '[odc-sim] this is a simulated container: it prints these lines and idles',
    ];
  }

  private observe(event: StoreEvent): void {
    if (event.resource.kind === 'Node') {
      this.recordAddress(event);
    }
    if (event.resource.kind === 'Node' && event.type !== 'DELETED') {
      const ready = (
        event.object.status as { conditions?: { type: string; status: string }[] } | undefined
      )?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
      if (!ready) {
        this.failPodsOn(event.object.metadata.name);
      }
      return;
    }
    if (event.resource !== POD) {
      return;
    }
    const id = `${event.object.metadata.namespace}/${event.object.metadata.name}/${event.object.metadata.uid}`;
    if (event.type === 'DELETED') {
      this.started.delete(id);
      return;
    }
    const nodeName = (event.object.spec as { nodeName?: string }).nodeName;
    if (nodeName && !this.started.has(id) && !event.object.metadata.deletionTimestamp) {
      this.started.add(id);
      this.timers.after(this.timings.startMs, () => this.start(event.object));
    }
  }

  private recordAddress(event: StoreEvent): void {
    const name = event.object.metadata.name;
    const addresses = (event.object.status as { addresses?: { type: string; address: string }[] } | undefined)
      ?.addresses;
    const internal = Array.isArray(addresses)
      ? addresses.find((a) => a.type === 'InternalIP')?.address
      : undefined;
    if (event.type === 'DELETED' || !internal) {
      this.nodeIPs.delete(name);
    } else {
      this.nodeIPs.set(name, internal);
    }
  }

  /** Re-reads the pod and writes its status, unless it is gone (deleted meanwhile). */
  private updateStatus(
    pod: K8sObject,
    change: (status: Record<string, unknown>, current: K8sObject) => void,
  ): K8sObject | undefined {
    const current = this.store.get(POD, pod.metadata.namespace, pod.metadata.name);
    if (!current || current.metadata.uid !== pod.metadata.uid || current.metadata.deletionTimestamp) {
      return undefined;
    }
    const status = { ...((current.status as Record<string, unknown>) ?? {}) };
    change(status, current);
    current.status = status;
    delete current.metadata.resourceVersion;
    return this.store.update(POD, current);
  }

  private start(pod: K8sObject): void {
    const containers = (pod.spec as { containers: Container[] }).containers;
    const pattern = this.faults().imagePullFailure;
    const failing = pattern ? containers.find((c) => new RegExp(pattern).test(c.image)) : undefined;
    if (failing) {
      const updated = this.updateStatus(pod, (status) => {
        status.phase = 'Pending';
        status.containerStatuses = containers.map((c) => ({
          name: c.name,
          image: c.image,
          imageID: '',
          ready: false,
          restartCount: 0,
          started: false,
          state: {
            waiting: {
              reason: 'ErrImagePull',
              message: `failed to pull image "${c.image}": simulated pull failure`,
            },
          },
        }));
      });
      if (updated) {
        this.events.record(
          updated,
          'Warning',
          'Failed',
          `Failed to pull image "${failing.image}": simulated pull failure`,
        );
      }
      return;
    }
    const started = this.updateStatus(pod, (status, current) => {
      status.phase = 'Running';
      status.startTime = k8sNow();
      const hostIP = this.nodeIPs.get((current.spec as { nodeName?: string }).nodeName ?? '');
      if (hostIP) {
        status.hostIP = hostIP;
        status.hostIPs = [{ ip: hostIP }];
      }
      status.podIP = `10.244.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250) + 2}`;
      status.podIPs = [{ ip: status.podIP }];
      status.conditions = withCondition(status.conditions, condition('Initialized', 'True'));
      status.containerStatuses = (current.spec as { containers: Container[] }).containers.map((c) => ({
        name: c.name,
        image: c.image,
        imageID: `sim://${c.image}`,
        ready: false,
        restartCount: 0,
        started: true,
        state: { running: { startedAt: k8sNow() } },
      }));
    });
    if (!started) {
      return;
    }
    this.events.record(started, 'Normal', 'Started', 'Started container(s)');
    this.timers.after(this.timings.readyMs, () => this.ready(started));
  }

  private ready(pod: K8sObject): void {
    const updated = this.updateStatus(pod, (status) => {
      status.conditions = withCondition(
        withCondition(status.conditions, condition('ContainersReady', 'True')),
        condition('Ready', 'True'),
      );
      status.containerStatuses = (status.containerStatuses as Record<string, unknown>[]).map((c) => ({
        ...c,
        ready: true,
      }));
    });
    const ownerKind = updated?.metadata.ownerReferences?.find((ref) => ref.controller)?.kind;
    if (updated && ownerKind === 'Job') {
      this.timers.after(this.timings.jobRunMs, () => this.complete(updated));
    }
  }

  private complete(pod: K8sObject): void {
    this.updateStatus(pod, (status) => {
      status.phase = 'Succeeded';
      status.conditions = withCondition(status.conditions, condition('Ready', 'False'));
      status.containerStatuses = ((status.containerStatuses ?? []) as Record<string, unknown>[]).map((c) => ({
        ...c,
        ready: false,
        started: false,
        state: {
          terminated: { exitCode: 0, reason: 'Completed', startedAt: k8sNow(), finishedAt: k8sNow() },
        },
      }));
    });
  }

  private failPodsOn(node: string): void {
    for (const pod of this.store.list(
      POD,
      undefined,
      (p) => (p.spec as { nodeName?: string }).nodeName === node,
    )) {
      const phase = (pod.status as { phase?: string } | undefined)?.phase;
      if (phase === 'Succeeded' || phase === 'Failed') {
        continue;
      }
      const updated = this.updateStatus(pod, (status) => {
        status.phase = 'Failed';
        status.reason = 'NodeLost';
        status.message = `Node ${node} which was running pod ${pod.metadata.name} is unresponsive`;
        status.conditions = withCondition(status.conditions, condition('Ready', 'False'));
      });
      if (updated) {
        this.events.record(updated, 'Warning', 'NodeNotReady', `Node ${node} is not ready`);
      }
    }
  }
}

export function withCondition(conditions: unknown, next: Record<string, unknown>): Record<string, unknown>[] {
  const list = (Array.isArray(conditions) ? conditions : []) as Record<string, unknown>[];
  return [...list.filter((c) => c.type !== next.type), next];
}

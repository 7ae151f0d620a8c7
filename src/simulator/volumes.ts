/**
 * Storage in the simulated cluster, as the PV controller, the external provisioner, the
 * pvc-protection controller, snapshot-controller and the CSI snapshotter of a real one behave: a
 * PVC binds (a PV is provisioned for it) when its StorageClass exists, after the configured delay;
 * a PVC restored from a VolumeSnapshot waits until the snapshot is ready, and is refused when it
 * asks for less than the snapshot's size; a claim that names its volume (a static PV) binds to it
 * once it exists. A bound claim's `Unused` condition follows the pods that use it; a deleted
 * claim's volume goes (`Delete`) or is `Released` (`Retain`). A VolumeSnapshot of a bound PVC gets
 * the default class and is cut into a VolumeSnapshotContent whose handle goes into the storage
 * backend; until its claim is bound it carries the controller's error. One that names a
 * pre-provisioned content is bound to it when the content's handle is in the backend (an import of
 * a snapshot another cluster cut); deleting a snapshot takes its content along under the content's
 * `Delete` policy (and the handle leaves the backend), not under `Retain`. Each writes the events
 * its real counterpart writes, once per message (a real controller repeats them on every retry).
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { SIMULATED_CSI_DRIVER } from './csi-driver';
import { ControllerTimers, k8sNow } from './time';
import type { SimulatorTimings } from './config';
import type { EventRecorder } from './events';
import { parseQuantity } from '../infra/kubernetes/quantity';
import { bytesQuantity } from './quantity';
import { RESOURCE_TYPES, type ResourceType } from './resources';
import type { StorageBackend } from './storage-backend';
import { safely, type K8sObject, type ObjectStore, type StoreEvent } from './store';

const typeOf = (kind: string): ResourceType => RESOURCE_TYPES.find((t) => t.kind === kind)!;
const POD = typeOf('Pod');
const PVC = typeOf('PersistentVolumeClaim');
const PV = typeOf('PersistentVolume');
const STORAGE_CLASS = typeOf('StorageClass');
const SNAPSHOT = typeOf('VolumeSnapshot');
const SNAPSHOT_CONTENT = typeOf('VolumeSnapshotContent');
const SNAPSHOT_CLASS = typeOf('VolumeSnapshotClass');
const DEFAULT_DRIVER = SIMULATED_CSI_DRIVER;
const WATCHED = new Set([POD, PVC, PV, STORAGE_CLASS, SNAPSHOT, SNAPSHOT_CONTENT]);

/** snapshot-controller's finalizers: a snapshot a pending restore uses is not deleted until it is bound. */
const AS_SOURCE = 'snapshot.storage.kubernetes.io/volumesnapshot-as-source-protection';
const BOUND_CONTENT = 'snapshot.storage.kubernetes.io/volumesnapshot-bound-protection';

interface ClaimSpec {
  storageClassName?: string;
  volumeMode?: string;
  accessModes?: string[];
  resources?: { requests?: { storage?: string } };
  dataSource?: { kind: string; name: string; apiGroup?: string };
  volumeName?: string;
}

interface Condition {
  type: string;
  status: string;
  lastProbeTime: null;
  lastTransitionTime: string;
  reason: string;
  message: string;
}

interface ClaimStatus {
  phase?: string;
  accessModes?: string[];
  capacity?: { storage?: string };
  conditions?: Condition[];
}

interface VolumeSpec {
  capacity?: { storage?: string };
  accessModes?: string[];
  claimRef?: { name?: string; namespace?: string; uid?: string };
  persistentVolumeReclaimPolicy?: string;
  volumeMode?: string;
  csi?: { driver?: string; volumeHandle?: string };
}

interface SnapshotSpec {
  source?: { persistentVolumeClaimName?: string; volumeSnapshotContentName?: string };
  volumeSnapshotClassName?: string;
}

interface SnapshotStatus {
  readyToUse?: boolean;
  error?: { message?: string };
  boundVolumeSnapshotContentName?: string;
  restoreSize?: string;
}

interface ContentSpec {
  driver?: string;
  deletionPolicy?: string;
  source?: { snapshotHandle?: string; volumeHandle?: string };
  volumeSnapshotRef?: { name?: string; namespace?: string; uid?: string };
}

const claimSpec = (claim: K8sObject) => (claim.spec ?? {}) as ClaimSpec;
const claimStatus = (claim: K8sObject) => (claim.status ?? {}) as ClaimStatus;
const isBound = (claim: K8sObject) => claimStatus(claim).phase === 'Bound';
const snapshotSpec = (snapshot: K8sObject) => (snapshot.spec ?? {}) as SnapshotSpec;
const snapshotStatus = (snapshot: K8sObject) => (snapshot.status ?? {}) as SnapshotStatus;
const contentSpec = (content: K8sObject) => (content.spec ?? {}) as ContentSpec;

/** The pre-provisioned content a snapshot imports, when it is an import. */
const importedContentOf = (snapshot: K8sObject) => snapshotSpec(snapshot).source?.volumeSnapshotContentName;

/** The content a snapshot is bound to, or (not bound yet) the one it imports. */
const contentNameOf = (snapshot: K8sObject) =>
  snapshotStatus(snapshot).boundVolumeSnapshotContentName ?? importedContentOf(snapshot);

/** A content is a snapshot's when its `volumeSnapshotRef` names it (and its uid, once bound). */
function refersTo(content: K8sObject, snapshot: K8sObject): boolean {
  const ref = contentSpec(content).volumeSnapshotRef;
  return (
    ref?.name === snapshot.metadata.name &&
    ref?.namespace === snapshot.metadata.namespace &&
    (ref?.uid === undefined || ref.uid === snapshot.metadata.uid)
  );
}

/** VolumeSnapshotContent's status times are Unix nanoseconds, not RFC 3339. */
const nanoseconds = (time: string) => Date.parse(time) * 1_000_000;

/** How a controller refers to an object it binds (`ref.GetReference`: with its resourceVersion). */
function referenceTo(object: K8sObject): Record<string, unknown> {
  return {
    apiVersion: object.apiVersion,
    kind: object.kind,
    name: object.metadata.name,
    namespace: object.metadata.namespace,
    uid: object.metadata.uid,
    ...(object.metadata.resourceVersion ? { resourceVersion: object.metadata.resourceVersion } : {}),
  };
}

/** The claims a pod's volumes name. */
function claimsOf(pod: K8sObject): string[] {
  const volumes = (pod.spec as { volumes?: { persistentVolumeClaim?: { claimName?: string } }[] } | undefined)
    ?.volumes;
  return (volumes ?? []).flatMap((v) =>
    v.persistentVolumeClaim?.claimName ? [v.persistentVolumeClaim.claimName] : [],
  );
}

const terminated = (pod: K8sObject) =>
  ['Succeeded', 'Failed'].includes((pod.status as { phase?: string })?.phase ?? '');

/** The pvc-protection controller's `Unused` condition of a bound claim. */
function unusedCondition(used: boolean): Condition {
  return {
    type: 'Unused',
    status: used ? 'False' : 'True',
    lastProbeTime: null,
    lastTransitionTime: k8sNow(),
    reason: used ? 'PodUsingPVC' : 'NoPodsUsingPVC',
    message: used ? 'A pod is currently referencing this PVC' : 'No pods are currently referencing this PVC',
  };
}

/** Writes an object a controller changed (no resourceVersion precondition: the controller's view is the latest). */
function unconditional(object: K8sObject): K8sObject {
  delete object.metadata.resourceVersion;
  return object;
}

export class VolumeControllers {
  private readonly inFlight = new Set<string>();
  private readonly timers = new ControllerTimers(safely);
  private readonly unsubscribe: () => void;
  /** The messages each object's events have said (by uid): a real controller repeats them on each retry. */
  private readonly told = new Map<string, Set<string>>();
  private readonly queue: StoreEvent[] = [];
  private readonly provisioners = new Map<string, EventRecorder>();
  private readonly volumeController: EventRecorder;
  private readonly snapshotController: EventRecorder;

  constructor(
    private readonly store: ObjectStore,
    private readonly recorder: (component: string) => EventRecorder,
    private readonly timings: SimulatorTimings,
    private readonly backend: StorageBackend,
  ) {
    this.volumeController = recorder('persistentvolume-controller');
    this.snapshotController = recorder('snapshot-controller');
    this.unsubscribe = store.subscribe((event) => this.enqueue(event));
  }

  stop(): void {
    this.unsubscribe();
    this.timers.clear();
  }

  /**
   * What the store says is handled just after it (a batch per turn of the event loop), never inside
   * its notification: a write made there would reach later listeners (watches) before the change
   * that caused it. So every reaction reads what it changes from the store again.
   */
  private enqueue(event: StoreEvent): void {
    if (!WATCHED.has(event.resource) || (event.resource === POD && claimsOf(event.object).length === 0)) {
      return;
    }
    this.queue.push(event);
    if (this.queue.length === 1) {
      this.timers.after(0, () => {
        for (const queued of this.queue.splice(0)) {
          safely(() => this.observe(queued));
        }
      });
    }
  }

  private observe(event: StoreEvent): void {
    if (event.type === 'DELETED') {
      this.forget(event);
      return;
    }
    if (event.resource === POD) {
      for (const claim of claimsOf(event.object)) {
        this.updateUsage(event.object.metadata.namespace, claim);
      }
    } else if (event.resource === PVC) {
      this.considerClaim(event.object);
      for (const snapshot of this.store.list(SNAPSHOT, event.object.metadata.namespace)) {
        this.considerSnapshot(snapshot); // snapshots of this claim may wait for it to bind
      }
    } else if (event.resource === SNAPSHOT) {
      this.considerSnapshot(event.object);
      // claims restoring from this snapshot may proceed now (or be refused)
      for (const claim of this.store.list(PVC, event.object.metadata.namespace)) {
        if (claimSpec(claim).dataSource?.name === event.object.metadata.name) {
          this.considerClaim(claim);
        }
      }
    } else if (event.resource === SNAPSHOT_CONTENT) {
      // a snapshot that imports this content may bind now
      const name = event.object.metadata.name;
      for (const snapshot of this.store.list(SNAPSHOT, undefined, (s) => importedContentOf(s) === name)) {
        this.considerSnapshot(snapshot);
      }
    } else if (event.resource === STORAGE_CLASS) {
      for (const claim of this.store.list(PVC)) {
        this.considerClaim(claim);
      }
    } else if (event.resource === PV) {
      this.syncVolume(event.object);
      // a claim waiting for this volume by name may bind now
      for (const claim of this.store.list(PVC)) {
        if (claimSpec(claim).volumeName === event.object.metadata.name) {
          this.considerClaim(claim);
        }
      }
    }
  }

  /** Once per object: a claim or snapshot already waiting is not scheduled twice. */
  private later(id: string, ms: number, work: () => void): void {
    if (this.inFlight.has(id)) {
      return;
    }
    this.inFlight.add(id);
    this.timers.after(ms, () => {
      this.inFlight.delete(id);
      work();
    });
  }

  /** An event, unless this object's events said it already. */
  private tell(
    recorder: EventRecorder,
    object: K8sObject,
    type: 'Normal' | 'Warning',
    reason: string,
    message: string,
  ): void {
    const uid = object.metadata.uid!;
    const said = this.told.get(uid) ?? new Set<string>();
    const key = `${type}/${reason}/${message}`;
    if (said.has(key)) {
      return;
    }
    said.add(key);
    this.told.set(uid, said);
    recorder.record(object, type, reason, message);
  }

  /**
   * The external provisioner of a driver: its events' source is `<driver>_<host>_<uuid>`, as the
   * provisioner library names it.
   */
  private provisioner(driver: string): EventRecorder {
    let recorder = this.provisioners.get(driver);
    if (!recorder) {
      recorder = this.recorder(`${driver}_${hostname()}_${randomUUID()}`);
      this.provisioners.set(driver, recorder);
    }
    return recorder;
  }

  private storageClassFor(spec: ClaimSpec): K8sObject | undefined {
    if (spec.storageClassName) {
      return this.store.get(STORAGE_CLASS, undefined, spec.storageClassName);
    }
    return this.store
      .list(STORAGE_CLASS)
      .find((sc) => sc.metadata.annotations?.['storageclass.kubernetes.io/is-default-class'] === 'true');
  }

  private considerClaim(claim: K8sObject): void {
    const spec = claimSpec(claim);
    if (isBound(claim) || claim.metadata.deletionTimestamp) {
      return;
    }
    if (spec.volumeName) {
      // Static binding: the claim names its volume; it binds once that volume exists.
      if (this.store.get(PV, undefined, spec.volumeName)) {
        this.later(`pvc/${claim.metadata.uid}`, this.timings.pvcBindMs, () => this.bindStatic(claim));
      }
      return;
    }
    const storageClass = this.storageClassFor(spec);
    if (!storageClass) {
      // Stays Pending, as the PV controller words it.
      if (spec.storageClassName) {
        const message = `storageclass.storage.k8s.io "${spec.storageClassName}" not found`;
        this.tell(this.volumeController, claim, 'Warning', 'ProvisioningFailed', message);
      } else {
        const message = 'no persistent volumes available for this claim and no storage class is set';
        this.tell(this.volumeController, claim, 'Normal', 'FailedBinding', message);
      }
      return;
    }
    const driver = provisionerOf(storageClass);
    if (claim.metadata.annotations?.['volume.kubernetes.io/storage-provisioner'] !== driver) {
      // The PV controller names the provisioner on the claim first; the provisioner waits for it.
      const current = this.unboundClaim(claim);
      if (current) {
        current.metadata.annotations = {
          ...current.metadata.annotations,
          'volume.beta.kubernetes.io/storage-provisioner': driver,
          'volume.kubernetes.io/storage-provisioner': driver,
        };
        this.store.update(PVC, unconditional(current)); // and is considered again, annotated
      }
      return;
    }
    this.tell(
      this.volumeController,
      claim,
      'Normal',
      'ExternalProvisioning',
      `Waiting for a volume to be created either by the external provisioner '${driver}' or manually by the system administrator. If volume creation is delayed, please verify that the provisioner is running and correctly registered.`,
    );
    if (this.refusal(claim, driver)) {
      return;
    }
    this.later(`pvc/${claim.metadata.uid}`, this.timings.pvcBindMs, () => this.bind(claim, storageClass));
  }

  /**
   * Why the external provisioner cannot provision a claim restored from a snapshot yet (or ever):
   * the snapshot does not exist, is not bound or ready, or is larger than the claim asks for. Said
   * in the provisioner's events; nothing when it can proceed.
   */
  private refusal(claim: K8sObject, driver: string): string | undefined {
    const spec = claimSpec(claim);
    if (spec.dataSource?.kind !== 'VolumeSnapshot') {
      return undefined;
    }
    const name = spec.dataSource.name;
    const snapshot = this.store.get(SNAPSHOT, claim.metadata.namespace, name);
    const status = snapshot ? snapshotStatus(snapshot) : undefined;
    let why: string | undefined;
    if (!snapshot) {
      why = `error getting snapshot ${name} from api server: volumesnapshots.snapshot.storage.k8s.io "${name}" not found`;
    } else if (!status?.boundVolumeSnapshotContentName) {
      why = `snapshot ${name} not bound`;
    } else if (!status.readyToUse) {
      why = `snapshot ${name} is not Ready`;
    } else {
      const requested = Math.ceil(parseQuantity(spec.resources?.requests?.storage ?? '1Gi'));
      const restoreSize = Math.ceil(parseQuantity(status.restoreSize));
      if (requested < restoreSize) {
        why = `requested volume size ${requested} is less than the size ${restoreSize} for the source snapshot ${name}`;
      }
    }
    if (why) {
      const provisioner = this.provisioner(driver);
      this.provisioning(provisioner, claim);
      const message = `error getting handle for DataSource Type VolumeSnapshot by Name ${name}: ${why}`;
      this.tell(provisioner, claim, 'Warning', 'ProvisioningFailed', message);
    }
    return why;
  }

  private provisioning(provisioner: EventRecorder, claim: K8sObject): void {
    const { namespace, name } = claim.metadata;
    const message = `External provisioner is provisioning volume for claim "${namespace}/${name}"`;
    this.tell(provisioner, claim, 'Normal', 'Provisioning', message);
  }

  /** The claim as stored now, if it is still the same one, not being deleted, and not bound yet. */
  private unboundClaim(claim: K8sObject): K8sObject | undefined {
    const current = this.store.get(PVC, claim.metadata.namespace, claim.metadata.name);
    const stillWaiting =
      current !== undefined &&
      current.metadata.uid === claim.metadata.uid &&
      !current.metadata.deletionTimestamp &&
      !isBound(current);
    return stillWaiting ? current : undefined;
  }

  private bindStatic(claim: K8sObject): void {
    const current = this.unboundClaim(claim);
    if (!current) {
      return;
    }
    const spec = claimSpec(current);
    const volume = this.store.get(PV, undefined, spec.volumeName!);
    const volumeSpec = (volume?.spec ?? {}) as VolumeSpec;
    const claimRef = volumeSpec.claimRef;
    if (
      !volume ||
      (claimRef &&
        (claimRef.name !== current.metadata.name ||
          claimRef.namespace !== current.metadata.namespace ||
          (claimRef.uid !== undefined && claimRef.uid !== current.metadata.uid)))
    ) {
      // Reserved for another claim (or bound to one that is gone: Released): stays Pending.
      if (volume) {
        const message = `volume "${volume.metadata.name}" already bound to a different claim.`;
        this.tell(this.volumeController, current, 'Warning', 'FailedBinding', message);
      }
      return;
    }
    // As the PV controller binds: the volume gets a full reference to the claim (unless it has
    // one), and is marked bound by the controller unless it named the claim itself; the claim,
    // which named its volume, is only marked complete.
    if (!claimRef) {
      volume.metadata.annotations = {
        ...volume.metadata.annotations,
        'pv.kubernetes.io/bound-by-controller': 'yes',
      };
    }
    if (claimRef?.uid !== current.metadata.uid) {
      volume.spec = { ...volumeSpec, claimRef: referenceTo(current) };
    }
    volume.status = { ...(volume.status as object), phase: 'Bound', lastPhaseTransitionTime: k8sNow() };
    this.store.update(PV, unconditional(volume));
    current.metadata.annotations = {
      ...current.metadata.annotations,
      'pv.kubernetes.io/bind-completed': 'yes',
    };
    current.status = {
      phase: 'Bound',
      accessModes: volumeSpec.accessModes ?? spec.accessModes ?? ['ReadWriteOnce'],
      capacity: { storage: volumeSpec.capacity?.storage ?? spec.resources?.requests?.storage ?? '1Gi' },
      conditions: [unusedCondition(this.used(current))],
    };
    this.store.update(PVC, unconditional(current));
  }

  private bind(claim: K8sObject, storageClass: K8sObject): void {
    const driver = provisionerOf(storageClass);
    const current = this.unboundClaim(claim);
    if (!current || this.refusal(current, driver)) {
      return;
    }
    const provisioner = this.provisioner(driver);
    this.provisioning(provisioner, current);
    const spec = claimSpec(current);
    // The driver makes the size asked for; the provisioner writes it back from bytes.
    const capacity = bytesQuantity(Math.ceil(parseQuantity(spec.resources?.requests?.storage ?? '1Gi')));
    const volumeName = `pvc-${current.metadata.uid}`;
    this.store.create(PV, {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: {
        name: volumeName,
        annotations: {
          'pv.kubernetes.io/provisioned-by': driver,
          'volume.kubernetes.io/provisioner-deletion-secret-name': '',
          'volume.kubernetes.io/provisioner-deletion-secret-namespace': '',
        },
      },
      spec: {
        capacity: { storage: capacity },
        accessModes: spec.accessModes ?? ['ReadWriteOnce'],
        persistentVolumeReclaimPolicy:
          typeof storageClass.reclaimPolicy === 'string' ? storageClass.reclaimPolicy : 'Delete',
        storageClassName: storageClass.metadata.name,
        claimRef: referenceTo(current),
        csi: { driver, volumeHandle: volumeName },
        volumeMode: spec.volumeMode ?? 'Filesystem',
      },
      status: { phase: 'Bound', lastPhaseTransitionTime: k8sNow() },
    });
    current.spec = { ...spec, volumeName, storageClassName: storageClass.metadata.name };
    // What the PV controller and the external provisioner leave on a claim they bound.
    current.metadata.annotations = {
      ...current.metadata.annotations,
      'pv.kubernetes.io/bind-completed': 'yes',
      'pv.kubernetes.io/bound-by-controller': 'yes',
      'volume.beta.kubernetes.io/storage-provisioner': driver,
      'volume.kubernetes.io/storage-provisioner': driver,
    };
    current.status = {
      phase: 'Bound',
      accessModes: spec.accessModes ?? ['ReadWriteOnce'],
      capacity: { storage: capacity },
      conditions: [unusedCondition(this.used(current))],
    };
    this.store.update(PVC, unconditional(current));
    this.tell(
      provisioner,
      current,
      'Normal',
      'ProvisioningSucceeded',
      `Successfully provisioned volume ${volumeName}`,
    );
  }

  /**
   * A volume a client created is stored `Pending` (the PersistentVolume strategy); the PV
   * controller makes it `Available` unless it is bound to a claim (by uid), which binding does.
   */
  private syncVolume(changed: K8sObject): void {
    const volume = this.store.get(PV, undefined, changed.metadata.name);
    const spec = (volume?.spec ?? {}) as VolumeSpec;
    if (
      !volume ||
      (volume.status as { phase?: string } | undefined)?.phase !== 'Pending' ||
      spec.claimRef?.uid
    ) {
      return;
    }
    volume.status = { ...(volume.status as object), phase: 'Available', lastPhaseTransitionTime: k8sNow() };
    this.store.update(PV, unconditional(volume));
  }

  /** Whether a pod that has not terminated names the claim among its volumes. */
  private used(claim: K8sObject): boolean {
    const name = claim.metadata.name;
    return (
      this.store.list(
        POD,
        claim.metadata.namespace,
        (pod) => !terminated(pod) && claimsOf(pod).includes(name),
      ).length > 0
    );
  }

  /** The pvc-protection controller: a bound claim's `Unused` condition follows its pods. */
  private updateUsage(namespace: string | undefined, name: string): void {
    const claim = this.store.get(PVC, namespace, name);
    if (!claim || !isBound(claim) || claim.metadata.deletionTimestamp) {
      return;
    }
    const used = this.used(claim);
    const status = claimStatus(claim);
    const existing = status.conditions?.find((c) => c.type === 'Unused');
    if (existing && (existing.status === 'True') === !used) {
      return;
    }
    const others = (status.conditions ?? []).filter((c) => c.type !== 'Unused');
    claim.status = {
      ...status,
      conditions: existing
        ? (status.conditions ?? []).map((c) => (c === existing ? unusedCondition(used) : c))
        : [...others, unusedCondition(used)],
    };
    this.store.update(PVC, unconditional(claim));
  }

  private considerSnapshot(snapshot: K8sObject): void {
    if (snapshot.metadata.deletionTimestamp) {
      this.letGo(snapshot);
      return;
    }
    if (!snapshot.metadata.finalizers?.includes(AS_SOURCE)) {
      this.protect(snapshot, [AS_SOURCE]); // and is considered again, protected
      return;
    }
    const status = snapshotStatus(snapshot);
    if (status.readyToUse) {
      return;
    }
    if (importedContentOf(snapshot)) {
      if (!status.error) {
        // a failed import is not retried
        this.later(`snapshot/${snapshot.metadata.uid}`, this.timings.snapshotReadyMs, () =>
          this.bindImport(snapshot),
        );
      }
      return;
    }
    this.later(`snapshot/${snapshot.metadata.uid}`, this.timings.snapshotReadyMs, () => this.cut(snapshot));
  }

  /** Adds snapshot-controller's finalizers to a snapshot (as stored now) that lacks them. */
  private protect(snapshot: K8sObject, finalizers: string[]): K8sObject | undefined {
    const current = this.store.get(SNAPSHOT, snapshot.metadata.namespace, snapshot.metadata.name);
    if (!current || current.metadata.uid !== snapshot.metadata.uid || current.metadata.deletionTimestamp) {
      return current;
    }
    const missing = finalizers.filter((f) => !current.metadata.finalizers?.includes(f));
    if (missing.length === 0) {
      return current;
    }
    current.metadata.finalizers = [...(current.metadata.finalizers ?? []), ...missing];
    return this.store.update(SNAPSHOT, unconditional(current));
  }

  /**
   * A snapshot being deleted: snapshot-controller keeps it while a claim that is not bound yet
   * restores from it (`SnapshotDeletePending`), and lets it go (its finalizers off) once none does.
   */
  private letGo(snapshot: K8sObject): void {
    const { namespace, name } = snapshot.metadata;
    const current = this.store.get(SNAPSHOT, namespace, name);
    const ours = (f: string) => f === AS_SOURCE || f === BOUND_CONTENT;
    if (
      !current ||
      current.metadata.uid !== snapshot.metadata.uid ||
      !current.metadata.finalizers?.some(ours)
    ) {
      return;
    }
    const restoring = this.store.list(
      PVC,
      namespace,
      (c) =>
        claimSpec(c).dataSource?.kind === 'VolumeSnapshot' &&
        claimSpec(c).dataSource?.name === name &&
        !isBound(c),
    );
    if (restoring.length > 0) {
      const message = 'Snapshot is being used to restore a PVC';
      this.tell(this.snapshotController, current, 'Warning', 'SnapshotDeletePending', message);
      return;
    }
    current.metadata.finalizers = current.metadata.finalizers.filter((f) => !ours(f));
    this.store.update(SNAPSHOT, unconditional(current)); // the garbage collector removes it when none are left
  }

  /** The snapshot as stored now, if it is still the same one and not ready. */
  private pendingSnapshot(snapshot: K8sObject): K8sObject | undefined {
    const current = this.store.get(SNAPSHOT, snapshot.metadata.namespace, snapshot.metadata.name);
    const pending =
      current !== undefined &&
      current.metadata.uid === snapshot.metadata.uid &&
      !current.metadata.deletionTimestamp &&
      !snapshotStatus(current).readyToUse;
    return pending ? current : undefined;
  }

  /**
   * A snapshot of a claim: once the claim is bound, the snapshot gets the default class (when it
   * names none), is cut in the backend and recorded in a new VolumeSnapshotContent. Until then it
   * carries snapshot-controller's error (and its warning), and is tried again when the claim
   * changes; a real controller retries with backoff instead (docs/simulator.md).
   */
  private cut(snapshot: K8sObject): void {
    let current = this.pendingSnapshot(snapshot);
    if (!current) {
      return;
    }
    const { namespace, name } = current.metadata;
    const source = snapshotSpec(current).source?.persistentVolumeClaimName ?? '';
    const claim = this.store.get(PVC, namespace, source);
    const capacity = claim && isBound(claim) ? claimStatus(claim).capacity?.storage : undefined;
    if (!claim || !capacity) {
      this.waitForClaim(current, source, claim !== undefined);
      return;
    }
    const volume = this.volumeOf(claim);
    const snapshotClass = this.snapshotClassFor(current, volume.driver);
    if (!snapshotSpec(current).volumeSnapshotClassName && snapshotClass) {
      current.spec = { ...snapshotSpec(current), volumeSnapshotClassName: snapshotClass.metadata.name };
      current = this.store.update(SNAPSHOT, unconditional(current));
    }
    this.tell(
      this.snapshotController,
      current,
      'Normal',
      'CreatingSnapshot',
      `Waiting for a snapshot ${namespace}/${name} to be created by the CSI driver.`,
    );
    const uid = current.metadata.uid!;
    const contentName = `snapcontent-${uid}`;
    const handle = `snap-${uid}`;
    const creationTime = k8sNow();
    this.backend.register(handle, { driver: volume.driver, restoreSize: capacity, creationTime });
    if (!this.store.get(SNAPSHOT_CONTENT, undefined, contentName)) {
      this.store.create(SNAPSHOT_CONTENT, {
        apiVersion: 'snapshot.storage.k8s.io/v1',
        kind: 'VolumeSnapshotContent',
        metadata: { name: contentName },
        spec: {
          driver: volume.driver,
          deletionPolicy: (snapshotClass?.deletionPolicy as string | undefined) ?? 'Delete',
          source: { volumeHandle: volume.handle },
          sourceVolumeMode: volume.mode,
          volumeSnapshotRef: referenceTo(current),
          ...(snapshotClass ? { volumeSnapshotClassName: snapshotClass.metadata.name } : {}),
        },
        status: {
          snapshotHandle: handle,
          readyToUse: true,
          restoreSize: parseQuantity(capacity),
          creationTime: nanoseconds(creationTime),
        },
      });
    }
    current.status = {
      readyToUse: true,
      restoreSize: capacity,
      creationTime,
      boundVolumeSnapshotContentName: contentName,
    };
    current = this.store.update(SNAPSHOT, unconditional(current));
    if ((snapshotClass?.deletionPolicy ?? 'Delete') === 'Delete') {
      this.protect(current, [BOUND_CONTENT]);
    }
    const said = `Snapshot ${namespace}/${name}`;
    this.tell(
      this.snapshotController,
      current,
      'Normal',
      'SnapshotCreated',
      `${said} was successfully created by the CSI driver.`,
    );
    this.tell(this.snapshotController, current, 'Normal', 'SnapshotReady', `${said} is ready to use.`);
  }

  /**
   * A snapshot whose claim is missing or not bound yet: snapshot-controller's error in its status
   * (with `readyToUse: false` once it has a class to cut with) and its warning, worded as it words
   * them — it fails to find the default class, or to gather what the content needs.
   */
  private waitForClaim(snapshot: K8sObject, claimName: string, exists: boolean): void {
    const named = snapshotSpec(snapshot).volumeSnapshotClassName !== undefined;
    const name = snapshot.metadata.name;
    const unbound = `the PVC ${claimName} is not yet bound to a PV, will not attempt to take a snapshot`;
    const [reason, message] = named
      ? [
          'SnapshotContentCreationFailed',
          `Failed to create snapshot content with error ${
            exists
              ? `failed to get input parameters to create snapshot ${name}: "${unbound}"`
              : `snapshot controller failed to update ${name} on API server: cannot get claim from snapshot`
          }`,
        ]
      : [
          'SetDefaultSnapshotClassFailed',
          `Failed to set default snapshot class with error ${
            exists
              ? unbound
              : `failed to retrieve PVC ${claimName} from the lister: "persistentvolumeclaim \\"${claimName}\\" not found"`
          }`,
        ];
    if (snapshotStatus(snapshot).error?.message !== message) {
      snapshot.status = {
        ...(snapshot.status as object),
        ...(named ? { readyToUse: false } : {}),
        error: { message, time: k8sNow() },
      };
      this.store.update(SNAPSHOT, unconditional(snapshot));
    }
    this.tell(this.snapshotController, snapshot, 'Warning', reason, message);
  }

  /**
   * An import: the snapshot names a pre-provisioned content, which names a handle in the backend.
   * Ready when the backend has it (for the content's driver); failed, with the reason in
   * `status.error`, when it has not. Without its content yet, it waits for it.
   */
  private bindImport(snapshot: K8sObject): void {
    const current = this.pendingSnapshot(snapshot);
    const contentName = current && importedContentOf(current);
    const content = contentName ? this.store.get(SNAPSHOT_CONTENT, undefined, contentName) : undefined;
    if (!current || !contentName || !content || snapshotStatus(current).error) {
      return;
    }
    if (!refersTo(content, current)) {
      this.failSnapshot(current, `VolumeSnapshotContent ${contentName} is bound to another snapshot`);
      return;
    }
    const { driver, source } = contentSpec(content);
    const handle = source?.snapshotHandle;
    const found = handle ? this.backend.find(handle, driver) : undefined;
    if (!found) {
      const message = `snapshot handle ${handle ?? '(none)'} not found in the storage backend`;
      this.failSnapshot(current, message, contentName); // first, as below
      this.updateContent(content, current, { readyToUse: false, error: { message, time: k8sNow() } });
      return;
    }
    current.status = {
      readyToUse: true,
      restoreSize: found.restoreSize,
      creationTime: found.creationTime,
      boundVolumeSnapshotContentName: contentName,
    };
    const readied = this.store.update(SNAPSHOT, unconditional(current)); // first: the content's update finds it ready
    if (contentSpec(content).deletionPolicy === 'Delete') {
      this.protect(readied, [BOUND_CONTENT]);
    }
    this.updateContent(content, current, {
      snapshotHandle: handle,
      readyToUse: true,
      restoreSize: parseQuantity(found.restoreSize),
      creationTime: nanoseconds(found.creationTime),
    });
  }

  private failSnapshot(snapshot: K8sObject, message: string, contentName?: string): void {
    snapshot.status = {
      readyToUse: false,
      ...(contentName ? { boundVolumeSnapshotContentName: contentName } : {}),
      error: { message, time: k8sNow() },
    };
    this.store.update(SNAPSHOT, unconditional(snapshot));
  }

  /** Binds the content to the snapshot (its uid in `volumeSnapshotRef`) and sets its status. */
  private updateContent(content: K8sObject, snapshot: K8sObject, status: Record<string, unknown>): void {
    const spec = contentSpec(content);
    content.spec = { ...spec, volumeSnapshotRef: { ...spec.volumeSnapshotRef, uid: snapshot.metadata.uid } };
    content.status = status;
    this.store.update(SNAPSHOT_CONTENT, unconditional(content));
  }

  /**
   * What goes with a deleted object: a snapshot's content when its policy is `Delete` (the snapshot
   * controller), and then the backend's snapshot (the CSI driver); `Retain` keeps both. A claim's
   * volume is deleted under `Delete` (the external provisioner), `Released` under `Retain` (the PV
   * controller). A pod's claims may be unused now.
   */
  private forget(event: StoreEvent): void {
    const object = event.object;
    this.told.delete(object.metadata.uid!);
    if (event.resource === POD) {
      for (const claim of claimsOf(object)) {
        this.updateUsage(object.metadata.namespace, claim);
      }
    } else if (event.resource === PVC) {
      this.release(object);
      for (const snapshot of this.store.list(SNAPSHOT, object.metadata.namespace)) {
        this.considerSnapshot(snapshot); // one this claim was restoring from may go now
      }
    } else if (event.resource === SNAPSHOT) {
      const name = contentNameOf(object);
      const content = name ? this.store.get(SNAPSHOT_CONTENT, undefined, name) : undefined;
      if (content && contentSpec(content).deletionPolicy === 'Delete' && refersTo(content, object)) {
        // The CSI snapshotter deletes the backend's snapshot before the content goes.
        this.removeFromBackend(content);
        this.store.remove(SNAPSHOT_CONTENT, undefined, content.metadata.name);
      }
    } else if (event.resource === SNAPSHOT_CONTENT) {
      this.removeFromBackend(object);
    }
  }

  /** A content of policy Delete takes its backend snapshot with it (again is harmless). */
  private removeFromBackend(content: K8sObject): void {
    const { deletionPolicy, source } = contentSpec(content);
    const handle =
      (content.status as { snapshotHandle?: string } | undefined)?.snapshotHandle ?? source?.snapshotHandle;
    if (deletionPolicy === 'Delete' && handle) {
      this.backend.remove(handle);
    }
  }

  private release(claim: K8sObject): void {
    const name = claimSpec(claim).volumeName;
    const volume = name ? this.store.get(PV, undefined, name) : undefined;
    const spec = (volume?.spec ?? {}) as VolumeSpec;
    if (!volume || spec.claimRef?.uid !== claim.metadata.uid) {
      return;
    }
    if (spec.persistentVolumeReclaimPolicy === 'Delete') {
      this.store.remove(PV, undefined, volume.metadata.name);
    } else {
      volume.status = { ...(volume.status as object), phase: 'Released', lastPhaseTransitionTime: k8sNow() };
      this.store.update(PV, unconditional(volume));
    }
  }

  /** The CSI driver, volume handle and mode of a bound claim's volume (its PV, else its class). */
  private volumeOf(claim: K8sObject): { driver: string; handle: string; mode: string } {
    const spec = claimSpec(claim);
    const volume = spec.volumeName ? this.store.get(PV, undefined, spec.volumeName) : undefined;
    const volumeSpec = (volume?.spec ?? {}) as VolumeSpec;
    const storageClass = this.storageClassFor(spec);
    return {
      driver: volumeSpec.csi?.driver ?? (storageClass ? provisionerOf(storageClass) : DEFAULT_DRIVER),
      handle: volumeSpec.csi?.volumeHandle ?? spec.volumeName ?? '',
      mode: volumeSpec.volumeMode ?? spec.volumeMode ?? 'Filesystem',
    };
  }

  /**
   * The snapshot's class, or the default one when it names none: the default class of the
   * volume's driver, as snapshot-controller picks it, else (unlike it) any default class.
   */
  private snapshotClassFor(snapshot: K8sObject, driver: string): K8sObject | undefined {
    const name = snapshotSpec(snapshot).volumeSnapshotClassName;
    if (name) {
      return this.store.get(SNAPSHOT_CLASS, undefined, name);
    }
    const defaults = this.store
      .list(SNAPSHOT_CLASS)
      .filter((c) => c.metadata.annotations?.['snapshot.storage.kubernetes.io/is-default-class'] === 'true');
    return defaults.find((c) => c.driver === driver) ?? defaults[0];
  }
}

/** The driver a StorageClass provisions with. */
function provisionerOf(storageClass: K8sObject): string {
  return typeof storageClass.provisioner === 'string' ? storageClass.provisioner : DEFAULT_DRIVER;
}

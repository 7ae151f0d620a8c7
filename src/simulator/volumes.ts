/**
 * Storage in the simulated cluster: a PVC binds (a PV is provisioned for it) when its
 * StorageClass exists, after the configured delay; a PVC restored from a VolumeSnapshot waits until
 * the snapshot is ready; a claim that names its volume (a static PV) binds to it once it exists.
 * A VolumeSnapshot of a bound PVC is cut into a VolumeSnapshotContent whose handle goes into the
 * storage backend; one that names a pre-provisioned content is bound to it when the content's
 * handle is in the backend (an import of a snapshot another cluster cut); deleting a snapshot takes
 * its content along under the content's `Delete` policy (and the handle leaves the backend), not
 * under `Retain`.
 */
import { SIMULATED_CSI_DRIVER } from './csi-driver';
import { ControllerTimers, k8sNow } from './time';
import type { SimulatorTimings } from './config';
import type { EventRecorder } from './events';
import { parseQuantity } from '../infra/kubernetes/quantity';
import { RESOURCE_TYPES, type ResourceType } from './resources';
import type { StorageBackend } from './storage-backend';
import { safely, type K8sObject, type ObjectStore, type StoreEvent } from './store';

const typeOf = (kind: string): ResourceType => RESOURCE_TYPES.find((t) => t.kind === kind)!;
const PVC = typeOf('PersistentVolumeClaim');
const PV = typeOf('PersistentVolume');
const STORAGE_CLASS = typeOf('StorageClass');
const SNAPSHOT = typeOf('VolumeSnapshot');
const SNAPSHOT_CONTENT = typeOf('VolumeSnapshotContent');
const SNAPSHOT_CLASS = typeOf('VolumeSnapshotClass');
const DEFAULT_DRIVER = SIMULATED_CSI_DRIVER;

interface ClaimSpec {
  storageClassName?: string;
  volumeMode?: string;
  accessModes?: string[];
  resources?: { requests?: { storage?: string } };
  dataSource?: { kind: string; name: string; apiGroup?: string };
  volumeName?: string;
}

interface SnapshotSpec {
  source?: { persistentVolumeClaimName?: string; volumeSnapshotContentName?: string };
  volumeSnapshotClassName?: string;
}

interface SnapshotStatus {
  readyToUse?: boolean;
  error?: unknown;
  boundVolumeSnapshotContentName?: string;
}

interface ContentSpec {
  driver?: string;
  deletionPolicy?: string;
  source?: { snapshotHandle?: string; volumeHandle?: string };
  volumeSnapshotRef?: { name?: string; namespace?: string; uid?: string };
}

const snapshotSpec = (snapshot: K8sObject) => (snapshot.spec ?? {}) as SnapshotSpec;
const contentSpec = (content: K8sObject) => (content.spec ?? {}) as ContentSpec;

/** The pre-provisioned content a snapshot imports, when it is an import. */
const importedContentOf = (snapshot: K8sObject) => snapshotSpec(snapshot).source?.volumeSnapshotContentName;

/** The content a snapshot is bound to, or (not bound yet) the one it imports. */
const contentNameOf = (snapshot: K8sObject) =>
  (snapshot.status as SnapshotStatus | undefined)?.boundVolumeSnapshotContentName ??
  importedContentOf(snapshot);

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

/** How a bound PersistentVolume names its claim. */
function claimRefTo(claim: K8sObject): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    name: claim.metadata.name,
    namespace: claim.metadata.namespace,
    uid: claim.metadata.uid,
  };
}

export class VolumeControllers {
  private readonly inFlight = new Set<string>();
  private readonly timers = new ControllerTimers(safely);
  private readonly unsubscribe: () => void;

  constructor(
    private readonly store: ObjectStore,
    private readonly events: EventRecorder,
    private readonly timings: SimulatorTimings,
    private readonly backend: StorageBackend,
  ) {
    this.unsubscribe = store.subscribe((event) => this.observe(event));
  }

  stop(): void {
    this.unsubscribe();
    this.timers.clear();
  }

  private observe(event: StoreEvent): void {
    if (event.type === 'DELETED') {
      this.forget(event);
      return;
    }
    if (event.resource === PVC) {
      this.considerClaim(event.object);
      for (const snapshot of this.store.list(SNAPSHOT, event.object.metadata.namespace)) {
        this.considerSnapshot(snapshot); // snapshots of this claim may wait for it to bind
      }
    } else if (event.resource === SNAPSHOT) {
      this.considerSnapshot(event.object);
      if ((event.object.status as { readyToUse?: boolean } | undefined)?.readyToUse) {
        // claims restoring from this snapshot may proceed now
        for (const claim of this.store.list(PVC, event.object.metadata.namespace)) {
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
      // a claim waiting for this volume by name may bind now
      for (const claim of this.store.list(PVC)) {
        if ((claim.spec as ClaimSpec).volumeName === event.object.metadata.name) {
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

  private storageClassFor(spec: ClaimSpec): K8sObject | undefined {
    if (spec.storageClassName) {
      return this.store.get(STORAGE_CLASS, undefined, spec.storageClassName);
    }
    return this.store
      .list(STORAGE_CLASS)
      .find((sc) => sc.metadata.annotations?.['storageclass.kubernetes.io/is-default-class'] === 'true');
  }

  private considerClaim(claim: K8sObject): void {
    const spec = (claim.spec ?? {}) as ClaimSpec;
    if (
      (claim.status as { phase?: string } | undefined)?.phase === 'Bound' ||
      claim.metadata.deletionTimestamp
    ) {
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
      return; // stays Pending, as with no provisioner for the class
    }
    let restoreSize = 0;
    if (spec.dataSource?.kind === 'VolumeSnapshot') {
      const snapshot = this.store.get(SNAPSHOT, claim.metadata.namespace, spec.dataSource.name);
      const status = snapshot?.status as { readyToUse?: boolean; restoreSize?: string } | undefined;
      if (!status?.readyToUse) {
        return; // waits for the snapshot
      }
      restoreSize = parseQuantity(status.restoreSize);
    }
    this.later(`pvc/${claim.metadata.uid}`, this.timings.pvcBindMs, () =>
      this.bind(claim, storageClass, restoreSize),
    );
  }

  /** The claim as stored now, if it is still the same one, not being deleted, and not bound yet. */
  private unboundClaim(claim: K8sObject): K8sObject | undefined {
    const current = this.store.get(PVC, claim.metadata.namespace, claim.metadata.name);
    const stillWaiting =
      current !== undefined &&
      current.metadata.uid === claim.metadata.uid &&
      !current.metadata.deletionTimestamp &&
      (current.status as { phase?: string } | undefined)?.phase !== 'Bound';
    return stillWaiting ? current : undefined;
  }

  private bindStatic(claim: K8sObject): void {
    const current = this.unboundClaim(claim);
    if (!current) {
      return;
    }
    const spec = current.spec as ClaimSpec;
    const volume = this.store.get(PV, undefined, spec.volumeName!);
    const claimRef = (volume?.spec as { claimRef?: { name?: string; namespace?: string } } | undefined)
      ?.claimRef;
    if (
      !volume ||
      (claimRef &&
        (claimRef.name !== current.metadata.name || claimRef.namespace !== current.metadata.namespace))
    ) {
      return; // reserved for another claim: stays Pending
    }
    const volumeSpec = volume.spec as { capacity?: { storage?: string }; accessModes?: string[] };
    volume.spec = {
      ...(volume.spec as object),
      claimRef: claimRefTo(current),
    };
    volume.status = { phase: 'Bound' };
    delete volume.metadata.resourceVersion;
    this.store.update(PV, volume);
    current.status = {
      phase: 'Bound',
      accessModes: volumeSpec.accessModes ?? spec.accessModes ?? ['ReadWriteOnce'],
      capacity: { storage: volumeSpec.capacity?.storage ?? spec.resources?.requests?.storage ?? '1Gi' },
    };
    delete current.metadata.resourceVersion;
    this.store.update(PVC, current);
  }

  private bind(claim: K8sObject, storageClass: K8sObject, restoreSize: number): void {
    const provisioner =
      typeof storageClass.provisioner === 'string' ? storageClass.provisioner : DEFAULT_DRIVER;
    const current = this.unboundClaim(claim);
    if (!current) {
      return;
    }
    const spec = current.spec as ClaimSpec;
    const requested = spec.resources?.requests?.storage ?? '1Gi';
    const capacity = restoreSize > parseQuantity(requested) ? String(restoreSize) : requested;
    const volumeName = `pvc-${current.metadata.uid}`;
    this.store.create(PV, {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: {
        name: volumeName,
        annotations: { 'pv.kubernetes.io/provisioned-by': provisioner },
      },
      spec: {
        capacity: { storage: capacity },
        accessModes: spec.accessModes ?? ['ReadWriteOnce'],
        persistentVolumeReclaimPolicy: 'Delete',
        storageClassName: storageClass.metadata.name,
        claimRef: claimRefTo(current),
        csi: { driver: provisioner, volumeHandle: volumeName },
        volumeMode: spec.volumeMode ?? 'Filesystem',
      },
      status: { phase: 'Bound' },
    });
    current.spec = { ...spec, volumeName, storageClassName: storageClass.metadata.name };
    // What the PV controller and the external provisioner leave on a claim they bound.
    current.metadata.annotations = {
      ...current.metadata.annotations,
      'pv.kubernetes.io/bind-completed': 'yes',
      'pv.kubernetes.io/bound-by-controller': 'yes',
      'volume.beta.kubernetes.io/storage-provisioner': provisioner,
      'volume.kubernetes.io/storage-provisioner': provisioner,
    };
    current.status = {
      phase: 'Bound',
      accessModes: spec.accessModes ?? ['ReadWriteOnce'],
      capacity: { storage: capacity },
    };
    delete current.metadata.resourceVersion;
    this.store.update(PVC, current);
    this.events.record(
      current,
      'Normal',
      'ProvisioningSucceeded',
      `Successfully provisioned volume ${volumeName}`,
    );
  }

  private considerSnapshot(snapshot: K8sObject): void {
    const status = snapshot.status as SnapshotStatus | undefined;
    if (status?.readyToUse || status?.error || snapshot.metadata.deletionTimestamp) {
      return;
    }
    const work = importedContentOf(snapshot) ? () => this.bindImport(snapshot) : () => this.cut(snapshot);
    this.later(`snapshot/${snapshot.metadata.uid}`, this.timings.snapshotReadyMs, work);
  }

  /** The snapshot as stored now, if it is still the same one and neither ready nor failed. */
  private pendingSnapshot(snapshot: K8sObject): K8sObject | undefined {
    const current = this.store.get(SNAPSHOT, snapshot.metadata.namespace, snapshot.metadata.name);
    const status = current?.status as SnapshotStatus | undefined;
    const pending =
      current !== undefined &&
      current.metadata.uid === snapshot.metadata.uid &&
      !status?.readyToUse &&
      !status?.error;
    return pending ? current : undefined;
  }

  /** A snapshot of a claim: cut in the backend, recorded in a new VolumeSnapshotContent. */
  private cut(snapshot: K8sObject): void {
    const current = this.pendingSnapshot(snapshot);
    if (!current) {
      return;
    }
    const source = snapshotSpec(current).source?.persistentVolumeClaimName;
    const claim = source ? this.store.get(PVC, current.metadata.namespace, source) : undefined;
    const capacity = (claim?.status as { phase?: string; capacity?: { storage?: string } } | undefined)
      ?.capacity?.storage;
    if (!claim || !capacity) {
      return; // as the snapshot controller does, wait until the source claim is bound
    }
    const uid = current.metadata.uid!;
    const contentName = `snapcontent-${uid}`;
    const handle = `snap-${uid}`;
    const creationTime = k8sNow();
    const volume = this.volumeOf(claim);
    const snapshotClass = this.snapshotClassFor(current);
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
          volumeSnapshotRef: {
            apiVersion: 'snapshot.storage.k8s.io/v1',
            kind: 'VolumeSnapshot',
            name: current.metadata.name,
            namespace: current.metadata.namespace,
            uid,
          },
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
    delete current.metadata.resourceVersion;
    this.store.update(SNAPSHOT, current);
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
    if (!current || !contentName || !content) {
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
    delete current.metadata.resourceVersion;
    this.store.update(SNAPSHOT, current); // first: the content's update below finds it ready
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
    delete snapshot.metadata.resourceVersion;
    this.store.update(SNAPSHOT, snapshot);
  }

  /** Binds the content to the snapshot (its uid in `volumeSnapshotRef`) and sets its status. */
  private updateContent(content: K8sObject, snapshot: K8sObject, status: Record<string, unknown>): void {
    const spec = contentSpec(content);
    content.spec = { ...spec, volumeSnapshotRef: { ...spec.volumeSnapshotRef, uid: snapshot.metadata.uid } };
    content.status = status;
    delete content.metadata.resourceVersion;
    this.store.update(SNAPSHOT_CONTENT, content);
  }

  /**
   * What goes with a deleted object: a snapshot's content when its policy is `Delete` (the snapshot
   * controller), and then the backend's snapshot (the CSI driver); `Retain` keeps both.
   */
  private forget(event: StoreEvent): void {
    if (event.resource === SNAPSHOT) {
      const name = contentNameOf(event.object);
      const content = name ? this.store.get(SNAPSHOT_CONTENT, undefined, name) : undefined;
      if (content && contentSpec(content).deletionPolicy === 'Delete' && refersTo(content, event.object)) {
        this.store.remove(SNAPSHOT_CONTENT, undefined, content.metadata.name);
      }
    } else if (event.resource === SNAPSHOT_CONTENT) {
      const { deletionPolicy, source } = contentSpec(event.object);
      const handle =
        (event.object.status as { snapshotHandle?: string } | undefined)?.snapshotHandle ??
        source?.snapshotHandle;
      if (deletionPolicy === 'Delete' && handle) {
        this.backend.remove(handle);
      }
    }
  }

  /** The CSI driver and volume handle of a bound claim's volume (its PV, else its class). */
  private volumeOf(claim: K8sObject): { driver: string; handle: string } {
    const spec = claim.spec as ClaimSpec;
    const volume = spec.volumeName ? this.store.get(PV, undefined, spec.volumeName) : undefined;
    const csi = (volume?.spec as { csi?: { driver?: string; volumeHandle?: string } } | undefined)?.csi;
    const provisioner = this.storageClassFor(spec)?.provisioner;
    return {
      driver: csi?.driver ?? (typeof provisioner === 'string' ? provisioner : DEFAULT_DRIVER),
      handle: csi?.volumeHandle ?? spec.volumeName ?? '',
    };
  }

  /** The snapshot's class, or the default one when it names none. */
  private snapshotClassFor(snapshot: K8sObject): K8sObject | undefined {
    const name = snapshotSpec(snapshot).volumeSnapshotClassName;
    if (name) {
      return this.store.get(SNAPSHOT_CLASS, undefined, name);
    }
    return this.store
      .list(SNAPSHOT_CLASS)
      .find(
        (vsc) => vsc.metadata.annotations?.['snapshot.storage.kubernetes.io/is-default-class'] === 'true',
      );
  }
}

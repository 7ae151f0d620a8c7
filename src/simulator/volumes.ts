/**
 * Storage in the simulated cluster: a PVC binds (a PV is provisioned for it) when its
 * StorageClass exists, after the configured delay; a PVC restored from a VolumeSnapshot waits until
 * the snapshot is ready; a claim that names its volume (a static PV) binds to it once it exists; a VolumeSnapshot of a bound PVC becomes `readyToUse` with `restoreSize`.
 */
import { ControllerTimers, k8sNow } from './time';
import type { SimulatorTimings } from './config';
import type { EventRecorder } from './events';
import { parseQuantity } from '../infra/kubernetes/quantity';
import { RESOURCE_TYPES, type ResourceType } from './resources';
import { safely, type K8sObject, type ObjectStore, type StoreEvent } from './store';

const typeOf = (kind: string): ResourceType => RESOURCE_TYPES.find((t) => t.kind === kind)!;
const PVC = typeOf('PersistentVolumeClaim');
const PV = typeOf('PersistentVolume');
const STORAGE_CLASS = typeOf('StorageClass');
const SNAPSHOT = typeOf('VolumeSnapshot');

interface ClaimSpec {
  storageClassName?: string;
  accessModes?: string[];
  resources?: { requests?: { storage?: string } };
  dataSource?: { kind: string; name: string; apiGroup?: string };
  volumeName?: string;
}

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
  ) {
    this.unsubscribe = store.subscribe((event) => this.observe(event));
  }

  stop(): void {
    this.unsubscribe();
    this.timers.clear();
  }

  private observe(event: StoreEvent): void {
    if (event.type === 'DELETED') {
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
    const spec = claim.spec as ClaimSpec;
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
      typeof storageClass.provisioner === 'string' ? storageClass.provisioner : 'sim.csi.odc.dev';
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
      },
      status: { phase: 'Bound' },
    });
    current.spec = { ...spec, volumeName, storageClassName: storageClass.metadata.name };
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
    const status = snapshot.status as { readyToUse?: boolean; error?: unknown } | undefined;
    if (status?.readyToUse || status?.error || snapshot.metadata.deletionTimestamp) {
      return;
    }
    this.later(`snapshot/${snapshot.metadata.uid}`, this.timings.snapshotReadyMs, () => this.cut(snapshot));
  }

  private cut(snapshot: K8sObject): void {
    const current = this.store.get(SNAPSHOT, snapshot.metadata.namespace, snapshot.metadata.name);
    if (!current || current.metadata.uid !== snapshot.metadata.uid) {
      return;
    }
    const source = (current.spec as { source?: { persistentVolumeClaimName?: string } }).source
      ?.persistentVolumeClaimName;
    const claim = source ? this.store.get(PVC, current.metadata.namespace, source) : undefined;
    const capacity = (claim?.status as { phase?: string; capacity?: { storage?: string } } | undefined)
      ?.capacity?.storage;
    if (!capacity) {
      return; // as the snapshot controller does, wait until the source claim is bound
    }
    current.status = {
      readyToUse: true,
      restoreSize: capacity,
      creationTime: k8sNow(),
      boundVolumeSnapshotContentName: `snapcontent-${current.metadata.uid}`,
    };
    delete current.metadata.resourceVersion;
    this.store.update(SNAPSHOT, current);
  }
}

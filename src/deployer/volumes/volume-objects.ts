/**
 * The cluster objects behind disks and snapshots as the deployer reads them, and which of them are
 * its own: only objects it manages are ever read back, changed or deleted.
 */
import type { KubernetesObject } from '@kubernetes/client-node';
import { LABELS, MANAGED_BY } from '../contract';

export const SNAPSHOT_API = 'snapshot.storage.k8s.io/v1';

export type Claim = KubernetesObject & {
  spec?: {
    resources?: { requests?: { storage?: string } };
    storageClassName?: string;
    volumeName?: string;
    dataSource?: { kind?: string; name?: string };
  };
  status?: { phase?: string; capacity?: { storage?: string } };
};

export type Snapshot = KubernetesObject & {
  spec?: {
    source?: { persistentVolumeClaimName?: string; volumeSnapshotContentName?: string };
    volumeSnapshotClassName?: string;
  };
  status?: {
    readyToUse?: boolean;
    restoreSize?: string;
    error?: { message?: string };
    boundVolumeSnapshotContentName?: string;
  };
};

/** What the backend knows the snapshot by: the content a VolumeSnapshot is bound to. */
export type SnapshotContent = KubernetesObject & {
  spec?: {
    driver?: string;
    source?: { snapshotHandle?: string };
    volumeSnapshotRef?: { name?: string; namespace?: string };
  };
  status?: { snapshotHandle?: string };
};

export type PodWithVolumes = KubernetesObject & {
  spec?: { volumes?: { persistentVolumeClaim?: { claimName?: string } }[] };
  status?: { phase?: string };
};

export const isManaged = (object: KubernetesObject | undefined) =>
  object?.metadata?.labels?.[LABELS.managedBy] === MANAGED_BY;

/** A persistent disk's claim: managed, and labelled as a disk (a deployment's scratch claim is not one). */
export const isDisk = (object: KubernetesObject | undefined) =>
  isManaged(object) && object?.metadata?.labels?.[LABELS.persistentDisk] !== undefined;

/** The pre-provisioned content a snapshot imports, when it is an import. */
export const importedContentOf = (snapshot: Snapshot) => snapshot.spec?.source?.volumeSnapshotContentName;

/** The content a snapshot is bound to, or (an import not bound yet) the one it names. */
export const contentNameOf = (snapshot: Snapshot) =>
  snapshot.status?.boundVolumeSnapshotContentName ?? importedContentOf(snapshot);

/** A content is a snapshot's when it refers back to it (a status cannot hand us another's handle). */
export function isContentOf(content: SnapshotContent | undefined, namespace: string, name: string): boolean {
  const ref = content?.spec?.volumeSnapshotRef;
  return ref?.namespace === namespace && ref.name === name;
}

/** A static volume is ours when we made it for exactly this claim. */
export function isStaticVolumeOf(volume: KubernetesObject, namespace: string, name: string): boolean {
  const claim = (volume as { spec?: { claimRef?: { namespace?: string; name?: string } } }).spec?.claimRef;
  return isManaged(volume) && claim?.namespace === namespace && claim.name === name;
}

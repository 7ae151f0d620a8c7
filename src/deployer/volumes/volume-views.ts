/** What the deployer's API answers for a disk's claim and for a snapshot. */
import type { KubernetesObject } from '@kubernetes/client-node';
import type { SnapshotInfo, VolumeInfo } from '../contract';
import {
  importedContentOf,
  isContentOf,
  type Claim,
  type PodWithVolumes,
  type Snapshot,
  type SnapshotContent,
} from './volume-objects';

/** `pods`: the running ones in the claim's namespace; those that mount it are its users. */
export function volumeInfo(claim: Claim, pods: PodWithVolumes[]): VolumeInfo {
  const name = claim.metadata?.name ?? '';
  const snapshot = claim.spec?.dataSource?.kind === 'VolumeSnapshot' ? claim.spec.dataSource.name : undefined;
  return {
    name,
    namespace: claim.metadata?.namespace ?? '',
    phase: claim.status?.phase ?? 'Pending',
    requested_size: claim.spec?.resources?.requests?.storage ?? '',
    ...(claim.status?.capacity?.storage ? { capacity: claim.status.capacity.storage } : {}),
    ...(claim.spec?.storageClassName ? { storage_class: claim.spec.storageClassName } : {}),
    ...(claim.spec?.volumeName ? { volume_name: claim.spec.volumeName } : {}),
    ...(snapshot ? { from_snapshot: snapshot } : {}),
    ...(claim.metadata?.creationTimestamp
      ? { created_at: new Date(claim.metadata.creationTimestamp).toISOString() }
      : {}),
    used_by: pods
      .filter((pod) => (pod.spec?.volumes ?? []).some((v) => v.persistentVolumeClaim?.claimName === name))
      .map((pod) => pod.metadata?.name ?? ''),
    labels: claim.metadata?.labels ?? {},
  };
}

/** `content`: the one it is bound to (or imports), when there is one; it gives the handle and driver. */
export function snapshotInfo(snapshot: Snapshot, content: KubernetesObject | undefined): SnapshotInfo {
  const name = snapshot.metadata?.name ?? '';
  const namespace = snapshot.metadata?.namespace ?? '';
  const backend = isContentOf(content, namespace, name) ? (content as SnapshotContent) : undefined;
  const handle = backend?.status?.snapshotHandle ?? backend?.spec?.source?.snapshotHandle;
  return {
    name,
    namespace,
    volume: snapshot.spec?.source?.persistentVolumeClaimName ?? '',
    ...(snapshot.spec?.volumeSnapshotClassName
      ? { snapshot_class: snapshot.spec.volumeSnapshotClassName }
      : {}),
    ...(handle ? { snapshot_handle: handle } : {}),
    ...(backend?.spec?.driver ? { driver: backend.spec.driver } : {}),
    ...(importedContentOf(snapshot) ? { imported: true } : {}),
    ready_to_use: snapshot.status?.readyToUse ?? false,
    ...(snapshot.status?.restoreSize ? { restore_size: snapshot.status.restoreSize } : {}),
    ...(snapshot.status?.error?.message ? { error: snapshot.status.error.message } : {}),
    ...(snapshot.metadata?.creationTimestamp
      ? { created_at: new Date(snapshot.metadata.creationTimestamp).toISOString() }
      : {}),
    labels: snapshot.metadata?.labels ?? {},
  };
}

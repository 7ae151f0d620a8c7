import type { ProviderSnapshot } from '../providers/storage-provider';
import type { Snapshot, SnapshotStatus } from './snapshot.entity';

/** A snapshot row as plain SQL (json_build_object) returns it. */
export interface SnapshotRow {
  id: string;
  provider_snapshot_id: string | null;
  cluster_id: string | null;
  volume_id: string;
  status: SnapshotStatus;
  size_gb: number | null;
  portable_handle: string | null;
  driver: string | null;
}

/** What the provider knows of a snapshot the database records. */
export function providerSnapshotOf(row: SnapshotRow): ProviderSnapshot {
  return {
    snapshotId: row.provider_snapshot_id ?? '',
    ...(row.cluster_id ? { clusterId: row.cluster_id } : {}),
    volumeId: row.volume_id,
    state: row.status === 'ready' ? 'ready' : row.status === 'pending' ? 'pending' : 'failed',
    ...(row.size_gb !== null ? { sizeGb: row.size_gb } : {}),
    ...(row.portable_handle && row.driver
      ? { portable: { handle: row.portable_handle, driver: row.driver } }
      : {}),
    tags: {},
  };
}

export function providerSnapshotOfEntity(snapshot: Snapshot): ProviderSnapshot {
  return providerSnapshotOf({
    id: snapshot.id,
    provider_snapshot_id: snapshot.providerSnapshotId,
    cluster_id: snapshot.clusterId,
    volume_id: snapshot.volumeId,
    status: snapshot.status,
    size_gb: snapshot.sizeGb,
    portable_handle: snapshot.portableHandle,
    driver: snapshot.driver,
  });
}

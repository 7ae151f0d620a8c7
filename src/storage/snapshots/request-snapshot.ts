import type { EntityManager } from 'typeorm';
import type { QueueService } from '../../infra/queue/queue.service';
import type { Disk } from '../disks/disk.entity';
import { SNAPSHOT_QUEUE } from '../storage-queues';
import { Snapshot, type SnapshotReason } from './snapshot.entity';

/** The provider's name for a snapshot row's snapshot: a DNS label, the same on every retry. */
export function snapshotName(snapshotId: string): string {
  return `odc-snap-${snapshotId.replaceAll('-', '').slice(0, 20)}`;
}

/**
 * A snapshot of the disk's volume, asked for in `tx`: its row (which names it) and its job commit
 * together. At the end of a reservation there is at most one (a unique index): a second ask for
 * the same reservation fails with a unique violation, which the caller takes as "already asked".
 */
export async function requestSnapshot(
  tx: EntityManager,
  jobs: QueueService,
  disk: Disk,
  reason: SnapshotReason,
  reservationId?: string,
): Promise<Snapshot> {
  if (!disk.volumeId) {
    throw new Error(`disk ${disk.id} has no volume to snapshot`);
  }
  const snapshots = tx.getRepository(Snapshot);
  const snapshot = await snapshots.save(
    snapshots.create({
      diskId: disk.id,
      ownerId: disk.ownerId,
      reason,
      reservationId: reservationId ?? null,
      volumeId: disk.volumeId,
      clusterId: disk.volumeClusterId,
    }),
  );
  await jobs.send(SNAPSHOT_QUEUE, { snapshot_id: snapshot.id }, { manager: tx });
  return snapshot;
}

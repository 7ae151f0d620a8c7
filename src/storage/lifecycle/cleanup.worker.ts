import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, In, Not } from 'typeorm';
import { QueueService } from '../../infra/queue/queue.service';
import { Disk } from '../disks/disk.entity';
import { StorageProviderError } from '../providers/storage-provider.errors';
import { STORAGE_PROVIDER, type StorageProvider } from '../providers/storage-provider';
import { Snapshot } from '../snapshots/snapshot.entity';
import {
  DELETE_SNAPSHOT_QUEUE,
  DELETE_VOLUME_QUEUE,
  PURGE_DISK_QUEUE,
  type DeleteVolumeJob,
} from '../storage-queues';

const KEPT_SNAPSHOT_POLL_SECONDS = 5;

/**
 * Worker role: deleting what no disk needs any more — a volume a disk moved away from, snapshots
 * past retention, and a soft-deleted disk past its grace (its snapshots, then its volume). Deleting
 * what is already gone is done; a volume still mounted is tried again later.
 */
@Injectable()
export class CleanupWorker implements OnApplicationBootstrap {
  private readonly logger = new Logger('StorageCleanup');

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly jobs: QueueService,
    @Inject(STORAGE_PROVIDER) private readonly provider: StorageProvider,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.jobs.workEach<DeleteVolumeJob>(DELETE_VOLUME_QUEUE, { batchSize: 8 }, (job) =>
      this.deleteVolume(job.data),
    );
    await this.jobs.workEach<{ snapshot_id: string }>(DELETE_SNAPSHOT_QUEUE, { batchSize: 16 }, (job) =>
      this.deleteSnapshot(job.data.snapshot_id),
    );
    await this.jobs.workEach<{ disk_id: string }>(PURGE_DISK_QUEUE, { batchSize: 4 }, (job) =>
      this.purge(job.data.disk_id),
    );
  }

  /**
   * Unless the disk has come back to this very volume (it never does: names carry generations), and
   * only once the snapshot kept of it first is ready: pending, this job comes back later; failed,
   * the volume stays (the reconciler reports it; an operator decides).
   */
  async deleteVolume(job: DeleteVolumeJob): Promise<void> {
    const stillUsed = await this.dataSource
      .getRepository(Disk)
      .existsBy({ id: job.disk_id, volumeId: job.volume_id, status: Not('purged') });
    if (stillUsed) {
      return;
    }
    if (job.after_snapshot_id) {
      const kept = await this.dataSource.getRepository(Snapshot).findOneBy({ id: job.after_snapshot_id });
      if (kept?.status === 'pending') {
        await this.jobs.send(DELETE_VOLUME_QUEUE, job, { startAfter: KEPT_SNAPSHOT_POLL_SECONDS });
        return;
      }
      if (kept?.status !== 'ready') {
        this.logger.warn(
          { ...job, snapshot: kept?.status ?? 'gone' },
          'volume kept: its snapshot did not succeed',
        );
        return;
      }
    }
    await gone(() =>
      this.provider.deleteVolume({
        volumeId: job.volume_id,
        ...(job.cluster_id ? { clusterId: job.cluster_id } : {}),
      }),
    );
  }

  /**
   * A snapshot a disk is to be restored from is kept, whatever retention says. It is marked first
   * (`deleted_at`, under the row's lock, which a restore choosing this snapshot takes too: one of
   * the two sees the other's outcome), then deleted at the provider outside any transaction (a slow
   * provider holds no database connection), then recorded as deleted. A retry finds the mark and
   * goes on.
   */
  async deleteSnapshot(id: string): Promise<void> {
    const marked = await this.dataSource.transaction(async (tx) => {
      const snapshot = await tx
        .getRepository(Snapshot)
        .findOne({ where: { id, status: Not('deleted') }, lock: { mode: 'pessimistic_write' } });
      if (!snapshot || (await tx.getRepository(Disk).existsBy({ restoreFrom: id }))) {
        return undefined;
      }
      await tx.getRepository(Snapshot).update({ id }, { deletedAt: snapshot.deletedAt ?? new Date() });
      return snapshot;
    });
    if (!marked) {
      return;
    }
    if (marked.providerSnapshotId) {
      await gone(() =>
        this.provider.deleteSnapshot({
          snapshotId: marked.providerSnapshotId!,
          ...(marked.clusterId ? { clusterId: marked.clusterId } : {}),
        }),
      );
    }
    await this.dataSource.getRepository(Snapshot).update({ id }, { status: 'deleted' });
  }

  /**
   * A deleted disk past its grace: marked purged first, guarded on the database's clock (undelete
   * checks the same clock, so the two cannot both win), then its snapshots and its volume go. A
   * purge that died midway is taken up again (purged, its volume still recorded).
   */
  async purge(diskId: string): Promise<void> {
    // Read back through a SELECT: TypeORM answers a bare UPDATE … RETURNING as [rows, count].
    const [claimed] = await this.dataSource.query<Pick<Disk, 'volumeId' | 'volumeClusterId'>[]>(
      `WITH claimed AS (
         UPDATE disks SET status = 'purged', restore_from = NULL, version = version + 1
         WHERE id = $1 AND in_use_by IS NULL
           AND ((status = 'deleted' AND purge_after <= now()) OR (status = 'purged' AND volume_id IS NOT NULL))
         RETURNING volume_id, volume_cluster_id)
       SELECT volume_id AS "volumeId", volume_cluster_id AS "volumeClusterId" FROM claimed`,
      [diskId],
    );
    if (!claimed) {
      return;
    }
    const snapshots = await this.dataSource
      .getRepository(Snapshot)
      .findBy({ diskId, status: In(['pending', 'ready', 'failed']) });
    for (const snapshot of snapshots) {
      await this.deleteSnapshot(snapshot.id);
    }
    if (claimed.volumeId) {
      await gone(() =>
        this.provider.deleteVolume({
          volumeId: claimed.volumeId!,
          ...(claimed.volumeClusterId ? { clusterId: claimed.volumeClusterId } : {}),
        }),
      );
    }
    await this.dataSource
      .getRepository(Disk)
      .update({ id: diskId, status: 'purged' }, { volumeId: null, volumeClusterId: null });
  }
}

/** Deleting what the provider no longer has is done. */
async function gone(remove: () => Promise<void>): Promise<void> {
  try {
    await remove();
  } catch (error) {
    if (!(error instanceof StorageProviderError && error.kind === 'not_found')) {
      throw error;
    }
  }
}

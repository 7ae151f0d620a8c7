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
   * A snapshot a disk is to be restored from is kept, whatever retention says. Deleted under the
   * row's lock, which a restore choosing this snapshot takes too: one of the two sees the other's
   * outcome (a restore from a snapshot being deleted is refused, a snapshot chosen meanwhile kept).
   */
  async deleteSnapshot(id: string): Promise<void> {
    await this.dataSource.transaction(async (tx) => {
      const snapshot = await tx
        .getRepository(Snapshot)
        .findOne({ where: { id, status: Not('deleted') }, lock: { mode: 'pessimistic_write' } });
      if (!snapshot || (await tx.getRepository(Disk).existsBy({ restoreFrom: id }))) {
        return;
      }
      if (snapshot.providerSnapshotId) {
        await gone(() =>
          this.provider.deleteSnapshot({
            snapshotId: snapshot.providerSnapshotId!,
            ...(snapshot.clusterId ? { clusterId: snapshot.clusterId } : {}),
          }),
        );
      }
      await tx.getRepository(Snapshot).update({ id }, { status: 'deleted', deletedAt: new Date() });
    });
  }

  async purge(diskId: string): Promise<void> {
    const disk = await this.dataSource.getRepository(Disk).findOneBy({ id: diskId, status: 'deleted' });
    if (!disk?.purgeAfter || disk.purgeAfter > new Date() || disk.inUseBy) {
      return;
    }
    const snapshots = await this.dataSource
      .getRepository(Snapshot)
      .findBy({ diskId, status: In(['pending', 'ready', 'failed']) });
    for (const snapshot of snapshots) {
      await this.deleteSnapshot(snapshot.id);
    }
    if (disk.volumeId) {
      await gone(() =>
        this.provider.deleteVolume({
          volumeId: disk.volumeId!,
          ...(disk.volumeClusterId ? { clusterId: disk.volumeClusterId } : {}),
        }),
      );
    }
    await this.dataSource
      .getRepository(Disk)
      .update({ id: diskId, status: 'deleted' }, { status: 'purged', volumeId: null, volumeClusterId: null });
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

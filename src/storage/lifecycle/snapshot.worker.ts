import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { StorageConfig } from '../storage.config';
import { QueueService } from '../../infra/queue/queue.service';
import { Disk } from '../disks/disk.entity';
import { StorageProviderError } from '../providers/storage-provider.errors';
import {
  STORAGE_PROVIDER,
  STORAGE_TAGS,
  type ProviderSnapshot,
  type SnapshotRef,
  type StorageProvider,
} from '../providers/storage-provider';
import { snapshotName } from '../snapshots/request-snapshot';
import { Snapshot } from '../snapshots/snapshot.entity';
import { RELEASE_DISK_QUEUE, SNAPSHOT_QUEUE } from '../storage-queues';
import { diskTags } from '../volumes/disk-volumes';

/** The columns a snapshot's end sets. */
type SnapshotEnd = Partial<
  Pick<Snapshot, 'status' | 'error' | 'readyAt' | 'sizeGb' | 'portableHandle' | 'driver'>
>;

/** How long one job waits for a snapshot before handing over to a later job (workers stay free). */
const WAIT_PER_JOB_MS = 10_000;
const POLL_MS = 250;
const FOLLOW_UP_SECONDS = 2;
/** Where reads are eventually consistent (EC2), "not found" this soon after asking may be stale. */
const NOT_FOUND_GRACE_MS = 60_000;

/**
 * Worker role: takes a snapshot row's snapshot (by the row's name, so a job that died after asking
 * finds the one it asked for instead of taking a second), waits for it in short spells, and records
 * how it ended: ready (size, and the backend handle other clusters can restore it by), failed, or
 * failed for taking longer than ODC_DISK_SNAPSHOT_TIMEOUT_SECONDS. An end-of-use snapshot then
 * hands the disk to its release.
 */
@Injectable()
export class SnapshotWorker implements OnApplicationBootstrap {
  private readonly logger = new Logger('Snapshots');

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly jobs: QueueService,
    private readonly config: StorageConfig,
    @Inject(STORAGE_PROVIDER) private readonly provider: StorageProvider,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.jobs.workEach<{ snapshot_id: string }>(
      SNAPSHOT_QUEUE,
      { batchSize: 8, localConcurrency: 4 },
      (job) => this.take(job.data.snapshot_id),
    );
  }

  async take(id: string): Promise<void> {
    const snapshot = await this.dataSource.getRepository(Snapshot).findOneBy({ id, status: 'pending' });
    if (!snapshot) {
      return;
    }
    const timeoutAt = snapshot.createdAt.getTime() + this.config.ODC_DISK_SNAPSHOT_TIMEOUT_SECONDS * 1000;
    let current: ProviderSnapshot;
    try {
      const ref = await this.asked(snapshot);
      current = await this.provider.waitForSnapshot(ref, {
        timeoutMs: Math.max(0, Math.min(WAIT_PER_JOB_MS, timeoutAt - Date.now())),
        intervalMs: POLL_MS,
      });
    } catch (error) {
      // Whatever keeps failing (the snapshot gone, its cluster away for good) ends at the timeout
      // too: a disk waiting on this snapshot is never held forever.
      const final =
        error instanceof StorageProviderError &&
        (error.kind === 'not_found' ? this.believedGone(snapshot) : !error.retryable);
      if (final || Date.now() >= timeoutAt) {
        await this.finish(snapshot, { status: 'failed', error: (error as Error).message });
        return;
      }
      throw error;
    }
    if (current.state === 'ready') {
      await this.finish(snapshot, readyFields(current));
    } else if (current.state === 'failed') {
      await this.finish(snapshot, {
        status: 'failed',
        error: current.error ?? 'the provider reported a failure',
      });
    } else if (Date.now() >= timeoutAt) {
      await this.finish(snapshot, {
        status: 'failed',
        error: `not ready after ${this.config.ODC_DISK_SNAPSHOT_TIMEOUT_SECONDS} s`,
      });
    } else {
      await this.jobs.send(
        SNAPSHOT_QUEUE,
        { snapshot_id: id },
        { startAfter: FOLLOW_UP_SECONDS, singletonKey: `follow-up:${id}` },
      );
    }
  }

  /**
   * The provider's snapshot of this row: asked for now, unless an earlier run did. Asked under the
   * row's lock, so two jobs for one row (a retry and a re-drive after a crash) ask once: the second
   * waits, then finds the first's answer (a provider without a name-keyed create, like EBS, would
   * otherwise take two).
   */
  private async asked(snapshot: Snapshot): Promise<SnapshotRef> {
    const clusterId = snapshot.clusterId ?? undefined;
    const refOf = (snapshotId: string, where = clusterId) => ({
      snapshotId,
      ...(where ? { clusterId: where } : {}),
    });
    if (snapshot.providerSnapshotId) {
      return refOf(snapshot.providerSnapshotId);
    }
    return this.dataSource.transaction(async (tx) => {
      const row = await tx
        .getRepository(Snapshot)
        .findOne({ where: { id: snapshot.id }, lock: { mode: 'pessimistic_write' } });
      if (row?.providerSnapshotId) {
        return refOf(row.providerSnapshotId);
      }
      if (row?.status !== 'pending') {
        throw new StorageProviderError(
          'invalid',
          this.provider.name,
          `snapshot ${snapshot.id} is no longer wanted`,
        );
      }
      const disk = await tx.getRepository(Disk).findOneByOrFail({ id: snapshot.diskId });
      const name = snapshotName(snapshot.id);
      const made = await this.provider.createSnapshot({
        name,
        volume: { volumeId: snapshot.volumeId, ...(clusterId ? { clusterId } : {}) },
        description: `ODC disk ${disk.name} (${snapshot.reason})`,
        tags: { ...diskTags(disk), [STORAGE_TAGS.snapshotName]: name },
      });
      await tx.getRepository(Snapshot).update({ id: snapshot.id }, { providerSnapshotId: made.snapshotId });
      return refOf(made.snapshotId, made.clusterId);
    });
  }

  /** "Not found": believed at once where the provider's reads are consistent, else after a grace. */
  private believedGone(snapshot: Snapshot): boolean {
    return (
      !this.provider.eventuallyConsistent || Date.now() - snapshot.createdAt.getTime() > NOT_FOUND_GRACE_MS
    );
  }

  /**
   * Its end, once (guarded on pending); an end-of-use snapshot (the one that names a reservation)
   * sends its disk on to its release.
   */
  private async finish(snapshot: Snapshot, fields: SnapshotEnd): Promise<void> {
    await this.dataSource.transaction(async (tx) => {
      const ended = await tx.getRepository(Snapshot).update({ id: snapshot.id, status: 'pending' }, fields);
      if (ended.affected === 1 && snapshot.reservationId) {
        await this.jobs.send(RELEASE_DISK_QUEUE, { reservation_id: snapshot.reservationId }, { manager: tx });
      }
    });
    if (fields.status === 'failed') {
      this.logger.warn(
        { snapshot: snapshot.id, disk: snapshot.diskId, error: fields.error },
        'snapshot failed',
      );
    }
  }
}

function readyFields(current: ProviderSnapshot): SnapshotEnd {
  return {
    status: 'ready',
    readyAt: new Date(),
    ...(current.sizeGb !== undefined ? { sizeGb: current.sizeGb } : {}),
    ...(current.portable ? { portableHandle: current.portable.handle, driver: current.portable.driver } : {}),
  };
}

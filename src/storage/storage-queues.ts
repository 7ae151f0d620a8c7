import { Injectable, type OnModuleInit } from '@nestjs/common';
import { QueueService } from '../infra/queue/queue.service';

const HEARTBEAT_SECONDS = 10;

/** A reservation with a disk has ended: snapshot the disk (unless no_persist), then release it. */
export const RELEASE_DISK_QUEUE = 'storage.release';
/** Takes (or goes on waiting for) one snapshot row's snapshot. */
export const SNAPSHOT_QUEUE = 'storage.snapshot';
/** Deletes one snapshot at the provider (retention, purge), then marks its row. */
export const DELETE_SNAPSHOT_QUEUE = 'storage.delete-snapshot';
/** Deletes a volume a disk no longer uses (it moved, was restored in place, or was purged). */
export const DELETE_VOLUME_QUEUE = 'storage.delete-volume';
/** A soft-deleted disk past its grace: its snapshots and volume deleted, its row purged. */
export const PURGE_DISK_QUEUE = 'storage.purge';

export interface DeleteVolumeJob {
  disk_id: string;
  volume_id: string;
  cluster_id?: string;
  /** Only once this snapshot of the volume is ready (its data kept); never if it fails. */
  after_snapshot_id?: string;
}

/** The storage queues exist before any replica sends to them (pg-boss refuses unknown queues). */
@Injectable()
export class StorageQueues implements OnModuleInit {
  constructor(private readonly jobs: QueueService) {}

  async onModuleInit(): Promise<void> {
    const common = { retryBackoff: true, heartbeatSeconds: HEARTBEAT_SECONDS };
    // A cluster or the cloud may be away for a while: these keep trying, the storage cron re-drives them after.
    const patient = { retryLimit: 30, retryDelay: 5, retryDelayMax: 300, ...common };
    for (const name of [
      RELEASE_DISK_QUEUE,
      SNAPSHOT_QUEUE,
      DELETE_SNAPSHOT_QUEUE,
      DELETE_VOLUME_QUEUE,
      PURGE_DISK_QUEUE,
    ]) {
      await this.jobs.defineQueue({ name, ...patient });
    }
  }
}

import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { StorageConfig } from '../storage.config';
import { ExclusiveTaskRunner } from '../../infra/cron/exclusive-task.runner';
import { PeriodicTask } from '../../infra/cron/periodic-task';
import { QueueService } from '../../infra/queue/queue.service';
import { DISK_HOLDERS, type DiskHolders } from '../ports';
import {
  DELETE_SNAPSHOT_QUEUE,
  PURGE_DISK_QUEUE,
  RELEASE_DISK_QUEUE,
  SNAPSHOT_QUEUE,
} from '../storage-queues';

export const STORAGE_TASK = 'storage.maintenance';

const DAY_MS = 24 * 3600_000;
/** Work per tick, per kind: a backlog drains over several ticks instead of one long one. */
const BATCH = 100;
/** A pending snapshot this old with no follow-up would be stuck: its job is sent again. */
const SNAPSHOT_STALL_SECONDS = 60;

export interface StorageRound {
  releases: number;
  snapshots: number;
  expiredSnapshots: number;
  purges: number;
}

/**
 * Cron (exactly once across replicas), every ODC_STORAGE_INTERVAL_SECONDS: re-drives what a lost
 * job would leave stuck (a disk still held by an ended reservation, a snapshot pending with no
 * follow-up), applies snapshot retention (per disk keep the ODC_SNAPSHOT_KEEP newest ready ones;
 * delete the rest once older than ODC_SNAPSHOT_MAX_AGE_DAYS, failed ones at that age, and those a
 * purge kept for another disk's restore once that restore is done) and
 * purges soft-deleted disks past their grace. It only sends jobs (singletons), so a tick is quick
 * and bounded whatever the backlog.
 */
@Injectable()
export class StorageTask extends PeriodicTask {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly jobs: QueueService,
    runner: ExclusiveTaskRunner,
    private readonly config: StorageConfig,
    @Inject(DISK_HOLDERS) private readonly holders: DiskHolders,
  ) {
    super(runner, STORAGE_TASK, config.ODC_STORAGE_INTERVAL_SECONDS * 1000);
  }

  protected runRound(): Promise<StorageRound> {
    return this.round();
  }

  async round(now = this.clock.now()): Promise<StorageRound> {
    return {
      releases: await this.redriveReleases(),
      snapshots: await this.redriveSnapshots(now),
      expiredSnapshots: await this.expireSnapshots(now),
      purges: await this.purgeDeleted(now),
    };
  }

  private async redriveReleases(): Promise<number> {
    const ended = await this.holders.endedHoldingDisks(BATCH);
    for (const reservation_id of ended) {
      await this.jobs.send(
        RELEASE_DISK_QUEUE,
        { reservation_id },
        { singletonKey: `redrive:${reservation_id}`, singletonSeconds: this.periodMs / 1000 },
      );
    }
    return ended.length;
  }

  private async redriveSnapshots(now: Date): Promise<number> {
    const stalled = await this.dataSource.query<{ id: string }[]>(
      `SELECT id FROM snapshots WHERE status = 'pending' AND created_at < $1 ORDER BY created_at LIMIT ${BATCH}`,
      [new Date(now.getTime() - SNAPSHOT_STALL_SECONDS * 1000)],
    );
    for (const { id } of stalled) {
      await this.jobs.send(
        SNAPSHOT_QUEUE,
        { snapshot_id: id },
        { singletonKey: `redrive:${id}`, singletonSeconds: this.periodMs / 1000 },
      );
    }
    return stalled.length;
  }

  private async expireSnapshots(now: Date): Promise<number> {
    const expired = await this.dataSource.query<{ id: string }[]>(
      `SELECT id FROM (
         SELECT s.id, s.status, s.created_at,
                row_number() OVER (PARTITION BY s.disk_id ORDER BY s.created_at DESC) AS newest
         FROM snapshots s WHERE s.status = 'ready') ranked
       WHERE newest > $1 AND created_at < $2
         AND NOT EXISTS (SELECT 1 FROM disks d WHERE d.restore_from = ranked.id)
       UNION ALL
       SELECT id FROM snapshots WHERE status = 'failed' AND created_at < $2
       UNION ALL
       SELECT s.id FROM snapshots s JOIN disks d ON d.id = s.disk_id
       WHERE d.status = 'purged' AND s.status <> 'deleted'
         AND NOT EXISTS (SELECT 1 FROM disks r WHERE r.restore_from = s.id)
       LIMIT ${BATCH}`,
      [
        this.config.ODC_SNAPSHOT_KEEP,
        new Date(now.getTime() - this.config.ODC_SNAPSHOT_MAX_AGE_DAYS * DAY_MS),
      ],
    );
    for (const { id } of expired) {
      await this.jobs.send(DELETE_SNAPSHOT_QUEUE, { snapshot_id: id }, { singletonKey: `delete:${id}` });
    }
    return expired.length;
  }

  private async purgeDeleted(now: Date): Promise<number> {
    const due = await this.dataSource.query<{ id: string }[]>(
      `SELECT id FROM disks WHERE in_use_by IS NULL
         AND ((status = 'deleted' AND purge_after <= $1) OR (status = 'purged' AND volume_id IS NOT NULL))
       LIMIT ${BATCH}`,
      [now],
    );
    for (const { id } of due) {
      await this.jobs.send(PURGE_DISK_QUEUE, { disk_id: id }, { singletonKey: `purge:${id}` });
    }
    return due.length;
  }
}

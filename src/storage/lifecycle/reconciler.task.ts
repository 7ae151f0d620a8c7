import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, In, Not } from 'typeorm';
import { AuditService } from '../../audit/public';
import { ClusterRegistry } from '../../clusters/public';
import { StorageConfig } from '../storage.config';
import { ExclusiveTaskRunner } from '../../infra/cron/exclusive-task.runner';
import { PeriodicTask } from '../../infra/cron/periodic-task';
import { Disk } from '../disks/disk.entity';
import {
  STORAGE_PROVIDER,
  STORAGE_TAGS,
  type ListScope,
  type ProviderSnapshot,
  type ProviderVolume,
  type StorageProvider,
} from '../providers/storage-provider';
import { Snapshot } from '../snapshots/snapshot.entity';

export const RECONCILE_TASK = 'storage.reconcile';

/**
 * Objects younger than this, and disks changed more recently, wait for the next round: a provision
 * may be between making a volume and recording it.
 */
export const SETTLE_MS = 10 * 60_000;

export interface ReconcileFinding {
  kind: 'volume' | 'snapshot';
  id: string;
  clusterId?: string;
  diskId?: string;
}

export interface ReconcileReport {
  /** Clusters (k8s-csi) or estates (aws-ebs) compared. */
  scopes: number;
  /** Scopes that could not be listed (left for the next round; nothing concluded from them). */
  unreachable: string[];
  /** ODC-tagged objects no disk owns: labelled `odc.dev/quarantined`, reported, never deleted. */
  quarantined: ReconcileFinding[];
  /** Disks whose volume is gone: status `lost` (their snapshots may restore them). */
  lostDisks: string[];
  /** Ready snapshots the provider no longer has: status `failed`. */
  lostSnapshots: string[];
  /** k8s-csi: snapshots imported from another cluster whose restore is done, deleted (they hold no data). */
  spentImports: string[];
}

/**
 * Cron (exactly once across replicas, under its advisory lock), every
 * ODC_STORAGE_RECONCILE_INTERVAL_SECONDS: the database against what the provider has, per cluster
 * (k8s-csi) or across the estate (aws-ebs). It deletes nothing of users' (only its own spent
 * snapshot imports, which hold no data): an ODC-tagged volume or snapshot
 * that no disk owns is quarantined (labelled with the date, reported in the audit log) for an
 * operator to look at; a disk whose volume vanished becomes `lost` with the reason, a snapshot that
 * vanished `failed`. A scope that cannot be listed concludes nothing.
 */
@Injectable()
export class ReconcilerTask extends PeriodicTask {
  private readonly logger = new Logger('Reconciler');

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    runner: ExclusiveTaskRunner,
    private readonly registry: ClusterRegistry,
    private readonly audit: AuditService,
    @Inject(STORAGE_PROVIDER) private readonly provider: StorageProvider,
    config: StorageConfig,
  ) {
    super(runner, RECONCILE_TASK, config.ODC_STORAGE_RECONCILE_INTERVAL_SECONDS * 1000);
  }

  protected runRound(): Promise<ReconcileReport> {
    return this.round();
  }

  async round(now = this.clock.now()): Promise<ReconcileReport> {
    const report: ReconcileReport = {
      scopes: 0,
      unreachable: [],
      quarantined: [],
      lostDisks: [],
      lostSnapshots: [],
      spentImports: [],
    };
    for (const scope of this.scopes()) {
      let listed: { volumes: ProviderVolume[]; snapshots: ProviderSnapshot[] };
      try {
        const [volumes, snapshots] = await Promise.all([
          this.provider.listVolumes(scope),
          this.provider.listSnapshots(scope),
        ]);
        listed = { volumes: volumes.filter(isOdcs), snapshots: snapshots.filter(isOdcs) };
      } catch (error) {
        report.unreachable.push(scope.clusterId ?? this.provider.name);
        this.logger.warn({ scope, error: (error as Error).message }, 'could not list storage; skipped');
        continue;
      }
      report.scopes += 1;
      await this.compareVolumes(scope, listed.volumes, now, report);
      await this.compareSnapshots(scope, listed.snapshots, now, report);
      await this.dropSpentImports(listed.volumes, listed.snapshots, now, report);
    }
    if (report.quarantined.length + report.lostDisks.length + report.lostSnapshots.length > 0) {
      this.logger.warn(report, 'storage reconciled: findings');
    }
    return report;
  }

  /** k8s-csi: every registered cluster; otherwise the provider's whole estate at once. */
  private scopes(): ListScope[] {
    return this.provider.name === 'k8s-csi'
      ? this.registry.all().map((cluster) => ({ clusterId: cluster.id }))
      : [{}];
  }

  private async compareVolumes(
    scope: ListScope,
    volumes: ProviderVolume[],
    now: Date,
    report: ReconcileReport,
  ): Promise<void> {
    const disks = await this.dataSource.getRepository(Disk).findBy({
      status: Not('purged'),
      provider: this.provider.name,
      ...(scope.clusterId ? { volumeClusterId: scope.clusterId } : {}),
    });
    const tracked = new Set(disks.flatMap((disk) => disk.volumeId ?? []));
    for (const volume of volumes) {
      if (
        !tracked.has(volume.volumeId) &&
        settled(volume.createdAt, now) &&
        !volume.tags[STORAGE_TAGS.quarantined]
      ) {
        await this.provider.tagVolume(volume, { [STORAGE_TAGS.quarantined]: labelDate(now) });
        await this.quarantined(report, { kind: 'volume', id: volume.volumeId, ...findingScope(volume) });
      }
    }
    const present = new Set(volumes.map((volume) => volume.volumeId));
    for (const disk of disks) {
      if (
        disk.status === 'ready' &&
        disk.volumeId &&
        !present.has(disk.volumeId) &&
        settled(disk.updatedAt, now)
      ) {
        await this.markLost(disk, report);
      }
    }
  }

  private async compareSnapshots(
    scope: ListScope,
    snapshots: ProviderSnapshot[],
    now: Date,
    report: ReconcileReport,
  ): Promise<void> {
    const rows = await this.dataSource.getRepository(Snapshot).findBy({
      status: In(['pending', 'ready', 'failed']),
      disk: { provider: this.provider.name },
      ...(scope.clusterId ? { clusterId: scope.clusterId } : {}),
    });
    const tracked = new Set(rows.flatMap((row) => row.providerSnapshotId ?? []));
    for (const snapshot of snapshots) {
      if (
        !tracked.has(snapshot.snapshotId) &&
        !snapshot.tags[STORAGE_TAGS.importOf] &&
        settled(snapshot.createdAt, now) &&
        !snapshot.tags[STORAGE_TAGS.quarantined]
      ) {
        await this.provider.tagSnapshot(snapshot, { [STORAGE_TAGS.quarantined]: labelDate(now) });
        await this.quarantined(report, {
          kind: 'snapshot',
          id: snapshot.snapshotId,
          ...findingScope(snapshot),
        });
      }
    }
    const present = new Set(snapshots.map((snapshot) => snapshot.snapshotId));
    for (const row of rows) {
      if (row.status === 'ready' && row.providerSnapshotId && !present.has(row.providerSnapshotId)) {
        await this.dataSource
          .getRepository(Snapshot)
          .update(
            { id: row.id, status: 'ready' },
            { status: 'failed', error: 'it vanished from the storage provider' },
          );
        report.lostSnapshots.push(row.id);
        await this.audit.record({
          action: 'snapshot.lost',
          outcome: 'failure',
          resourceType: 'snapshot',
          resourceId: row.id,
          requestMetadata: { disk_id: row.diskId, provider_snapshot_id: row.providerSnapshotId },
        });
      }
    }
  }

  /**
   * k8s-csi: a snapshot imported to restore a volume here is spent once that volume is bound (or
   * gone). It holds no data of its own — the backend snapshot stays with the cluster that took it
   * (the import's deletion policy is Retain) — so, unlike anything else, it is deleted.
   */
  private async dropSpentImports(
    volumes: ProviderVolume[],
    snapshots: ProviderSnapshot[],
    now: Date,
    report: ReconcileReport,
  ): Promise<void> {
    const byName = new Map(volumes.map((volume) => [volume.volumeId, volume]));
    for (const snapshot of snapshots) {
      const restored = snapshot.tags[STORAGE_TAGS.importOf];
      if (!restored || !settled(snapshot.createdAt, now) || byName.get(restored)?.state === 'creating') {
        continue;
      }
      try {
        await this.provider.deleteSnapshot(snapshot);
        report.spentImports.push(snapshot.snapshotId);
      } catch (error) {
        this.logger.warn(
          { snapshot: snapshot.snapshotId, error: (error as Error).message },
          'spent import not deleted',
        );
      }
    }
  }

  private async markLost(disk: Disk, report: ReconcileReport): Promise<void> {
    const why = `its volume ${disk.volumeId} vanished from the storage provider`;
    const marked = await this.dataSource
      .getRepository(Disk)
      .update({ id: disk.id, status: 'ready', volumeId: disk.volumeId! }, { status: 'lost', lastError: why });
    if (marked.affected !== 1) {
      return;
    }
    report.lostDisks.push(disk.id);
    await this.audit.record({
      action: 'disk.lost',
      outcome: 'failure',
      userId: disk.ownerId,
      resourceType: 'disk',
      resourceId: disk.id,
      requestMetadata: { name: disk.name, volume_id: disk.volumeId, reason: why },
    });
  }

  private async quarantined(report: ReconcileReport, finding: ReconcileFinding): Promise<void> {
    report.quarantined.push(finding);
    await this.audit.record({
      action: `${finding.kind}.quarantined`,
      outcome: 'success',
      resourceType: finding.kind,
      resourceId: finding.id,
      requestMetadata: { ...finding },
    });
  }
}

/** ODC made it: it carries the disk tag. Anything else in the namespace or account is not ODC's business. */
function isOdcs(object: { tags: Record<string, string> }): boolean {
  return object.tags[STORAGE_TAGS.disk] !== undefined;
}

function settled(createdAt: Date | undefined, now: Date): boolean {
  return createdAt === undefined || now.getTime() - createdAt.getTime() >= SETTLE_MS;
}

function findingScope(object: {
  clusterId?: string;
  tags: Record<string, string>;
}): Partial<ReconcileFinding> {
  return {
    ...(object.clusterId ? { clusterId: object.clusterId } : {}),
    ...(object.tags[STORAGE_TAGS.disk] ? { diskId: object.tags[STORAGE_TAGS.disk] } : {}),
  };
}

/** A date as a label value can hold it (no colons): 20261124T0102Z. */
function labelDate(now: Date): string {
  return now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
}

import { Inject, Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import { type Cluster, NodeCapacityRow } from '../../clusters/public';
import { QueueService } from '../../infra/queue/queue.service';
import { Disk } from '../disks/disk.entity';
import {
  STORAGE_PROVIDER,
  STORAGE_TAGS,
  type ProviderSnapshot,
  type StorageProvider,
} from '../providers/storage-provider';
import { providerSnapshotOfEntity } from '../snapshots/snapshot-rows';
import { Snapshot } from '../snapshots/snapshot.entity';
import { DELETE_VOLUME_QUEUE, type DeleteVolumeJob } from '../storage-queues';
import { RESERVATION_TIMELINE, type ReservationTimeline } from '../ports';

/** What of the reservation being provisioned the disk's volume needs. */
export interface VolumeUse {
  id: string;
  diskId: string | null;
  nodeName: string | null;
}

/** The disk cannot be used where the reservation was placed: the reservation fails, saying why. */
export class DiskUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DiskUnavailable';
  }
}

/**
 * What a volume of this disk's generation is called: a DNS label, the same on every retry. A new
 * volume's name also carries a digest of what it is made as (where, from what, how large), so a
 * retry that lands elsewhere — after a crash between making a volume and recording it — makes a
 * volume of its own instead of colliding with the first (whose name, an EBS ClientToken or an
 * immutable claim, would refuse the new parameters); the first is then the reconciler's to report.
 */
export function volumeName(diskId: string, generation: number, intent?: unknown): string {
  const base = `odc-disk-${diskId.replaceAll('-', '').slice(0, 12)}-g${generation}`;
  return intent === undefined
    ? base
    : `${base}-${createHash('sha256').update(JSON.stringify(intent)).digest('hex').slice(0, 6)}`;
}

/**
 * What pods mount a volume by in a cluster (aws-ebs: a claim on a static PV; k8s-csi answers the
 * volume's own claim): one per volume, so a new volume never meets an old one's claim or PV.
 */
export function claimNameOf(diskId: string, generation: number, volumeId: string): string {
  return volumeName(diskId, generation, volumeId);
}

export function diskTags(disk: Pick<Disk, 'id' | 'ownerId'>): Record<string, string> {
  return { [STORAGE_TAGS.disk]: disk.id, [STORAGE_TAGS.owner]: disk.ownerId };
}

/**
 * A reservation's disk, made mountable where it was placed, before its objects are applied: the
 * volume it has there, or a new one (empty at first use; from a snapshot when restoring or moving),
 * attached as a claim. Never a silent fallback to scratch space: a disk that cannot be had there is
 * a DiskUnavailable. Every step is idempotent (names carry the disk's generation), so a provision
 * job that dies midway and runs again finds what it made.
 */
@Injectable()
export class DiskVolumes {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(STORAGE_PROVIDER) private readonly provider: StorageProvider,
    private readonly jobs: QueueService,
    @Inject(RESERVATION_TIMELINE) private readonly timeline: ReservationTimeline,
  ) {}

  /** The claim the reservation's pod mounts at /home/dev. */
  async prepare(reservation: VolumeUse, cluster: Cluster): Promise<string> {
    const disk = await this.dataSource
      .getRepository(Disk)
      .findOneBy({ id: reservation.diskId!, inUseBy: reservation.id });
    if (!disk) {
      throw new DiskUnavailable('its disk is no longer held for it');
    }
    if (disk.status !== 'ready') {
      throw new DiskUnavailable(`its disk ${disk.name} is ${disk.status}; restore it from a snapshot first`);
    }
    if (disk.provider !== this.provider.name) {
      throw new DiskUnavailable(`its disk ${disk.name} lives on the ${disk.provider} storage provider`);
    }
    if (disk.claimName && disk.attachedClusterId === cluster.id) {
      return disk.claimName;
    }
    const zone = await this.zoneOf(cluster.id, reservation.nodeName!);
    if (disk.volumeId && !disk.restoreFrom && this.usableAt(disk, cluster.id, zone)) {
      return this.attachExisting(disk, reservation, cluster, zone);
    }
    return this.makeVolume(disk, reservation, cluster, zone);
  }

  private usableAt(disk: Disk, clusterId: string, zone: string | undefined): boolean {
    return (
      (disk.volumeClusterId === null || disk.volumeClusterId === clusterId) &&
      (disk.zone === null || zone === undefined || disk.zone === zone)
    );
  }

  private async attachExisting(
    disk: Disk,
    reservation: VolumeUse,
    cluster: Cluster,
    zone: string | undefined,
  ): Promise<string> {
    const { claimName } = await this.provider.attachVolume(
      { volumeId: disk.volumeId!, ...(disk.volumeClusterId ? { clusterId: disk.volumeClusterId } : {}) },
      {
        clusterId: cluster.id,
        claimName: claimNameOf(disk.id, disk.generation, disk.volumeId!),
        ...(zone ? { zone } : {}),
      },
    );
    await this.dataSource.transaction(async (tx) => {
      await tx
        .getRepository(Disk)
        .update(
          { id: disk.id, inUseBy: reservation.id },
          { claimName, attachedClusterId: cluster.id, lastUsedAt: new Date() },
        );
      await this.timeline.append(tx, reservation.id, {
        message: `Disk ${disk.name} attached on ${cluster.name} as ${claimName}`,
      });
    });
    return claimName;
  }

  /**
   * A new generation of the disk's volume here: from the snapshot a restore asked for, else (it has
   * a volume elsewhere) from its latest snapshot, which placement only chose when that snapshot holds
   * everything the disk wrote; else empty.
   */
  private async makeVolume(
    disk: Disk,
    reservation: VolumeUse,
    cluster: Cluster,
    zone: string | undefined,
  ): Promise<string> {
    const source = await this.sourceFor(disk, cluster);
    const generation = disk.generation + 1;
    const sizeGb = Math.max(disk.sizeGb, source?.sizeGb ?? 0);
    const name = volumeName(disk.id, generation, [
      cluster.id,
      zone ?? null,
      source?.snapshotId ?? null,
      sizeGb,
    ]);
    const volume = await this.provider.createVolume({
      name,
      sizeGb,
      clusterId: cluster.id,
      ...(zone ? { zone } : {}),
      ...(source ? { fromSnapshot: source } : {}),
      tags: diskTags(disk),
    });
    const { claimName } = await this.provider.attachVolume(volume, {
      clusterId: cluster.id,
      claimName: claimNameOf(disk.id, generation, volume.volumeId),
      ...((volume.zone ?? zone) ? { zone: volume.zone ?? zone } : {}),
    });
    await this.dataSource.transaction(async (tx) => {
      const moved = await tx.getRepository(Disk).update(
        { id: disk.id, inUseBy: reservation.id, generation: disk.generation },
        {
          volumeId: volume.volumeId,
          volumeClusterId: volume.clusterId ?? null,
          zone: volume.zone ?? zone ?? null,
          generation,
          restoreFrom: null,
          claimName,
          attachedClusterId: cluster.id,
          // In step with the disk's latest snapshot only when made from that very snapshot: a
          // restore to an older one, or an empty volume, must not let placement move it by the latest.
          usedSinceSnapshot: !(source && (await isLatestReady(tx, disk.id, source.snapshotId))),
          lastUsedAt: new Date(),
          version: disk.version + 1,
        },
      );
      if (moved.affected !== 1) {
        throw new Error(`disk ${disk.id} changed while its volume was being made; retrying`);
      }
      if (disk.volumeId) {
        const retired: DeleteVolumeJob = {
          disk_id: disk.id,
          volume_id: disk.volumeId,
          ...(disk.volumeClusterId ? { cluster_id: disk.volumeClusterId } : {}),
        };
        await this.jobs.send(DELETE_VOLUME_QUEUE, retired, { manager: tx });
      }
      await this.timeline.append(tx, reservation.id, {
        message: source
          ? `Disk ${disk.name} restored on ${cluster.name} from snapshot ${source.snapshotId}`
          : `Disk ${disk.name}: new ${disk.sizeGb} GB volume on ${cluster.name}`,
        details: { disk: disk.name, volume: volume.volumeId, ...(zone ? { zone } : {}) },
      });
    });
    return claimName;
  }

  private async sourceFor(disk: Disk, cluster: Cluster): Promise<ProviderSnapshot | undefined> {
    const snapshots = this.dataSource.getRepository(Snapshot);
    const chosen = disk.restoreFrom
      ? await snapshots.findOneBy({ id: disk.restoreFrom })
      : disk.volumeId
        ? await snapshots.findOne({
            where: { diskId: disk.id, status: 'ready' },
            order: { createdAt: 'DESC' },
          })
        : null;
    if (!disk.restoreFrom && !disk.volumeId) {
      return undefined;
    }
    if (!chosen || chosen.status !== 'ready' || (!disk.restoreFrom && disk.usedSinceSnapshot)) {
      throw new DiskUnavailable(
        `its disk ${disk.name} lives elsewhere and has no current snapshot to restore on ${cluster.name}`,
      );
    }
    const source = providerSnapshotOfEntity(chosen);
    if (!this.provider.restorableIn(source, cluster.id)) {
      throw new DiskUnavailable(
        `snapshot ${chosen.id} of disk ${disk.name} cannot be restored on ${cluster.name}`,
      );
    }
    return source;
  }

  private async zoneOf(clusterId: string, nodeName: string): Promise<string | undefined> {
    const node = await this.dataSource.getRepository(NodeCapacityRow).findOneBy({ clusterId, nodeName });
    return node?.zone ?? undefined;
  }
}

/**
 * Whether the disk's latest ready snapshot is this one; in the caller's transaction (one that
 * waited for another connection of the pool could, with every connection held so, wait forever).
 */
async function isLatestReady(
  tx: EntityManager,
  diskId: string,
  providerSnapshotId: string,
): Promise<boolean> {
  const latest = await tx
    .getRepository(Snapshot)
    .findOne({ where: { diskId, status: 'ready' }, order: { createdAt: 'DESC' } });
  return latest?.providerSnapshotId === providerSnapshotId;
}

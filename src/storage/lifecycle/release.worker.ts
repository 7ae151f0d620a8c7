import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { setTimeout as wait } from 'node:timers/promises';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { isUniqueViolation } from '../../infra/database/database-errors';
import { QueueService } from '../../infra/queue/queue.service';
import { Disk } from '../disks/disk.entity';
import { STORAGE_PROVIDER, type StorageProvider } from '../providers/storage-provider';
import { requestSnapshot } from '../snapshots/request-snapshot';
import { END_OF_USE_REASONS, Snapshot, type EndOfUseReason } from '../snapshots/snapshot.entity';
import {
  DISK_HOLDERS,
  RESERVATION_TIMELINE,
  type DiskHolders,
  type Holder,
  type ReservationTimeline,
} from '../ports';
import { RELEASE_DISK_QUEUE } from '../storage-queues';

/** How long a release waits for the ended reservation's pod to let go of the volume. */
const UNMOUNT_WAIT_MS = 10 * 60_000;
/** Polled within one job this long, this often; then a later job looks again. */
const UNMOUNT_POLL_IN_JOB_MS = 5_000;
const UNMOUNT_POLL_MS = 250;
const UNMOUNT_POLL_SECONDS = 2;

/**
 * Worker role: the end of a reservation that held a disk. A disk it ran with is snapshotted first
 * (unless no_persist), once its pod has let go of the volume: one snapshot row per reservation, whose job sends this one again once the
 * snapshot is ready, failed or timed out; then the volume is detached where that means anything
 * (aws-ebs) and the disk released — exactly once (the guarded UPDATE on `in_use_by`). A failed
 * snapshot keeps the volume (it always stays) and leaves its failure on the snapshot row.
 */
@Injectable()
export class ReleaseWorker implements OnApplicationBootstrap {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly jobs: QueueService,
    @Inject(STORAGE_PROVIDER) private readonly provider: StorageProvider,
    @Inject(DISK_HOLDERS) private readonly holders: DiskHolders,
    @Inject(RESERVATION_TIMELINE) private readonly timeline: ReservationTimeline,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.jobs.workEach<{ reservation_id: string }>(RELEASE_DISK_QUEUE, { batchSize: 8 }, (job) =>
      this.release(job.data.reservation_id),
    );
  }

  async release(reservationId: string): Promise<void> {
    const [disk, reservation] = await Promise.all([
      this.dataSource.getRepository(Disk).findOneBy({ inUseBy: reservationId }),
      this.holders.get(reservationId),
    ]);
    if (!disk || reservation?.live) {
      return;
    }
    // Only a reservation whose objects were applied, and whose claim got bound, can have written to
    // the disk: otherwise the disk stays as it was (no snapshot, no "written" mark that would pin it).
    let written =
      reservation !== null && disk.volumeId !== null && (await this.holders.wasProvisioned(reservationId));
    if (written) {
      const volume = await this.unmountedVolume(disk, reservation!);
      if (volume === 'mounted') {
        await this.jobs.send(
          RELEASE_DISK_QUEUE,
          { reservation_id: reservationId },
          {
            startAfter: UNMOUNT_POLL_SECONDS,
            singletonKey: `unmount:${reservationId}`,
            singletonSeconds: UNMOUNT_POLL_SECONDS,
          },
        );
        return;
      }
      written = volume !== 'unbound';
    }
    const wantsSnapshot = written && !reservation!.noPersist;
    const snapshot = wantsSnapshot ? await this.endSnapshot(disk, reservation!) : undefined;
    if (snapshot === 'asked' || snapshot?.status === 'pending') {
      return; // the snapshot's job sends this one again when it is done
    }
    if (disk.attachedClusterId !== null && disk.volumeId !== null) {
      await this.provider.detachVolume(
        { volumeId: disk.volumeId, ...(disk.volumeClusterId ? { clusterId: disk.volumeClusterId } : {}) },
        { clusterId: disk.attachedClusterId, claimName: disk.claimName ?? disk.volumeId },
      );
    }
    await this.dataSource.transaction(async (tx) => {
      const released = await tx.getRepository(Disk).update(
        { id: disk.id, inUseBy: reservationId },
        {
          inUseBy: null,
          claimName: null,
          attachedClusterId: null,
          usedSinceSnapshot: written ? snapshot?.status !== 'ready' : disk.usedSinceSnapshot,
          version: disk.version + 1,
        },
      );
      if (released.affected === 1 && reservation) {
        await this.timeline.append(tx, reservationId, {
          message: `Disk ${disk.name} released${releaseNote(snapshot, reservation.noPersist, written)}`,
          details: { disk: disk.name, ...(snapshot ? { snapshot_id: snapshot.id } : {}) },
        });
      }
    });
  }

  /**
   * Whether the ended reservation's pod has let go of the volume (it is terminating: deleting the
   * objects does not wait for it), so a snapshot now has its last writes. Polled here for a few
   * seconds, which is how long a pod usually takes, then left to a later job; after UNMOUNT_WAIT_MS
   * from the end, a pod still there (its node lost) gets a crash-consistent snapshot instead.
   */
  private async unmountedVolume(
    disk: Disk,
    reservation: Pick<Holder, 'endedAt'>,
  ): Promise<'unmounted' | 'unbound' | 'mounted'> {
    const endedAt = reservation.endedAt?.getTime() ?? 0;
    const ref = {
      volumeId: disk.volumeId!,
      ...(disk.volumeClusterId ? { clusterId: disk.volumeClusterId } : {}),
    };
    const giveUpAt = Date.now() + UNMOUNT_POLL_IN_JOB_MS;
    for (;;) {
      const state = (await this.provider.describeVolume(ref))?.state;
      if (state === 'creating') {
        return 'unbound';
      }
      if (state !== 'in-use' || Date.now() - endedAt > UNMOUNT_WAIT_MS) {
        return 'unmounted';
      }
      if (Date.now() >= giveUpAt) {
        return 'mounted';
      }
      await wait(UNMOUNT_POLL_MS);
    }
  }

  /**
   * The reservation's end-of-use snapshot (its reason: how the reservation ended), or 'asked' when
   * this call asked for it just now.
   */
  private async endSnapshot(disk: Disk, reservation: Holder): Promise<Snapshot | 'asked'> {
    const existing = await this.dataSource
      .getRepository(Snapshot)
      .findOneBy({ diskId: disk.id, reservationId: reservation.id });
    if (existing) {
      return existing;
    }
    try {
      await this.dataSource.transaction((tx) =>
        requestSnapshot(tx, this.jobs, disk, endOfUseReason(reservation), reservation.id),
      );
    } catch (error) {
      if (!isUniqueViolation(error)) {
        throw error;
      }
    }
    return 'asked';
  }
}

/** How a reservation that no longer holds its disk ended: the reason its disk's snapshot gives. */
function endOfUseReason(reservation: Holder): EndOfUseReason {
  const reason = END_OF_USE_REASONS.find((ended) => ended === reservation.status);
  if (!reason) {
    throw new Error(`reservation ${reservation.id} is ${reservation.status}, not ended`);
  }
  return reason;
}

function releaseNote(snapshot: Snapshot | undefined, noPersist: boolean, written: boolean): string {
  if (!written) {
    return ' (the reservation never used it)';
  }
  if (!snapshot) {
    return noPersist ? ' without a snapshot (no_persist)' : '';
  }
  return snapshot.status === 'ready'
    ? `; snapshot ${snapshot.id} is ready`
    : `; its snapshot ${snapshot.id} failed (${snapshot.error ?? 'unknown'}), the volume keeps the data`;
}

import { Inject, Injectable } from '@nestjs/common';
import { IsNull, type EntityManager } from 'typeorm';
import { AppError } from '../../infra/errors/app-error';
import type { QueueService } from '../../infra/queue/queue.service';
import { DISK_HOLDERS, type DiskHolders, type Holder } from '../ports';
import type { StorageProviderName } from '../providers/storage-provider';
import { RELEASE_DISK_QUEUE } from '../storage-queues';
import { StorageErrorCode } from '../storage.errors';
import { Disk } from './disk.entity';

/** 409: another reservation holds the disk (or it is being released from one that ended). */
export function diskInUse(disk: Disk, holder?: Pick<Holder, 'id' | 'live'> | null): AppError {
  const ended = holder && !holder.live;
  return new AppError(
    StorageErrorCode.DiskInUse,
    ended
      ? `Disk ${disk.name} is being released from reservation ${holder.id} (its snapshot is being taken); try again shortly`
      : `Disk ${disk.name} is in use by reservation ${disk.inUseBy}`,
    { reservation_id: disk.inUseBy, ...(ended ? { releasing: true } : {}) },
  );
}

/** Storage's side of a reservation's disk: the hold when it is made. */
@Injectable()
export class DiskHolds {
  constructor(@Inject(DISK_HOLDERS) private readonly holders: DiskHolders) {}

  /**
   * The lock: the owner's live disk of that name, free, becomes held by the reservation being
   * made in `tx`. The row is locked first, so of two requests at once the second waits, then sees
   * the first's hold and is refused; the UPDATE is guarded on `in_use_by IS NULL` and a unique
   * index keeps one reservation from holding two disks. 422 for no such disk, 409 when it is held.
   */
  async hold(
    tx: EntityManager,
    ownerId: string,
    name: string,
    reservationId: string,
    provider: StorageProviderName,
  ): Promise<Disk> {
    const disk = await tx
      .getRepository(Disk)
      .findOne({ where: { ownerId, name, deletedAt: IsNull() }, lock: { mode: 'pessimistic_write' } });
    if (!disk) {
      throw new AppError(
        StorageErrorCode.UnknownDisk,
        `You have no disk ${name}; create it first (POST /api/v1/disks)`,
      );
    }
    if (disk.inUseBy) {
      throw diskInUse(disk, await this.holders.get(disk.inUseBy, tx));
    }
    if (disk.provider !== provider) {
      throw new AppError(
        StorageErrorCode.InvalidDiskState,
        `Disk ${name} lives on the ${disk.provider} storage provider; this installation uses ${provider}`,
      );
    }
    if (disk.status !== 'ready') {
      throw new AppError(
        StorageErrorCode.InvalidDiskState,
        `Disk ${name} is ${disk.status}; restore it from a snapshot first`,
      );
    }
    const held = await tx
      .createQueryBuilder()
      .update(Disk)
      .set({ inUseBy: reservationId, version: () => 'version + 1' })
      .where('id = :id AND in_use_by IS NULL', { id: disk.id })
      .execute();
    if (held.affected !== 1) {
      throw diskInUse(disk);
    }
    return disk;
  }
}

/** What of an ended reservation its disk's release needs. */
export interface EndedHolder {
  id: string;
  diskId: string | null;
}

/**
 * In the transaction that ends a reservation: its disk (if it held one) is released after its
 * end-of-use snapshot (release.worker.ts). Storage owns the release; reservations only say when.
 */
export async function releaseDiskOf(
  tx: EntityManager,
  jobs: QueueService,
  holder: EndedHolder,
): Promise<void> {
  if (holder.diskId) {
    await jobs.send(RELEASE_DISK_QUEUE, { reservation_id: holder.id }, { manager: tx });
  }
}

/** releaseDiskOf for several reservations ended at once (one INSERT of jobs). */
export async function releaseDisksOf(
  tx: EntityManager,
  jobs: QueueService,
  holders: EndedHolder[],
): Promise<void> {
  await jobs.sendMany(
    RELEASE_DISK_QUEUE,
    holders.filter((holder) => holder.diskId).map((holder) => ({ reservation_id: holder.id })),
    { manager: tx },
  );
}

import { IsNull, type EntityManager } from 'typeorm';
import { AppError } from '../../infra/errors/app-error';
import { LIVE_STATUSES, Reservation } from '../../reservations/reservation.entity';
import type { StorageProviderName } from '../providers/storage-provider';
import { StorageErrorCode } from '../storage.errors';
import { Disk } from './disk.entity';

/** 409: another reservation holds the disk (or it is being released from one that ended). */
export function diskInUse(disk: Disk, holder?: Reservation | null): AppError {
  const ended = holder && !LIVE_STATUSES.includes(holder.status);
  return new AppError(
    StorageErrorCode.DiskInUse,
    ended
      ? `Disk ${disk.name} is being released from reservation ${holder.id} (its snapshot is being taken); try again shortly`
      : `Disk ${disk.name} is in use by reservation ${disk.inUseBy}`,
    { reservation_id: disk.inUseBy, ...(ended ? { releasing: true } : {}) },
  );
}

/**
 * The lock: the owner's live disk of that name, free, becomes held by the reservation being made
 * in `tx`. The row is locked first, so of two requests at once the second waits, then sees the
 * first's hold and is refused; the UPDATE is guarded on `in_use_by IS NULL` and a unique index
 * keeps one reservation from holding two disks. 422 for no such disk, 409 when it is held.
 */
export async function holdDisk(
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
    throw diskInUse(disk, await tx.getRepository(Reservation).findOneBy({ id: disk.inUseBy }));
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

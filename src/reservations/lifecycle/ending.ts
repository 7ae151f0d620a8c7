import type { EntityManager } from 'typeorm';
import type { QueueService } from '../../infra/queue/queue.service';
import type { Reservation, ReservationStatus } from '../reservation.entity';
import { RELEASE_DISK_QUEUE } from '../../storage/storage-queues';
import { ADMIT_QUEUE, TEARDOWN_QUEUE } from '../reservation-queues';
import { applyTransition, lockReservation } from '../reservation-transitions';

export type EndStatus = 'expired' | 'cancelled' | 'failed';

/** Statuses whose reservation may have objects on a cluster: ending them goes through teardown. */
const WITH_OBJECTS: readonly ReservationStatus[] = ['placing', 'provisioning', 'active'];

/**
 * Ends a reservation, in the caller's transaction. Queued: at once (nothing to delete). Placed or
 * running: `expiring` with the status it will end in, its GPUs still held until the teardown job
 * has deleted its objects, so nothing new lands on GPUs that are still in use. Undefined when it
 * had already ended (or is already ending): a repeat changes nothing.
 */
export async function endReservation(
  tx: EntityManager,
  jobs: QueueService,
  id: string,
  endingAs: EndStatus,
  reason: string,
): Promise<Reservation | undefined> {
  const current = await lockReservation(tx, id);
  if (current?.status === 'queued') {
    const ended = await applyTransition(tx, current, {
      to: endingAs,
      message: `${capitalized(endingAs)}: ${reason}`,
      set: { statusReason: reason, endedAt: new Date() },
    });
    await releaseDiskOf(tx, jobs, ended);
    return ended;
  }
  if (!current || !WITH_OBJECTS.includes(current.status)) {
    return undefined;
  }
  const ending = await applyTransition(tx, current, {
    to: 'expiring',
    message: `Ending (${endingAs}): ${reason}`,
    set: { statusReason: reason, endingAs },
  });
  await jobs.send(TEARDOWN_QUEUE, { reservation_id: id }, { manager: tx });
  return ending;
}

/**
 * What follows the end of a reservation that held GPUs, in the transaction that ended it: an
 * admission pass for whoever waits, and its disk's release.
 */
export async function afterEnded(
  tx: EntityManager,
  jobs: QueueService,
  reservation: Pick<Reservation, 'id' | 'diskId'>,
): Promise<void> {
  await jobs.send(ADMIT_QUEUE, { reservation_id: reservation.id }, { manager: tx });
  await releaseDiskOf(tx, jobs, reservation);
}

/** A disk is released after its snapshot (release worker, src/storage/lifecycle). */
async function releaseDiskOf(
  tx: EntityManager,
  jobs: QueueService,
  reservation: Pick<Reservation, 'id' | 'diskId'>,
): Promise<void> {
  if (reservation.diskId) {
    await jobs.send(RELEASE_DISK_QUEUE, { reservation_id: reservation.id }, { manager: tx });
  }
}

function capitalized(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}

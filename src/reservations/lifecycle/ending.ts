import type { EntityManager } from 'typeorm';
import type { QueueService } from '../../infra/queue/queue.service';
import { queryPrepared } from '../../infra/database/prepared';
import type { Reservation, ReservationStatus } from '../reservation.entity';
import { releaseDiskOf, releaseDisksOf } from '../../storage/public';
import { requestAdmission, TEARDOWN_QUEUE } from '../reservation-queues';
import { reservationOf } from '../reservation-transitions';

export type EndStatus = 'expired' | 'cancelled' | 'failed';

/** Statuses whose reservation may have objects on a cluster: ending them goes through teardown. */
const WITH_OBJECTS: readonly ReservationStatus[] = ['placing', 'provisioning', 'active'];

/**
 * Ends a reservation, in the caller's transaction. Queued: at once (nothing to delete). Placed or
 * running: `ending` with the status it will end in, its GPUs still held until the teardown job
 * has deleted its objects, so nothing new lands on GPUs that are still in use. Undefined when it
 * had already ended (or is already ending): a repeat changes nothing.
 *
 * Which of the two it is depends on its status under the row's lock, so both are one statement
 * (lock, update, event), the same guarded transition as reservation-transitions.ts makes. With
 * `ownerId`, only that user's reservation ends (undefined for anyone else's): the ownership check
 * of a user's own cancel, in the same statement.
 */
export async function endReservation(
  tx: EntityManager,
  jobs: QueueService,
  id: string,
  endingAs: EndStatus,
  reason: string,
  options: { ownerId?: string } = {},
): Promise<Reservation | undefined> {
  const now = new Date();
  const [row] = await queryPrepared<Record<string, unknown>>(
    tx,
    `WITH locked AS (
       SELECT id, status FROM reservations WHERE id = $1 AND ($8::uuid IS NULL OR owner_id = $8) FOR UPDATE),
     moved AS (
       UPDATE reservations r
       SET status = CASE WHEN l.status = 'queued' THEN $2 ELSE 'ending' END,
           ending_as = CASE WHEN l.status = 'queued' THEN r.ending_as ELSE $2 END,
           ended_at = CASE WHEN l.status = 'queued' THEN $4 ELSE r.ended_at END,
           status_reason = $3, status_since = $4, version = r.version + 1
       FROM locked l
       WHERE r.id = l.id AND (l.status = 'queued' OR l.status = ANY($5::text[]))
       RETURNING r.*, l.status AS transition_from),
     events AS (
       INSERT INTO reservation_events (reservation_id, from_status, to_status, message)
       SELECT id, transition_from, status,
              CASE WHEN transition_from = 'queued' THEN $6 ELSE $7 END FROM moved)
     SELECT * FROM moved`,
    [
      id,
      endingAs,
      reason,
      now,
      [...WITH_OBJECTS],
      `${capitalized(endingAs)}: ${reason}`,
      `Ending (${endingAs}): ${reason}`,
      options.ownerId ?? null,
    ],
  );
  if (!row) {
    return undefined;
  }
  const ended = reservationOf(tx, row);
  if (row.transition_from === 'queued') {
    await releaseDiskOf(tx, jobs, ended);
  } else {
    await jobs.send(TEARDOWN_QUEUE, { reservation_id: id }, { manager: tx });
  }
  return ended;
}

/**
 * What follows the end of reservations that held GPUs, in the transaction that ended them: an
 * admission pass for whoever waits (one NOTIFY: a pass considers every queued reservation), and
 * their disks' release.
 */
export async function afterEnded(
  tx: EntityManager,
  jobs: QueueService,
  ...reservations: Pick<Reservation, 'id' | 'diskId'>[]
): Promise<void> {
  if (reservations.length === 0) {
    return;
  }
  await requestAdmission(tx, jobs);
  await releaseDisksOf(tx, jobs, reservations);
}

function capitalized(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}

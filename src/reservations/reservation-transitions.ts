import type { EntityManager } from 'typeorm';
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';
import { ReservationEvent } from './reservation-event.entity';
import { Reservation, type ReservationStatus } from './reservation.entity';

export interface Transition {
  id: string;
  from: readonly ReservationStatus[];
  to: ReservationStatus;
  message: string;
  /** Other columns set with the status. */
  set?: Partial<Omit<Reservation, 'id' | 'status' | 'version' | 'owner' | 'type' | 'cluster'>>;
  details?: Record<string, unknown>;
}

/**
 * One guarded transition in the caller's transaction: the row locked, its status checked against
 * `from`, then updated with its event. The reservation after it, or undefined when it was not in
 * an expected status (another worker got there first, or this is a repeat): a repeat changes nothing.
 */
export async function transition(tx: EntityManager, change: Transition): Promise<Reservation | undefined> {
  const reservations = tx.getRepository(Reservation);
  const current = await reservations.findOne({
    where: { id: change.id },
    lock: { mode: 'pessimistic_write' },
  });
  if (!current || !change.from.includes(current.status)) {
    return undefined;
  }
  const version = current.version + 1;
  const statusSince = new Date();
  await reservations.update({ id: change.id }, { ...change.set, status: change.to, statusSince, version });
  await recordEvent(tx, {
    reservationId: change.id,
    fromStatus: current.status,
    toStatus: change.to,
    message: change.message,
    details: change.details ?? null,
  });
  return Object.assign(current, change.set, { status: change.to, statusSince, version });
}

/** A line of a reservation's timeline, as written. */
export type NewEvent = Pick<ReservationEvent, 'reservationId' | 'message'> &
  Partial<Pick<ReservationEvent, 'fromStatus' | 'toStatus' | 'details'>>;

/** A line of the reservation's timeline (a transition, or a step within one status). */
export async function recordEvent(tx: EntityManager, event: NewEvent): Promise<void> {
  await recordEvents(tx, [event]);
}

/** Several lines at once (one INSERT). */
export async function recordEvents(tx: EntityManager, events: NewEvent[]): Promise<void> {
  if (events.length > 0) {
    await tx.getRepository(ReservationEvent).insert(events as QueryDeepPartialEntity<ReservationEvent>[]);
  }
}

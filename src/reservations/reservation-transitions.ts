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
  const current = await lockReservation(tx, change.id);
  if (!current || !change.from.includes(current.status)) {
    return undefined;
  }
  return applyTransition(tx, current, change);
}

/** The reservation's row, locked for the rest of the caller's transaction. */
export async function lockReservation(tx: EntityManager, id: string): Promise<Reservation | null> {
  return tx.getRepository(Reservation).findOne({ where: { id }, lock: { mode: 'pessimistic_write' } });
}

/** The transition of a row the caller has locked and checked (see transition). */
export async function applyTransition(
  tx: EntityManager,
  current: Reservation,
  change: Omit<Transition, 'id' | 'from'>,
): Promise<Reservation> {
  const version = current.version + 1;
  const statusSince = new Date();
  await tx
    .getRepository(Reservation)
    .update({ id: current.id }, { ...change.set, status: change.to, statusSince, version });
  await recordEvent(tx, {
    reservationId: current.id,
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

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
  set?: TransitionSet;
  details?: Record<string, unknown>;
}

export type TransitionSet = Partial<
  Omit<Reservation, 'id' | 'status' | 'version' | 'owner' | 'type' | 'cluster' | 'userId'>
>;

/**
 * One guarded transition in the caller's transaction (or alone: it is one statement): the row
 * locked, its status checked against `from`, then updated with its event. The reservation after
 * it, or undefined when it was not in an expected status (another worker got there first, or this
 * is a repeat): a repeat changes nothing.
 */
export async function transition(
  manager: EntityManager,
  change: Transition,
): Promise<Reservation | undefined> {
  const { id, from, set, ...step } = change;
  return (await transitionMany(manager, { from, ...(set ? { set } : {}) }, [{ id, ...step }])).get(id);
}

/** One reservation's part of a `transitionMany`. */
export type TransitionStep = Pick<Transition, 'id' | 'to' | 'message' | 'details'>;

/**
 * Guarded transitions of many reservations in one statement (so atomic without a transaction of
 * the caller's): the rows locked in id order, each checked against `from` as it is under the lock,
 * updated to its own `to` with the columns of `set`, and its event written. The reservations
 * moved, by id; those not in a `from` status are left as they are and absent.
 */
export async function transitionMany(
  manager: EntityManager,
  common: { from: readonly ReservationStatus[]; set?: TransitionSet },
  steps: TransitionStep[],
): Promise<Map<string, Reservation>> {
  if (steps.length === 0) {
    return new Map();
  }
  const metadata = manager.connection.getMetadata(Reservation);
  const params: unknown[] = [
    steps.map((step) => step.id),
    steps.map((step) => step.to),
    steps.map((step) => step.message),
    steps.map((step) => (step.details ? JSON.stringify(step.details) : null)),
    [...common.from],
    new Date(),
  ];
  const assignments = Object.entries(common.set ?? {})
    .filter(([, value]) => value !== undefined)
    .map(([property, value]) => {
      const column = metadata.findColumnWithPropertyName(property);
      if (!column) {
        throw new Error(`reservations have no column for ${property}`);
      }
      params.push(value);
      return `, ${column.databaseName} = $${params.length}`;
    })
    .join('');
  // Read back through a SELECT: TypeORM answers a bare UPDATE … RETURNING as [rows, count].
  const rows = await manager.query<Record<string, unknown>[]>(
    `WITH step AS (
       SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::jsonb[]) AS s(id, to_status, message, details)),
     locked AS (
       SELECT r.id, r.status FROM reservations r WHERE r.id IN (SELECT id FROM step) ORDER BY r.id FOR UPDATE),
     moved AS (
       UPDATE reservations r
       SET status = s.to_status, status_since = $6, version = r.version + 1${assignments}
       FROM locked l JOIN step s ON s.id = l.id
       WHERE r.id = l.id AND l.status = ANY($5::text[])
       RETURNING r.*, l.status AS transition_from, s.message AS transition_message,
                 s.details AS transition_details),
     events AS (
       INSERT INTO reservation_events (reservation_id, from_status, to_status, message, details)
       SELECT id, transition_from, status, transition_message, transition_details FROM moved)
     SELECT * FROM moved`,
    params,
  );
  return new Map(
    rows.map((row) => {
      const reservation = reservationOf(manager, row);
      return [reservation.id, reservation];
    }),
  );
}

/** A reservation from a raw `reservations` row (a `RETURNING r.*`), hydrated as TypeORM would. */
export function reservationOf(manager: EntityManager, row: Record<string, unknown>): Reservation {
  const metadata = manager.connection.getMetadata(Reservation);
  const driver = manager.connection.driver;
  const reservation = metadata.create() as Reservation;
  for (const column of metadata.columns) {
    if (column.databaseName in row) {
      column.setEntityValue(reservation, driver.prepareHydratedValue(row[column.databaseName], column));
    }
  }
  return reservation;
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

import type { EntityManager } from 'typeorm';

/**
 * What storage needs of the reservations that hold its disks, declared here and implemented by
 * reservations (src/reservations/ports.ts, bound by src/app/ports.module.ts): storage imports no
 * reservation code and reads none of their tables.
 */
export const RESERVATION_TIMELINE = Symbol('odc:storage:reservation-timeline');

export interface TimelineLine {
  message: string;
  details?: Record<string, unknown>;
}

/** Reservations own their timeline; storage appends its steps (attach, restore, release) to it. */
export interface ReservationTimeline {
  /** In `tx`: committed with storage's own change, or not at all. */
  append(tx: EntityManager, reservationId: string, line: TimelineLine): Promise<void>;
}

export const DISK_HOLDERS = Symbol('odc:storage:disk-holders');

/** A disk's holder (a reservation), as storage needs it. */
export interface Holder {
  id: string;
  /** Its status's name: for messages, and once it has ended the reason of its disk's snapshot. */
  status: string;
  /** Not ended: it holds its disk. */
  live: boolean;
  endedAt: Date | null;
  /** The user asked for no end-of-use snapshot. */
  noPersist: boolean;
}

export interface DiskHolders {
  /** null: no such reservation. Read in `tx` when given (under the caller's locks). */
  get(id: string, tx?: EntityManager): Promise<Holder | null>;
  /** By id; absent: no such reservation. */
  getMany(ids: readonly string[]): Promise<Map<string, Holder>>;
  /** It reached provisioning: its objects may have been applied, so it may have written to its disk. */
  wasProvisioned(id: string): Promise<boolean>;
  /** Up to `limit` reservations that have ended and still hold a disk (a release that was lost). */
  endedHoldingDisks(limit: number): Promise<string[]>;
}

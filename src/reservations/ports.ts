/**
 * What reservations answer the domains below them, through the ports those declare
 * (src/storage/ports.ts, src/clusters/ports.ts); src/app/ports.module.ts wires them.
 */
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, In, type EntityManager } from 'typeorm';
import type { DiskHolders, Holder, ReservationTimeline, TimelineLine } from '../storage/public';
import { ReservationEvent } from './reservation-event.entity';
import { recordEvent } from './reservation-transitions';
import { CLAIMING_STATUSES, LIVE_STATUSES, Reservation } from './reservation.entity';

@Injectable()
export class TimelineForStorage implements ReservationTimeline {
  append(tx: EntityManager, reservationId: string, line: TimelineLine): Promise<void> {
    return recordEvent(tx, { reservationId, ...line });
  }
}

function holderOf(reservation: Reservation): Holder {
  return {
    id: reservation.id,
    status: reservation.status,
    live: LIVE_STATUSES.includes(reservation.status),
    endedAt: reservation.endedAt,
    noPersist: reservation.noPersist,
  };
}

@Injectable()
export class HoldersForStorage implements DiskHolders {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async get(id: string, tx?: EntityManager): Promise<Holder | null> {
    const reservation = await (tx ?? this.dataSource.manager).getRepository(Reservation).findOneBy({ id });
    return reservation && holderOf(reservation);
  }

  async getMany(ids: readonly string[]): Promise<Map<string, Holder>> {
    if (ids.length === 0) {
      return new Map();
    }
    const reservations = await this.dataSource.getRepository(Reservation).find({
      where: { id: In([...new Set(ids)]) },
      select: { id: true, status: true, endedAt: true, noPersist: true },
    });
    return new Map(reservations.map((reservation) => [reservation.id, holderOf(reservation)]));
  }

  async endedHoldingDisks(limit: number): Promise<string[]> {
    // Reservations may read storage's table (it is below them): one statement, whatever is held.
    const rows = await this.dataSource.query<{ id: string }[]>(
      `SELECT d.in_use_by AS id FROM disks d JOIN reservations r ON r.id = d.in_use_by
       WHERE NOT (r.status = ANY($1)) LIMIT $2`,
      [[...LIVE_STATUSES], limit],
    );
    return rows.map((row) => row.id);
  }

  wasProvisioned(id: string): Promise<boolean> {
    return this.dataSource
      .getRepository(ReservationEvent)
      .existsBy({ reservationId: id, toStatus: 'provisioning' });
  }
}

/** Clusters' question before a cluster is removed: reservations holding GPUs there. */
export async function liveReservationsOn(dataSource: DataSource, clusterId: string): Promise<number> {
  return dataSource.getRepository(Reservation).countBy({ clusterId, status: In([...CLAIMING_STATUSES]) });
}

import { type DynamicModule, Injectable, Module } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, In, type EntityManager } from 'typeorm';
import {
  DISK_HOLDERS,
  RESERVATION_TIMELINE,
  type DiskHolders,
  type Holder,
  type ReservationTimeline,
  type TimelineLine,
} from '../storage/ports';
import { ReservationEvent } from './reservation-event.entity';
import { recordEvent } from './reservation-transitions';
import { LIVE_STATUSES, Reservation } from './reservation.entity';

@Injectable()
class TimelineForStorage implements ReservationTimeline {
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
class HoldersForStorage implements DiskHolders {
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

  wasProvisioned(id: string): Promise<boolean> {
    return this.dataSource
      .getRepository(ReservationEvent)
      .existsBy({ reservationId: id, toStatus: 'provisioning' });
  }
}

/**
 * What reservations offer storage (src/storage/ports.ts). Global, and registered by the app in
 * every role: storage's providers are built wherever storage is, and storage may not import a
 * reservations module (reservations imports storage's).
 */
@Module({})
export class StoragePortsModule {
  static forRoot(): DynamicModule {
    return {
      module: StoragePortsModule,
      global: true,
      providers: [
        { provide: RESERVATION_TIMELINE, useClass: TimelineForStorage },
        { provide: DISK_HOLDERS, useClass: HoldersForStorage },
      ],
      exports: [RESERVATION_TIMELINE, DISK_HOLDERS],
    };
  }
}

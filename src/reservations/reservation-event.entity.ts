import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import { Reservation, type ReservationStatus } from './reservation.entity';

/** The timeline `show` prints: each transition (from → to) and each notable step, with a message. */
@Entity({ name: 'reservation_events' })
@Index('IDX_reservation_events_reservation', ['reservationId', 'id'])
export class ReservationEvent {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id!: string;

  @Column({ name: 'reservation_id', type: 'uuid' })
  reservationId!: string;

  @ManyToOne(() => Reservation, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'reservation_id', foreignKeyConstraintName: 'FK_reservation_events_reservation' })
  reservation?: Reservation;

  @Column({ type: 'timestamptz', default: () => 'now()' })
  at!: Date;

  @Column({ name: 'from_status', type: 'text', nullable: true })
  fromStatus!: ReservationStatus | null;

  @Column({ name: 'to_status', type: 'text', nullable: true })
  toStatus!: ReservationStatus | null;

  @Column({ type: 'text' })
  message!: string;

  @Column({ type: 'jsonb', nullable: true })
  details!: Record<string, unknown> | null;
}

import {
  Column,
  CreateDateColumn,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  PrimaryGeneratedColumn,
} from 'typeorm';
import { Disk } from '../disks/disk.entity';

export const SNAPSHOT_STATUSES = ['pending', 'ready', 'failed', 'deleted'] as const;
export type SnapshotStatus = (typeof SNAPSHOT_STATUSES)[number];

/** At the end of the reservation that held the disk: how that reservation ended. */
export const END_OF_USE_REASONS = ['expired', 'cancelled', 'failed'] as const;
export type EndOfUseReason = (typeof END_OF_USE_REASONS)[number];

export const SNAPSHOT_REASONS = [...END_OF_USE_REASONS, 'manual', 'pre-delete', 'pre-restore'] as const;
/**
 * `expired`, `cancelled`, `failed`: at the end of a reservation, as it ended (it names that
 * reservation); `manual`: asked for; `pre-delete`: before a soft delete; `pre-restore`: before a
 * restore in place replaced the volume.
 */
export type SnapshotReason = (typeof SNAPSHOT_REASONS)[number];

/**
 * A snapshot of a disk's volume. The row comes first (its id names the provider's snapshot), so a
 * job that dies and runs again finds the same snapshot instead of taking a second; the end of a
 * reservation takes at most one (the unique index on disk and reservation).
 */
@Entity({ name: 'snapshots' })
@Index('UQ_snapshots_disk_reservation', ['diskId', 'reservationId'], {
  unique: true,
  where: `"reservation_id" IS NOT NULL`,
})
@Index('IDX_snapshots_disk', ['diskId', 'createdAt'])
export class Snapshot {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ name: 'disk_id', type: 'uuid' })
  diskId!: string;

  @ManyToOne(() => Disk, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'disk_id', foreignKeyConstraintName: 'FK_snapshots_disk' })
  disk?: Disk;

  /** The disk's owner, copied: ownership checks and listings need no join. */
  @Column({ name: 'owner_id', type: 'uuid' })
  ownerId!: string;

  @Column({ type: 'text' })
  reason!: SnapshotReason;

  /** The reservation whose end it records (an end-of-use reason); null for the others. */
  @Column({ name: 'reservation_id', type: 'uuid', nullable: true })
  reservationId!: string | null;

  @Index('IDX_snapshots_status')
  @Column({ type: 'text', default: 'pending' })
  status!: SnapshotStatus;

  /** The provider's snapshot (k8s-csi: the VolumeSnapshot's name; aws-ebs: snap-…), once asked for. */
  @Column({ name: 'provider_snapshot_id', type: 'text', nullable: true })
  providerSnapshotId!: string | null;

  /** k8s-csi: the cluster it was taken in. */
  @Column({ name: 'cluster_id', type: 'uuid', nullable: true })
  clusterId!: string | null;

  /** The volume it was taken of. */
  @Column({ name: 'volume_id', type: 'text' })
  volumeId!: string;

  @Column({ name: 'size_gb', type: 'integer', nullable: true })
  sizeGb!: number | null;

  /** k8s-csi: the backend's handle and CSI driver, with which another cluster of the storage domain imports it. */
  @Column({ name: 'portable_handle', type: 'text', nullable: true })
  portableHandle!: string | null;

  @Column({ type: 'text', nullable: true })
  driver!: string | null;

  @Column({ type: 'text', nullable: true })
  error!: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'ready_at', type: 'timestamptz', nullable: true })
  readyAt!: Date | null;

  @Column({ name: 'deleted_at', type: 'timestamptz', nullable: true })
  deletedAt!: Date | null;

  get userId(): string {
    return this.ownerId;
  }
}

import {
  Column,
  CreateDateColumn,
  Entity,
  ForeignKey,
  Index,
  JoinColumn,
  ManyToOne,
  PrimaryGeneratedColumn,
  UpdateDateColumn,
  VersionColumn,
} from 'typeorm';
import { User } from '../../auth/public';
import { Cluster } from '../../clusters/public';
import type { StorageProviderName } from '../providers/storage-provider';

export const DISK_STATUSES = ['ready', 'deleted', 'purged', 'lost'] as const;
/**
 * `ready`: usable (held or not: `in_use_by` says); `deleted`: soft-deleted, its data kept until
 * `purge_after`; `purged`: its volume and snapshots deleted; `lost`: its volume vanished from the
 * provider (the reconciler found it gone), its snapshots may still restore it.
 */
export type DiskStatus = (typeof DISK_STATUSES)[number];

/**
 * A user's named persistent disk. Its volume is made where it is first used (the cluster and zone
 * of that reservation's node) and stays there; `in_use_by` is the lock — one reservation at a time,
 * the database being the judge (a guarded UPDATE, and a unique index so one reservation never holds
 * two disks).
 */
@Entity({ name: 'disks' })
@Index('UQ_disks_owner_name', ['ownerId', 'name'], { unique: true, where: '"deleted_at" IS NULL' })
@Index('UQ_disks_in_use_by', ['inUseBy'], { unique: true, where: '"in_use_by" IS NOT NULL' })
@Index('UQ_disks_volume', ['provider', 'volumeId'], { unique: true, where: '"volume_id" IS NOT NULL' })
export class Disk {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ name: 'owner_id', type: 'uuid' })
  ownerId!: string;

  @ManyToOne(() => User, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'owner_id', foreignKeyConstraintName: 'FK_disks_owner' })
  owner?: User;

  /** A DNS label, unique per owner among disks not deleted. */
  @Column({ type: 'varchar', length: 63 })
  name!: string;

  @Column({ name: 'size_gb', type: 'integer' })
  sizeGb!: number;

  @Column({ type: 'text' })
  provider!: StorageProviderName;

  @Index('IDX_disks_status')
  @Column({ type: 'text', default: 'ready' })
  status!: DiskStatus;

  /**
   * The reservation holding it, from its request until its end-of-use snapshot is done. The key is
   * named by table, not by class: storage imports nothing of reservations (a deleted reservation
   * frees the disk).
   */
  @ForeignKey('reservations', { name: 'FK_disks_in_use_by', onDelete: 'SET NULL' })
  @Column({ name: 'in_use_by', type: 'uuid', nullable: true })
  inUseBy!: string | null;

  /** The provider's volume (k8s-csi: the claim's name; aws-ebs: vol-…); null until first used. */
  @Column({ name: 'volume_id', type: 'text', nullable: true })
  volumeId!: string | null;

  /** k8s-csi: the cluster the volume lives in (its home); aws-ebs: null (a zone is its home). */
  @Column({ name: 'volume_cluster_id', type: 'uuid', nullable: true })
  volumeClusterId!: string | null;

  @ManyToOne(() => Cluster, { onDelete: 'SET NULL' })
  @JoinColumn({ name: 'volume_cluster_id', foreignKeyConstraintName: 'FK_disks_volume_cluster' })
  volumeCluster?: Cluster;

  /** The zone the volume lives in, when known: pods that mount it must run there. */
  @Column({ type: 'text', nullable: true })
  zone!: string | null;

  /** Where pods mount it now: the claim's name and its cluster (aws-ebs: a claim on a static PV). */
  @Column({ name: 'claim_name', type: 'varchar', length: 63, nullable: true })
  claimName!: string | null;

  @Column({ name: 'attached_cluster_id', type: 'uuid', nullable: true })
  attachedClusterId!: string | null;

  /** Counts the volumes made for it: their names carry it, so a retry makes the same one. */
  @Column({ type: 'integer', default: 0 })
  generation!: number;

  /** The next volume starts from this snapshot (a restore, or a move to another cluster). */
  @Column({ name: 'restore_from', type: 'uuid', nullable: true })
  restoreFrom!: string | null;

  /** Written to since its last ready snapshot: its snapshots are behind, so it cannot move by one. */
  @Column({ name: 'used_since_snapshot', type: 'boolean', default: false })
  usedSinceSnapshot!: boolean;

  @Column({ name: 'last_error', type: 'text', nullable: true })
  lastError!: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;

  @Column({ name: 'last_used_at', type: 'timestamptz', nullable: true })
  lastUsedAt!: Date | null;

  @Column({ name: 'deleted_at', type: 'timestamptz', nullable: true })
  deletedAt!: Date | null;

  /** Soft-deleted: when its volume and snapshots go for good. */
  @Column({ name: 'purge_after', type: 'timestamptz', nullable: true })
  purgeAfter!: Date | null;

  @VersionColumn()
  version!: number;

  /** Whose it is, as the ownership rule (src/auth/ownership.ts) reads it. */
  get userId(): string {
    return this.ownerId;
  }
}

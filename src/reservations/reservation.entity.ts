import {
  Column,
  CreateDateColumn,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  PrimaryGeneratedColumn,
  VersionColumn,
} from 'typeorm';
import { User } from '../auth/public';
import { Cluster } from '../clusters/public';
import { GpuType } from './catalog/gpu-type.entity';

/**
 * From queued to one of the last three. `ending`: it is over for its user (cancelled, out of
 * time or failed, as `ending_as` says) while its objects are deleted; its GPUs are held until then.
 */
export const RESERVATION_STATUSES = [
  'queued',
  'placing',
  'provisioning',
  'active',
  'ending',
  'expired',
  'cancelled',
  'failed',
] as const;
export type ReservationStatus = (typeof RESERVATION_STATUSES)[number];

/** Holding GPUs on a node (or about to): what placement must count. */
export const CLAIMING_STATUSES: readonly ReservationStatus[] = [
  'placing',
  'provisioning',
  'active',
  'ending',
];
/** Not over yet. */
export const LIVE_STATUSES: readonly ReservationStatus[] = ['queued', ...CLAIMING_STATUSES];
/**
 * Neither over nor ending: where a name means one reservation of its owner (unique there, and
 * what the API resolves a name to). An `ending` one's name is free again at once.
 */
export const NAMED_STATUSES: readonly ReservationStatus[] = ['queued', 'placing', 'provisioning', 'active'];

/** A request for GPUs for a while, from queued to its end. */
@Entity({ name: 'reservations' })
@Index('IDX_reservations_queue', ['gpuType', 'createdAt'], { where: `"status" = 'queued'` })
@Index('IDX_reservations_queue_position', ['gpuType', 'queuePosition'], { where: `"status" = 'queued'` })
@Index('IDX_reservations_owner', ['ownerId', 'createdAt'])
@Index('IDX_reservations_created', ['createdAt', 'id'])
@Index('IDX_reservations_node', ['clusterId', 'nodeName'], {
  where: `"status" IN ('placing', 'provisioning', 'active', 'ending')`,
})
// A name means one reservation among its owner's that are neither over nor ending (NAMED_STATUSES).
@Index('UQ_reservations_live_name', ['ownerId', 'name'], {
  unique: true,
  where: `"name" IS NOT NULL AND "status" IN ('queued', 'placing', 'provisioning', 'active')`,
})
@Index('UQ_reservations_idempotency', ['ownerId', 'idempotencyKey'], {
  unique: true,
  where: '"idempotency_key" IS NOT NULL',
})
export class Reservation {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ name: 'owner_id', type: 'uuid' })
  ownerId!: string;

  @ManyToOne(() => User, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'owner_id', foreignKeyConstraintName: 'FK_reservations_owner' })
  owner?: User;

  @Column({ type: 'varchar', length: 63, nullable: true })
  name!: string | null;

  @Column({ name: 'gpu_type', type: 'varchar', length: 32 })
  gpuType!: string;

  @ManyToOne(() => GpuType)
  @JoinColumn({ name: 'gpu_type', foreignKeyConstraintName: 'FK_reservations_gpu_type' })
  type?: GpuType;

  @Column({ name: 'gpu_count', type: 'integer' })
  gpuCount!: number;

  /** How long it runs once active, before extensions. */
  @Column({ name: 'duration_minutes', type: 'integer' })
  durationMinutes!: number;

  @Column({ type: 'text', nullable: true })
  image!: string | null;

  @Column({ type: 'boolean', default: false })
  jupyter!: boolean;

  @Column({ name: 'node_labels', type: 'jsonb', nullable: true })
  nodeLabels!: Record<string, string> | null;

  /** The persistent disk mounted at /home/dev (src/storage); held from the request to its end. */
  @Column({ name: 'disk_id', type: 'uuid', nullable: true })
  diskId!: string | null;

  /** No snapshot of the disk at the end (the disk is released at once). */
  @Column({ name: 'no_persist', type: 'boolean', default: false })
  noPersist!: boolean;

  /** Higher is admitted first (admins may raise it). */
  @Column({ type: 'integer', default: 0 })
  priority!: number;

  @Index('IDX_reservations_status')
  @Column({ type: 'text', default: 'queued' })
  status!: ReservationStatus;

  @Column({ name: 'status_reason', type: 'text', nullable: true })
  statusReason!: string | null;

  /** When it entered its current status (stuck placements and stale queue entries are found by it). */
  @Column({ name: 'status_since', type: 'timestamptz', default: () => 'now()' })
  statusSince!: Date;

  /** While `ending` (its objects being deleted, its GPUs still held): the status it ends in. */
  @Column({ name: 'ending_as', type: 'text', nullable: true })
  endingAs!: 'expired' | 'cancelled' | 'failed' | null;

  @Column({ name: 'cluster_id', type: 'uuid', nullable: true })
  clusterId!: string | null;

  @ManyToOne(() => Cluster, { onDelete: 'SET NULL' })
  @JoinColumn({ name: 'cluster_id', foreignKeyConstraintName: 'FK_reservations_cluster' })
  cluster?: Cluster;

  @Column({ name: 'node_name', type: 'varchar', length: 253, nullable: true })
  nodeName!: string | null;

  /** The Kubernetes name of its objects on the cluster (`odc-<12 hex>`). */
  @Index('UQ_reservations_external_id', { unique: true })
  @Column({ name: 'external_id', type: 'varchar', length: 63 })
  externalId!: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'started_at', type: 'timestamptz', nullable: true })
  startedAt!: Date | null;

  @Column({ name: 'expires_at', type: 'timestamptz', nullable: true })
  expiresAt!: Date | null;

  @Column({ name: 'ended_at', type: 'timestamptz', nullable: true })
  endedAt!: Date | null;

  @Column({ name: 'extended_minutes', type: 'integer', default: 0 })
  extendedMinutes!: number;

  /** Minutes-before-expiry marks whose warning went out (ODC_EXPIRY_WARNINGS). */
  @Column({ name: 'warnings_sent', type: 'integer', array: true, default: () => "'{}'" })
  warningsSent!: number[];

  @Column({ name: 'ssh_command', type: 'text', nullable: true })
  sshCommand!: string | null;

  @Column({ name: 'jupyter_url', type: 'text', nullable: true })
  jupyterUrl!: string | null;

  /** Usernames that also get SSH access. */
  @Column({ name: 'secondary_users', type: 'text', array: true, default: () => "'{}'" })
  secondaryUsers!: string[];

  @Column({ name: 'idempotency_key', type: 'varchar', length: 255, nullable: true })
  idempotencyKey!: string | null;

  /** The request an idempotency key stands for: the same key with another body is refused. */
  @Column({ name: 'request_fingerprint', type: 'varchar', length: 64, nullable: true })
  requestFingerprint!: string | null;

  /** Placements that failed before anything was created (the cluster refused or could not be reached). */
  @Column({ name: 'placement_attempts', type: 'integer', default: 0 })
  placementAttempts!: number;

  /** Clusters that refused it: admission tries the others first. */
  @Column({ name: 'refused_by', type: 'uuid', array: true, default: () => "'{}'" })
  refusedBy!: string[];

  /**
   * Queued: its place in its type's queue (from 1) and when it is expected to start, as the last
   * admission pass planned them (before the first pass, the estimate its reserve answered with).
   * Stored so that reads never plan; a pass rewrites only those that changed.
   */
  @Column({ name: 'queue_position', type: 'integer', nullable: true })
  queuePosition!: number | null;

  /** Queued: null when nothing known lets it start (no node large enough accepts it). */
  @Column({ name: 'estimated_start', type: 'timestamptz', nullable: true })
  estimatedStart!: Date | null;

  @VersionColumn()
  version!: number;

  /** Whose it is, as the ownership rule (src/auth/ownership.ts) reads it. */
  get userId(): string {
    return this.ownerId;
  }
}

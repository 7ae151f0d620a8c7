import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import type { ClusterProfile } from './dto/cluster-profile.dto';

export const CLUSTER_STATUSES = ['unknown', 'healthy', 'unreachable', 'auth_failed'] as const;
export type ClusterStatus = (typeof CLUSTER_STATUSES)[number];

/**
 * A registered Kubernetes cluster and how to reach its deployer (`vice_clusters` of the platform
 * ODC replaces, plus draining, an encrypted bearer token, the profile manifests are built from, and
 * health). Private key and token are stored only encrypted under ODC_MASTER_KEY (`key_id` names the
 * key). `updated_at` is kept by a trigger, and every change NOTIFYs `odc_clusters`.
 */
@Entity({ name: 'clusters' })
export class Cluster {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Index('UQ_clusters_name', { unique: true })
  @Column({ type: 'varchar', length: 255 })
  name!: string;

  @Column({ name: 'deployer_url', type: 'varchar', length: 512 })
  deployerUrl!: string;

  @Index('IDX_clusters_enabled', { where: '"enabled" = true' })
  @Column({ type: 'boolean', default: true })
  enabled!: boolean;

  /** No new reservations are placed here; running ones continue until they end. */
  @Column({ type: 'boolean', default: false })
  draining!: boolean;

  /** Lower is preferred when several clusters fit, as on the platform ODC replaces. */
  @Column({ type: 'integer', default: 100 })
  priority!: number;

  @Column({ name: 'mtls_enabled', type: 'boolean', default: false })
  mtlsEnabled!: boolean;

  @Column({ name: 'ca_cert', type: 'text', nullable: true })
  caCert!: string | null;

  @Column({ name: 'client_cert', type: 'text', nullable: true })
  clientCert!: string | null;

  @Column({ name: 'client_key_encrypted', type: 'bytea', nullable: true })
  clientKeyEncrypted!: Buffer | null;

  @Column({ name: 'token_encrypted', type: 'bytea', nullable: true })
  tokenEncrypted!: Buffer | null;

  /** The master key the encrypted columns are under (`npm run keys:rotate` moves them to the current one). */
  @Column({ name: 'key_id', type: 'varchar', length: 32, nullable: true })
  keyId!: string | null;

  @Column({ type: 'jsonb', default: () => "'{}'" })
  profile!: ClusterProfile;

  @Column({ type: 'text', default: 'unknown' })
  status!: ClusterStatus;

  @Column({ name: 'last_health_check', type: 'timestamptz', nullable: true })
  lastHealthCheck!: Date | null;

  @Column({ name: 'last_error', type: 'text', nullable: true })
  lastError!: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  /** Set by the `clusters_updated_at` trigger on every UPDATE (not by TypeORM). */
  @Column({ name: 'updated_at', type: 'timestamptz', default: () => 'now()' })
  updatedAt!: Date;
}

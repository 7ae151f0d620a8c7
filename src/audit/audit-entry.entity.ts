import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

export type AuditOutcome = 'success' | 'denied' | 'failure';

/**
 * One audited action (audit_log's columns as the platform ODC replaces has them, plus outcome, ip,
 * request id and a hash chain): each row stores the previous row's hash and its own keyed hash, so
 * an edit shows at that row (src/audit/audit-chain.ts).
 */
@Entity({ name: 'audit_log' })
export class AuditEntry {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id!: string;

  @Index('IDX_audit_log_timestamp')
  @Column({ type: 'timestamptz' })
  timestamp!: Date;

  @Index('IDX_audit_log_user')
  @Column({ name: 'user_id', type: 'uuid', nullable: true })
  userId!: string | null;

  @Column({ type: 'varchar', length: 255, nullable: true })
  username!: string | null;

  @Index('IDX_audit_log_action')
  @Column({ type: 'varchar', length: 100 })
  action!: string;

  @Column({ name: 'resource_type', type: 'varchar', length: 50, nullable: true })
  resourceType!: string | null;

  @Column({ name: 'resource_id', type: 'varchar', length: 255, nullable: true })
  resourceId!: string | null;

  @Column({ type: 'text' })
  outcome!: AuditOutcome;

  @Column({ type: 'text', nullable: true })
  ip!: string | null;

  @Column({ name: 'user_agent', type: 'text', nullable: true })
  userAgent!: string | null;

  @Column({ name: 'request_id', type: 'text', nullable: true })
  requestId!: string | null;

  @Column({ name: 'request_metadata', type: 'jsonb', nullable: true })
  requestMetadata!: Record<string, unknown> | null;

  /** Usage reports are idempotent on it (POST /api/v1/audit/usage looks it up). */
  @Index('IDX_audit_log_bedrock_request_id', { where: '"bedrock_request_id" IS NOT NULL' })
  @Column({ name: 'bedrock_request_id', type: 'varchar', length: 255, nullable: true })
  bedrockRequestId!: string | null;

  @Column({ name: 'bedrock_tokens_used', type: 'integer', nullable: true })
  bedrockTokensUsed!: number | null;

  /** The audit key the hash is an HMAC under; null for rows written before keys (plain SHA-256). */
  @Column({ name: 'key_id', type: 'varchar', length: 16, nullable: true })
  keyId!: string | null;

  @Column({ name: 'prev_hash', type: 'bytea' })
  prevHash!: Buffer;

  @Column({ type: 'bytea' })
  hash!: Buffer;
}

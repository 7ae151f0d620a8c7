import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

/**
 * A signed checkpoint of the audit chain's head, kept outside the rows it covers: deleting the
 * newest audit rows leaves the checkpoint saying there were more. The same checkpoint goes to the
 * log, a metric and optionally a URL, where a database writer cannot reach it.
 */
@Entity({ name: 'audit_checkpoints' })
export class AuditCheckpointRow {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id!: string;

  @Column({ type: 'bigint' })
  rows!: string;

  @Column({ name: 'last_id', type: 'bigint' })
  lastId!: string;

  @Column({ type: 'text' })
  head!: string;

  @Column({ type: 'timestamptz' })
  at!: Date;

  @Column({ name: 'key_id', type: 'varchar', length: 16 })
  keyId!: string;

  @Column({ type: 'text' })
  signature!: string;
}

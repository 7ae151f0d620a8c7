import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { createHash } from 'node:crypto';
import { DataSource, MoreThan, type EntityManager } from 'typeorm';
import { LOCK_NAMESPACE } from '../infra/database/advisory-locks';
import { AuditEntry, type AuditOutcome } from './audit-entry.entity';
import { canonicalJson } from './canonical-json';

/** What a caller records; the time, the chain and the id are the service's. */
export interface AuditRecord {
  action: string;
  outcome: AuditOutcome;
  userId?: string | null;
  username?: string | null;
  resourceType?: string | null;
  resourceId?: string | null;
  ip?: string | null;
  userAgent?: string | null;
  requestId?: string | null;
  requestMetadata?: Record<string, unknown> | null;
  bedrockRequestId?: string | null;
  bedrockTokensUsed?: number | null;
}

export interface ChainVerification {
  ok: boolean;
  checked: number;
  /** The first row whose stored hashes do not match its content or its predecessor. */
  first_broken_id?: string;
}

const GENESIS = Buffer.alloc(32);
const VERIFY_BATCH = 1000;

/** The row's hash: its predecessor's hash and every audited field, in a fixed canonical form. */
export function hashOf(entry: Omit<AuditEntry, 'id' | 'hash'>): Buffer {
  const content = canonicalJson([
    entry.timestamp.toISOString(),
    entry.userId,
    entry.username,
    entry.action,
    entry.resourceType,
    entry.resourceId,
    entry.outcome,
    entry.ip,
    entry.userAgent,
    entry.requestId,
    entry.requestMetadata,
    entry.bedrockRequestId,
    entry.bedrockTokensUsed,
  ]);
  return createHash('sha256').update(entry.prevHash).update(content).digest();
}

/**
 * The append-only audit log. Rows form a hash chain: each stores its predecessor's hash and its
 * own, so changing, deleting or inserting a row in SQL breaks the chain at that row. Appends take a
 * transaction-scoped advisory lock, so concurrent writers (any replica) extend one chain.
 */
@Injectable()
export class AuditService {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async record(record: AuditRecord, manager?: EntityManager): Promise<AuditEntry> {
    const append = async (tx: EntityManager) => {
      await tx.query('SELECT pg_advisory_xact_lock($1, 0)', [LOCK_NAMESPACE.audit]);
      const last = await tx
        .getRepository(AuditEntry)
        .find({ order: { id: 'DESC' }, take: 1, select: { hash: true } });
      const entry = tx.getRepository(AuditEntry).create({
        timestamp: new Date(),
        userId: record.userId ?? null,
        username: record.username ?? null,
        action: record.action,
        resourceType: record.resourceType ?? null,
        resourceId: record.resourceId ?? null,
        outcome: record.outcome,
        ip: record.ip ?? null,
        userAgent: record.userAgent ?? null,
        requestId: record.requestId ?? null,
        requestMetadata: record.requestMetadata ?? null,
        bedrockRequestId: record.bedrockRequestId ?? null,
        bedrockTokensUsed: record.bedrockTokensUsed ?? null,
        prevHash: last[0]?.hash ?? GENESIS,
      });
      entry.hash = hashOf(entry);
      return tx.getRepository(AuditEntry).save(entry);
    };
    return manager ? append(manager) : this.dataSource.transaction(append);
  }

  /** Recomputes the chain from the first row, in batches; reports the first row that does not hold. */
  async verifyChain(): Promise<ChainVerification> {
    const repository = this.dataSource.getRepository(AuditEntry);
    let previous: Buffer = GENESIS;
    let lastId = '0';
    let checked = 0;
    for (;;) {
      const batch = await repository.find({
        where: { id: MoreThan(lastId) },
        order: { id: 'ASC' },
        take: VERIFY_BATCH,
      });
      for (const entry of batch) {
        if (!entry.prevHash.equals(previous) || !entry.hash.equals(hashOf(entry))) {
          return { ok: false, checked, first_broken_id: entry.id };
        }
        previous = entry.hash;
        checked += 1;
      }
      if (batch.length < VERIFY_BATCH) {
        return { ok: true, checked };
      }
      lastId = batch.at(-1)!.id;
    }
  }
}

import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { createHash } from 'node:crypto';
import { DataSource, MoreThan, type EntityManager } from 'typeorm';
import type { Principal } from '../auth/principal';
import { User } from '../auth/users/user.entity';
import { LOCK_NAMESPACE } from '../infra/database/advisory-locks';
import { AppError, CommonErrorCode } from '../infra/errors/app-error';
import type { Request } from 'express';
import { AuditEntry, type AuditOutcome } from './audit-entry.entity';
import { requestContext } from './request-context';
import { canonicalJson } from './canonical-json';
import {
  AUDIT_PAGE_DEFAULT,
  AuditEntryDto,
  decodeAuditCursor,
  encodeAuditCursor,
  type AuditPageDto,
  type AuditQueryDto,
  type RecordUsageDto,
} from './dto/audit.dto';

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

/** Where an audited action came from (see request-context.ts). */
export type AuditContext = Pick<AuditRecord, 'ip' | 'userAgent' | 'requestId'>;

export const USAGE_ACTION = 'usage.record';

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

  /** What a caller did to a resource through the API, with where the request came from. */
  recordCall(
    principal: Principal,
    request: Request,
    call: {
      action: string;
      resourceType: string;
      resourceId?: string | null;
      outcome?: AuditOutcome;
      metadata?: Record<string, unknown>;
    },
  ): Promise<AuditEntry> {
    return this.record({
      action: call.action,
      outcome: call.outcome ?? 'success',
      userId: principal.userId,
      username: principal.username,
      resourceType: call.resourceType,
      resourceId: call.resourceId ?? null,
      ...requestContext(request),
      ...(call.metadata ? { requestMetadata: call.metadata } : {}),
    });
  }

  /**
   * Rows matching every filter given, newest first, a page at a time: keyset on the id (ids grow
   * with time, as appends are serialised), so a page is an index range whatever the log's size.
   */
  async list(query: AuditQueryDto): Promise<AuditPageDto> {
    const limit = query.limit ?? AUDIT_PAGE_DEFAULT;
    const rows = this.dataSource
      .getRepository(AuditEntry)
      .createQueryBuilder('entry')
      .orderBy('entry.id', 'DESC')
      .limit(limit + 1);
    if (query.user !== undefined) {
      rows.andWhere('entry.username = :username', { username: query.user });
    }
    if (query.action?.endsWith('*')) {
      // An action may hold `_` (any one character to LIKE), never `%` or a backslash: escape `_`.
      const prefix = query.action.slice(0, -1).replace(/_/g, '\\_');
      rows.andWhere('entry.action LIKE :prefix', { prefix: `${prefix}%` });
    } else if (query.action !== undefined) {
      rows.andWhere('entry.action = :action', { action: query.action });
    }
    if (query.resource_type !== undefined) {
      rows.andWhere('entry.resourceType = :resourceType', { resourceType: query.resource_type });
    }
    if (query.resource_id !== undefined) {
      rows.andWhere('entry.resourceId = :resourceId', { resourceId: query.resource_id });
    }
    if (query.outcome !== undefined) {
      rows.andWhere('entry.outcome = :outcome', { outcome: query.outcome });
    }
    if (query.since !== undefined) {
      rows.andWhere('entry.timestamp >= :since', { since: new Date(query.since) });
    }
    if (query.until !== undefined) {
      rows.andWhere('entry.timestamp < :until', { until: new Date(query.until) });
    }
    const before = query.cursor !== undefined ? decodeAuditCursor(query.cursor) : undefined;
    if (before !== undefined) {
      rows.andWhere('entry.id < :before', { before });
    }
    const entries = await rows.getMany();
    const page = entries.slice(0, limit);
    return {
      items: page.map((entry) => AuditEntryDto.from(entry)),
      ...(entries.length > limit ? { next_cursor: encodeAuditCursor(page.at(-1)!.id) } : {}),
    };
  }

  /**
   * Records usage of an external service (Bedrock) for the caller, or for another existing user
   * when the caller is an admin. Idempotent on the Bedrock request id: a repeat with the same user,
   * token count and model returns the row already written (`created: false`), one with other values
   * is a 409. The check and the append hold the chain's lock, so concurrent repeats write one row.
   */
  async recordUsage(
    principal: Principal,
    usage: RecordUsageDto,
    context: AuditContext,
  ): Promise<{ entry: AuditEntry; created: boolean }> {
    const target = await this.usageOwner(principal, usage.username);
    const model = usage.model ?? null;
    return this.dataSource.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1, 0)', [LOCK_NAMESPACE.audit]);
      const existing = await tx
        .getRepository(AuditEntry)
        .findOneBy({ action: USAGE_ACTION, bedrockRequestId: usage.bedrock_request_id });
      if (existing) {
        const same =
          existing.userId === target.id &&
          existing.bedrockTokensUsed === usage.tokens_used &&
          (existing.requestMetadata?.model ?? null) === model;
        if (!same) {
          throw new AppError(
            CommonErrorCode.Conflict,
            `Usage of Bedrock request ${usage.bedrock_request_id} is already recorded with other values`,
          );
        }
        return { entry: existing, created: false };
      }
      const entry = await this.record(
        {
          action: USAGE_ACTION,
          outcome: 'success',
          userId: target.id,
          username: target.username,
          ...context,
          requestMetadata: {
            ...(model !== null ? { model } : {}),
            ...(usage.metadata !== undefined ? { metadata: usage.metadata } : {}),
            ...(target.id !== principal.userId ? { recorded_by: principal.username } : {}),
          },
          bedrockRequestId: usage.bedrock_request_id,
          bedrockTokensUsed: usage.tokens_used,
        },
        tx,
      );
      return { entry, created: true };
    });
  }

  /** Whose usage it is: the caller's own, or (admins only) an existing user's. */
  private async usageOwner(
    principal: Principal,
    username: string | undefined,
  ): Promise<{ id: string; username: string }> {
    if (username === undefined || username === principal.username) {
      return { id: principal.userId, username: principal.username };
    }
    if (!principal.admin) {
      throw new AppError(CommonErrorCode.Forbidden, 'Only an admin may record usage for another user');
    }
    const user = await this.dataSource.getRepository(User).findOneBy({ username });
    if (!user) {
      throw new AppError(CommonErrorCode.NotFound, `No user ${username}`);
    }
    return { id: user.id, username: user.username };
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

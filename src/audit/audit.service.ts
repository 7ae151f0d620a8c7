import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, MoreThan, type EntityManager } from 'typeorm';
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';
import type { Principal } from '../auth/principal';
import { User } from '../auth/users/user.entity';
import { AppConfig } from '../infra/config/env';
import { LOCK_NAMESPACE } from '../infra/database/advisory-locks';
import { AppError, CommonErrorCode } from '../infra/errors/app-error';
import type { Request } from 'express';
import {
  ChainWalk,
  checkpointSigned,
  GENESIS,
  hashOf,
  signCheckpoint,
  type ChainVerdict,
  type Checkpoint,
} from './audit-chain';
import { AuditCheckpointRow } from './audit-checkpoint.entity';
import { AuditEntry, type AuditOutcome } from './audit-entry.entity';
import { AuditKeys } from './audit-keys';
import { requestContext } from './request-context';
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

/** Where an audited action came from (see request-context.ts). */
export type AuditContext = Pick<AuditRecord, 'ip' | 'userAgent' | 'requestId'>;

export const USAGE_ACTION = 'usage.record';

const VERIFY_BATCH = 1000;

/** Whose report a usage row is: the reporting user (rows from before it was kept: the user's own). */
function reporterOf(row: AuditEntry): string | null {
  const reporter = row.requestMetadata?.reported_by;
  return typeof reporter === 'string' ? reporter : row.userId;
}

/** Appends waiting for the next group commit, at most this many per transaction. */
const GROUP_COMMIT_MAX = 256;

interface PendingAppend {
  record: AuditRecord;
  timestamp: Date;
  resolve(entry: AuditEntry): void;
  reject(error: unknown): void;
}

/**
 * The append-only audit log. Rows form a keyed hash chain: each stores its predecessor's hash and
 * its own HMAC under the audit key, so changing, deleting or inserting a row in SQL breaks the
 * chain at that row, and only a holder of the key could recompute it; signed checkpoints of the
 * head (`checkpoint()`) catch rows deleted from the end. Appends take a transaction-scoped
 * advisory lock, so concurrent writers (any replica) extend one chain.
 *
 * Appends outside a caller's transaction are group-committed: those that arrive while one commit
 * is under way go together in the next (one lock, one read of the chain's end, one INSERT), so the
 * chain's lock is taken once per group instead of once per row and busy APIs do not queue behind
 * it. Each caller still returns only once its row has committed. A group costs three round trips:
 * BEGIN, the lock and the read of the chain's end go in one message (each statement of a message
 * takes its own snapshot, so the read sees every row committed before the lock was granted), then
 * the INSERT, then COMMIT.
 */
@Injectable()
export class AuditService {
  private pending: PendingAppend[] = [];
  private committing = false;

  private readonly keys: AuditKeys;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    config: AppConfig,
  ) {
    this.keys = AuditKeys.fromConfig(config);
  }

  async record(record: AuditRecord, manager?: EntityManager): Promise<AuditEntry> {
    if (manager) {
      const [entry] = await this.append(manager, [{ record, timestamp: new Date() }]);
      return entry;
    }
    return new Promise<AuditEntry>((resolve, reject) => {
      this.pending.push({ record, timestamp: new Date(), resolve, reject });
      if (!this.committing) {
        void this.commitPending();
      }
    });
  }

  /** Commits waiting appends a group at a time until none wait. */
  private async commitPending(): Promise<void> {
    this.committing = true;
    try {
      while (this.pending.length > 0) {
        const group = this.pending.splice(0, GROUP_COMMIT_MAX);
        try {
          const entries = await this.commitGroup(group);
          group.forEach((append, i) => append.resolve(entries[i]));
        } catch (error) {
          await this.commitOneByOne(group, error);
        }
      }
    } finally {
      this.committing = false;
    }
  }

  /** A group that failed: each append alone, so one bad row fails only its own caller. */
  private async commitOneByOne(group: PendingAppend[], error: unknown): Promise<void> {
    if (group.length === 1) {
      group[0].reject(error);
      return;
    }
    for (const append of group) {
      try {
        const [entry] = await this.dataSource.transaction((tx) => this.append(tx, [append]));
        append.resolve(entry);
      } catch (alone) {
        append.reject(alone);
      }
    }
  }

  /** A group's rows at the chain's end, in a transaction of their own (see the class). */
  private async commitGroup(appends: Pick<PendingAppend, 'record' | 'timestamp'>[]): Promise<AuditEntry[]> {
    const runner = this.dataSource.createQueryRunner();
    try {
      // TypeORM's connection is a pg client; a text without parameters goes as one simple query.
      const client = (await runner.connect()) as {
        query(text: string): Promise<{ rows: { hash: Buffer }[] }[]>;
      };
      try {
        const results = await client.query(
          `BEGIN; SELECT pg_advisory_xact_lock(${Number(LOCK_NAMESPACE.audit)}, 0); ` +
            'SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1',
        );
        const entries = await this.insertChained(
          runner.manager,
          results[2].rows[0]?.hash ?? GENESIS,
          appends,
        );
        await runner.query('COMMIT');
        return entries;
      } catch (error) {
        // Whatever part failed, the transaction goes (harmless when there is none).
        await runner.query('ROLLBACK').catch(() => undefined);
        throw error;
      }
    } finally {
      await runner.release();
    }
  }

  /** Rows at the chain's end, in order, in the caller's transaction. */
  private async append(
    tx: EntityManager,
    appends: Pick<PendingAppend, 'record' | 'timestamp'>[],
  ): Promise<AuditEntry[]> {
    await tx.query('SELECT pg_advisory_xact_lock($1, 0)', [LOCK_NAMESPACE.audit]);
    const last = await tx
      .getRepository(AuditEntry)
      .find({ order: { id: 'DESC' }, take: 1, select: { hash: true } });
    return this.insertChained(tx, last[0]?.hash ?? GENESIS, appends);
  }

  /** The rows chained after `chainEnd`, inserted in the caller's transaction (which holds the chain's lock). */
  private async insertChained(
    tx: EntityManager,
    chainEnd: Buffer,
    appends: Pick<PendingAppend, 'record' | 'timestamp'>[],
  ): Promise<AuditEntry[]> {
    let prevHash = chainEnd;
    const entries = appends.map(({ record, timestamp }) => {
      const entry = tx.getRepository(AuditEntry).create({
        timestamp,
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
        keyId: this.keys.currentId,
        prevHash,
      });
      entry.hash = hashOf(entry, this.keys)!;
      prevHash = entry.hash;
      return entry;
    });
    // One INSERT: its rows take their ids in the order given, so ids follow the chain.
    const { identifiers } = await tx
      .getRepository(AuditEntry)
      .insert(entries as QueryDeepPartialEntity<AuditEntry>[]);
    entries.forEach((entry, i) => (entry.id = String(identifiers[i].id)));
    return entries;
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
   * when the caller is an admin. Idempotent on the Bedrock request id per reporting credential's
   * user (the reporting service): a repeat with the same user, token count and model returns the
   * row already written (`created: false`), one with other values is a 409. Another reporter's row
   * under the same id is none of this one's business (it could not block a real report). The check
   * and the append hold the chain's lock, so concurrent repeats write one row.
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
      const existing = (
        await tx
          .getRepository(AuditEntry)
          .findBy({ action: USAGE_ACTION, bedrockRequestId: usage.bedrock_request_id })
      ).find((row) => reporterOf(row) === principal.userId);
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
            reported_by: principal.userId,
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
    username: string | null | undefined,
  ): Promise<{ id: string; username: string }> {
    // JSON's null says "not given" as well as leaving the field out.
    if (username === undefined || username === null || username === principal.username) {
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

  /**
   * Signs the chain's head (rows, last id and hash) and stores it apart from the rows; the cron
   * task also logs it, exports it and may POST it elsewhere. Under the chain's lock, so the head is
   * one that appends agree on; rows are counted from the last checkpoint on.
   */
  async checkpoint(): Promise<Checkpoint> {
    return this.dataSource.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1, 0)', [LOCK_NAMESPACE.audit]);
      const [last] = await tx
        .getRepository(AuditEntry)
        .find({ order: { id: 'DESC' }, take: 1, select: { id: true, hash: true } });
      const previous = await this.storedCheckpoint(tx);
      // Counting from a checkpoint needs one this key signed, over rows that are still there.
      const countFrom =
        previous &&
        checkpointSigned(previous, this.keys) &&
        BigInt(previous.last_id) <= BigInt(last?.id ?? '0')
          ? previous
          : undefined;
      const [{ count }] = await tx.query<{ count: string }[]>(
        'SELECT count(*)::bigint AS count FROM audit_log WHERE id > $1',
        [countFrom?.last_id ?? '0'],
      );
      const checkpoint = signCheckpoint(
        {
          rows: (countFrom?.rows ?? 0) + Number(count),
          lastId: last?.id ?? '0',
          hash: last?.hash ?? GENESIS,
          at: new Date(),
        },
        this.keys,
      );
      await tx.getRepository(AuditCheckpointRow).insert({
        rows: String(checkpoint.rows),
        lastId: checkpoint.last_id,
        head: checkpoint.head,
        at: new Date(checkpoint.at),
        keyId: checkpoint.key_id,
        signature: checkpoint.signature,
      });
      return checkpoint;
    });
  }

  /**
   * Recomputes the chain from the first row, in batches, and holds it to the newest checkpoint: the
   * one given (from the log, the metric or the receiving URL) or the newest stored, whichever
   * covers more rows. Reports the first row that does not hold, or rows missing from the end.
   */
  async verifyChain(given?: Checkpoint): Promise<ChainVerdict> {
    const candidates = [given, await this.storedCheckpoint(this.dataSource.manager)].filter(
      (checkpoint): checkpoint is Checkpoint => checkpoint !== undefined,
    );
    const forged = candidates.find((checkpoint) => !checkpointSigned(checkpoint, this.keys));
    if (forged) {
      return { ok: false, checked: 0, problem: 'bad_checkpoint', checkpoint: forged };
    }
    const newest = candidates.sort((a, b) => b.rows - a.rows)[0];
    const walk = new ChainWalk(this.keys, newest);
    const repository = this.dataSource.getRepository(AuditEntry);
    let lastId = '0';
    for (;;) {
      const batch = await repository.find({
        where: { id: MoreThan(lastId) },
        order: { id: 'ASC' },
        take: VERIFY_BATCH,
      });
      if (!walk.feed(batch) || batch.length < VERIFY_BATCH) {
        return walk.verdict();
      }
      lastId = batch.at(-1)!.id;
    }
  }

  /** The newest stored checkpoint, as signed (its signature is checked by whoever relies on it). */
  private async storedCheckpoint(manager: EntityManager): Promise<Checkpoint | undefined> {
    const [row] = await manager.getRepository(AuditCheckpointRow).find({ order: { id: 'DESC' }, take: 1 });
    return row
      ? {
          rows: Number(row.rows),
          last_id: row.lastId,
          head: row.head,
          at: row.at.toISOString(),
          key_id: row.keyId,
          signature: row.signature,
        }
      : undefined;
  }
}

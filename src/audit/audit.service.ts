import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, MoreThan, type EntityManager } from 'typeorm';
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';
import { AuditConfig } from './audit.config';
import { LOCK_NAMESPACE } from '../infra/database/advisory-locks';
import { onlyRow } from '../infra/database/only-row';
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
import { requestContext, type AuditContext } from './request-context';
import {
  AUDIT_PAGE_DEFAULT,
  AuditEntryDto,
  decodeAuditCursor,
  encodeAuditCursor,
  type AuditPageDto,
  type AuditQueryDto,
} from './dto/audit.dto';

/** What a caller records; the time, the chain and the id are the service's. */
export interface AuditRecord extends AuditContext {
  action: string;
  outcome: AuditOutcome;
  userId?: string | null;
  username?: string | null;
  resourceType?: string | null;
  resourceId?: string | null;
  requestMetadata?: Record<string, unknown> | null;
  bedrockRequestId?: string | null;
  bedrockTokensUsed?: number | null;
}

/** An action a caller took on a resource through the API. */
export interface ApiCall {
  action: string;
  resourceType: string;
  resourceId?: string | null;
  outcome?: AuditOutcome;
  metadata?: Record<string, unknown>;
}

/** Who did it: any principal of the auth domain is one. */
export interface AuditActor {
  userId: string;
  username: string;
}

function callRecord(principal: AuditActor, request: Request, call: ApiCall): AuditRecord {
  return {
    action: call.action,
    outcome: call.outcome ?? 'success',
    userId: principal.userId,
    username: principal.username,
    resourceType: call.resourceType,
    resourceId: call.resourceId ?? null,
    ...requestContext(request),
    ...(call.metadata ? { requestMetadata: call.metadata } : {}),
  };
}

const VERIFY_BATCH = 1000;

/** How long staged rows may wait for others before their group (no one waits on it: see chainSoon). */
const CHAIN_DELAY_MS = 50;

/** Appends waiting for the next group commit, at most this many per transaction. */
const GROUP_COMMIT_MAX = 256;

interface PendingAppend {
  record: AuditRecord;
  timestamp: Date;
  resolve(entry: AuditEntry): void;
  reject(error: unknown): void;
}

/** A caller of `chainStaged` that waits for what was staged before it to be in the chain. */
interface Flusher {
  resolve(): void;
  reject(error: unknown): void;
}

/** audit_outbox's columns (audit_log's, less the chain's), in the order stage() writes them. */
const STAGED_COLUMNS = [
  'timestamp',
  'user_id',
  'username',
  'action',
  'resource_type',
  'resource_id',
  'outcome',
  'ip',
  'user_agent',
  'request_id',
  'request_metadata',
  'bedrock_request_id',
  'bedrock_tokens_used',
] as const;
const STAGED_COLUMN_LIST = STAGED_COLUMNS.map((column) => `"${column}"`).join(', ');
const STAGE_SQL = `INSERT INTO audit_outbox (${STAGED_COLUMN_LIST})
  VALUES (${STAGED_COLUMNS.map((_, i) => `$${i + 1}`).join(', ')})`;

interface StagedRow {
  id: string;
  timestamp: Date;
  user_id: string | null;
  username: string | null;
  action: string;
  resource_type: string | null;
  resource_id: string | null;
  outcome: AuditOutcome;
  ip: string | null;
  user_agent: string | null;
  request_id: string | null;
  request_metadata: Record<string, unknown> | null;
  bedrock_request_id: string | null;
  bedrock_tokens_used: number | null;
}

function stagedAppend(row: StagedRow): Pick<PendingAppend, 'record' | 'timestamp'> {
  return {
    timestamp: row.timestamp,
    record: {
      action: row.action,
      outcome: row.outcome,
      userId: row.user_id,
      username: row.username,
      resourceType: row.resource_type,
      resourceId: row.resource_id,
      ip: row.ip,
      userAgent: row.user_agent,
      requestId: row.request_id,
      requestMetadata: row.request_metadata,
      bedrockRequestId: row.bedrock_request_id,
      bedrockTokensUsed: row.bedrock_tokens_used,
    },
  };
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
 * BEGIN, the lock, the read of the chain's end and the taking of staged rows (below) go in one
 * message (each statement of a message takes its own snapshot, so the reads see every row committed
 * before the lock was granted), then the INSERT, then COMMIT.
 *
 * Or a record is staged (`stage`) in the transaction of the action it records, into audit_outbox:
 * the two commit together or not at all, and the action's transaction neither takes the chain's
 * lock nor waits for a group. The next group moves every staged row into the chain, oldest first
 * (`chainSoon` asks for one, CHAIN_DELAY_MS later, once the action has committed; a process that
 * stopped before asking leaves its rows to the next group of any process, or to its own next
 * start). Readers of the log chain what is staged first, so they see every action that committed
 * before they asked.
 */
@Injectable()
export class AuditService implements OnApplicationBootstrap {
  private readonly logger = new Logger('Audit');
  private pending: PendingAppend[] = [];
  private flushers: Flusher[] = [];
  /** Rows may wait in audit_outbox: the next group reads it. */
  private stagedWaiting = false;
  private chainTimer?: NodeJS.Timeout;
  private committing = false;

  private readonly keys: AuditKeys;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    config: AuditConfig,
  ) {
    this.keys = AuditKeys.fromConfig(config);
  }

  onApplicationBootstrap(): void {
    this.chainSoon(); // what a stopped process staged and never chained
  }

  /**
   * Records an action in its own transaction, `tx`: the record commits with the action, or neither
   * does. Call `chainSoon` once `tx` has committed.
   */
  async stage(tx: EntityManager, record: AuditRecord, timestamp = new Date()): Promise<void> {
    const values = [
      timestamp,
      record.userId ?? null,
      record.username ?? null,
      record.action,
      record.resourceType ?? null,
      record.resourceId ?? null,
      record.outcome,
      record.ip ?? null,
      record.userAgent ?? null,
      record.requestId ?? null,
      record.requestMetadata ?? null,
      record.bedrockRequestId ?? null,
      record.bedrockTokensUsed ?? null,
    ];
    await tx.query(STAGE_SQL, values);
  }

  /**
   * After a staging transaction committed: its rows go into the chain in the next group, which the
   * writer does not wait for (they are durable where they are). A failure is logged; the rows stay
   * staged for a later group.
   */
  chainSoon(): void {
    // Within CHAIN_DELAY_MS of a first request, others share its group: below saturation each change
    // would otherwise make a group of one (three round trips under the chain's lock).
    this.chainTimer ??= setTimeout(() => {
      this.chainTimer = undefined;
      this.chainStaged().catch((error: unknown) =>
        this.logger.warn(`chaining staged audit records failed: ${String(error)}`),
      );
    }, CHAIN_DELAY_MS);
    this.chainTimer.unref();
  }

  /** Moves what is staged into the chain; resolves once everything staged before this call is chained. */
  chainStaged(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.flushers.push({ resolve, reject });
      this.stagedWaiting = true;
      if (!this.committing) {
        void this.commitPending();
      }
    });
  }

  /**
   * `work` in a transaction that holds the chain's lock: for an append that must read the log
   * first (an idempotent record: is it there already?) with no other append in between. Appends
   * in it go through `record(…, tx)`.
   */
  withChainLock<T>(work: (tx: EntityManager) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1, 0)', [LOCK_NAMESPACE.audit]);
      return work(tx);
    });
  }

  async record(record: AuditRecord, manager?: EntityManager): Promise<AuditEntry> {
    if (manager) {
      return onlyRow(await this.append(manager, [{ record, timestamp: new Date() }]), 'an audit append');
    }
    return new Promise<AuditEntry>((resolve, reject) => {
      this.pending.push({ record, timestamp: new Date(), resolve, reject });
      if (!this.committing) {
        void this.commitPending();
      }
    });
  }

  /** Commits waiting appends, and staged rows, a group at a time until none wait. */
  private async commitPending(): Promise<void> {
    this.committing = true;
    try {
      while (this.pending.length > 0 || this.stagedWaiting) {
        const group = this.pending.splice(0, GROUP_COMMIT_MAX);
        const flushers = this.flushers.splice(0);
        this.stagedWaiting = false;
        try {
          const { entries, stagedLeft } = await this.commitGroup(group);
          // commitGroup answers one entry per append, in order.
          group.forEach((append, i) => append.resolve(entries[i]!));
          if (stagedLeft) {
            this.stagedWaiting = true;
            this.flushers.unshift(...flushers);
          } else {
            flushers.forEach((flusher) => flusher.resolve());
          }
        } catch (error) {
          // Staged rows stay staged for a later group; appends are tried alone.
          flushers.forEach((flusher) => flusher.reject(error));
          await this.commitOneByOne(group, error);
        }
      }
    } finally {
      this.committing = false;
    }
  }

  /** A group that failed: each append alone, so one bad row fails only its own caller. */
  private async commitOneByOne(group: PendingAppend[], error: unknown): Promise<void> {
    const [only] = group;
    if (group.length === 1 && only) {
      only.reject(error);
      return;
    }
    for (const append of group) {
      try {
        const entries = await this.dataSource.transaction((tx) => this.append(tx, [append]));
        append.resolve(onlyRow(entries, 'an audit append'));
      } catch (alone) {
        append.reject(alone);
      }
    }
  }

  /**
   * A group's rows at the chain's end, in a transaction of their own (see the class): first what
   * is staged (up to GROUP_COMMIT_MAX rows, oldest first; `stagedLeft` when there may be more),
   * then the appends, whose entries are returned.
   */
  private async commitGroup(
    appends: Pick<PendingAppend, 'record' | 'timestamp'>[],
  ): Promise<{ entries: AuditEntry[]; stagedLeft: boolean }> {
    const runner = this.dataSource.createQueryRunner();
    try {
      // TypeORM's connection is a pg client; a text without parameters goes as one simple query.
      const client = (await runner.connect()) as {
        query(text: string): Promise<[unknown, unknown, { rows: { hash: Buffer }[] }, { rows: StagedRow[] }]>;
      };
      try {
        // The staged rows are taken out in the same message; a failed group's ROLLBACK puts them back.
        const [, , end, taken] = await client.query(
          `BEGIN; SELECT pg_advisory_xact_lock(${Number(LOCK_NAMESPACE.audit)}, 0); ` +
            'SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1; ' +
            'DELETE FROM audit_outbox WHERE id IN ' +
            `(SELECT id FROM audit_outbox ORDER BY id LIMIT ${GROUP_COMMIT_MAX}) ` +
            `RETURNING id, ${STAGED_COLUMN_LIST}`,
        );
        const staged = taken.rows.sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1));
        const entries = await this.insertChained(runner.manager, end.rows[0]?.hash ?? GENESIS, [
          ...staged.map(stagedAppend),
          ...appends,
        ]);
        await runner.query('COMMIT');
        return {
          entries: entries.slice(staged.length),
          stagedLeft: staged.length === GROUP_COMMIT_MAX,
        };
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
    if (appends.length === 0) {
      return [];
    }
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
    // TypeORM answers one identifier per entity inserted, in order.
    entries.forEach((entry, i) => (entry.id = String(identifiers[i]!.id)));
    return entries;
  }

  /** What a caller did to a resource through the API, with where the request came from. */
  recordCall(principal: AuditActor, request: Request, call: ApiCall): Promise<AuditEntry> {
    return this.record(callRecord(principal, request, call));
  }

  /** recordCall's record, staged in the call's own transaction (see stage). */
  stageCall(tx: EntityManager, principal: AuditActor, request: Request, call: ApiCall): Promise<void> {
    return this.stage(tx, callRecord(principal, request, call));
  }

  /**
   * Rows matching every filter given, newest first, a page at a time: keyset on the id (ids follow
   * the chain, as appends are serialised), so a page is an index range whatever the log's size.
   * What is staged is chained first.
   */
  async list(query: AuditQueryDto): Promise<AuditPageDto> {
    await this.chainStaged();
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
   * Signs the chain's head (rows, last id and hash) and stores it apart from the rows; the cron
   * task also logs it, exports it and may POST it elsewhere. Under the chain's lock, so the head is
   * one that appends agree on; rows are counted from the last checkpoint on. What is staged is
   * chained first.
   */
  async checkpoint(): Promise<Checkpoint> {
    await this.chainStaged();
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
      const { count } = onlyRow(
        await tx.query<{ count: string }[]>('SELECT count(*)::bigint AS count FROM audit_log WHERE id > $1', [
          countFrom?.last_id ?? '0',
        ]),
        'counting audit rows',
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

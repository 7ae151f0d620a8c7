/**
 * The audit chain's arithmetic, without the database: how a row is hashed, how the chain's head is
 * signed as a checkpoint, and how a walk over the rows decides whether they hold.
 *
 * Rows written since the chain became keyed carry `key_id` and an HMAC under that audit key; rows
 * written before carry none and a plain SHA-256 (they stay verifiable, and the first keyed row's
 * MAC covers their last hash, so they cannot be rewritten without breaking it). A plain row after a
 * keyed one is a forgery: the app never writes one.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { AuditEntry } from './audit-entry.entity';
import type { AuditKeys } from './audit-keys';
import { canonicalJson } from './canonical-json';

export const GENESIS = Buffer.alloc(32);

export type ChainRow = Omit<AuditEntry, 'id' | 'hash'>;

function contentOf(entry: ChainRow): unknown[] {
  return [
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
  ];
}

/**
 * The row's hash over its predecessor's hash and every audited field: an HMAC under the key it
 * names, or (rows from before keys) a SHA-256. Undefined when its key is not configured.
 */
export function hashOf(entry: ChainRow, keys: AuditKeys): Buffer | undefined {
  if (entry.keyId === null) {
    return createHash('sha256')
      .update(entry.prevHash)
      .update(canonicalJson(contentOf(entry)))
      .digest();
  }
  const content = Buffer.from(canonicalJson([entry.keyId, ...contentOf(entry)]));
  return keys.mac('row', [entry.prevHash, content], entry.keyId);
}

/** The chain's head as signed: how many rows, the last one's id and hash, when, under which key. */
export interface Checkpoint {
  rows: number;
  last_id: string;
  /** The last row's hash, hex. */
  head: string;
  at: string;
  key_id: string;
  /** HMAC of the fields above under the audit key, hex. */
  signature: string;
}

function checkpointParts(checkpoint: Omit<Checkpoint, 'signature'>): Buffer[] {
  const { rows, last_id, head, at, key_id } = checkpoint;
  return [Buffer.from(canonicalJson([rows, last_id, head, at, key_id]))];
}

export function signCheckpoint(
  head: { rows: number; lastId: string; hash: Buffer; at: Date },
  keys: AuditKeys,
): Checkpoint {
  const unsigned = {
    rows: head.rows,
    last_id: head.lastId,
    head: head.hash.toString('hex'),
    at: head.at.toISOString(),
    key_id: keys.currentId,
  };
  return { ...unsigned, signature: keys.mac('checkpoint', checkpointParts(unsigned))!.toString('hex') };
}

/** Whether the signature holds under a configured key (a forged or altered checkpoint does not). */
export function checkpointSigned(checkpoint: Checkpoint, keys: AuditKeys): boolean {
  const expected = keys.mac('checkpoint', checkpointParts(checkpoint), checkpoint.key_id);
  const given = /^[0-9a-f]{64}$/.test(checkpoint.signature)
    ? Buffer.from(checkpoint.signature, 'hex')
    : undefined;
  return !!expected && !!given && timingSafeEqual(expected, given);
}

export type ChainProblem =
  /** A row's content, hash or link to its predecessor does not hold (an edit, insert or delete). */
  | 'rewritten'
  /** Rows a checkpoint covers are gone from the end. */
  | 'truncated'
  /** A row is under a key this replica does not have (set ODC_AUDIT_KEYS_PREVIOUS). */
  | 'unknown_key'
  /** The checkpoint given or stored does not carry a valid signature. */
  | 'bad_checkpoint';

export interface ChainVerdict {
  ok: boolean;
  checked: number;
  problem?: ChainProblem;
  /** The first row that does not hold. */
  first_broken_id?: string;
  /** The checkpoint the chain was held to, if any. */
  checkpoint?: Checkpoint;
}

/**
 * A walk over the rows in id order, fed a batch at a time. It checks each row's link and hash and,
 * at the checkpoint's last row, that the count and hash there are the ones signed.
 */
export class ChainWalk {
  private previous: Buffer = GENESIS;
  private keyed = false;
  private reachedCheckpoint = false;
  checked = 0;
  broken?: { problem: ChainProblem; id: string };

  constructor(
    private readonly keys: AuditKeys,
    private readonly checkpoint?: Checkpoint,
  ) {}

  /** Feeds rows in order; false once the chain is broken (no need to read further). */
  feed(rows: AuditEntry[]): boolean {
    for (const row of rows) {
      const problem = this.problemWith(row);
      if (problem) {
        this.broken = { problem, id: row.id };
        return false;
      }
      this.previous = row.hash;
      this.checked += 1;
      if (this.checkpoint && row.id === this.checkpoint.last_id) {
        this.reachedCheckpoint = true;
        if (this.checked !== this.checkpoint.rows || row.hash.toString('hex') !== this.checkpoint.head) {
          this.broken = { problem: 'rewritten', id: row.id };
          return false;
        }
      }
    }
    return true;
  }

  verdict(): ChainVerdict {
    const held = this.checkpoint ? { checkpoint: this.checkpoint } : {};
    if (this.broken) {
      return {
        ok: false,
        checked: this.checked,
        problem: this.broken.problem,
        first_broken_id: this.broken.id,
        ...held,
      };
    }
    if (this.checkpoint && !this.reachedCheckpoint) {
      return { ok: false, checked: this.checked, problem: 'truncated', ...held };
    }
    return { ok: true, checked: this.checked, ...held };
  }

  private problemWith(row: AuditEntry): ChainProblem | undefined {
    if (!row.prevHash.equals(this.previous)) {
      return 'rewritten';
    }
    if (row.keyId === null && this.keyed) {
      return 'rewritten'; // a plain hash where the app writes only keyed ones
    }
    if (row.keyId !== null && !this.keys.knows(row.keyId)) {
      return 'unknown_key';
    }
    this.keyed ||= row.keyId !== null;
    const expected = hashOf(row, this.keys)!;
    return expected.length === row.hash.length && timingSafeEqual(expected, row.hash)
      ? undefined
      : 'rewritten';
  }
}

import { createHmac, hkdfSync } from 'node:crypto';
import { commaList } from '../infra/config/comma-list';
import type { AuditConfig } from './audit.config';
import { keyIdFor, masterKeysFromConfig, parseMasterKey } from '../infra/crypto/master-keys';

/** What the chain's MACs are under: separate from every other use of the master key. */
const DERIVATION_INFO = 'odc audit chain v1';

/** Signing a checkpoint and hashing a row never share an input: each is prefixed with its purpose. */
export type MacPurpose = 'row' | 'checkpoint';

/**
 * The audit chain's keys. Rows and checkpoints are HMAC-SHA256 under the current key, named in each
 * by its id, so that someone who can write the database but does not hold the key cannot recompute
 * them. The current key is ODC_AUDIT_KEY, else one derived (HKDF) from ODC_MASTER_KEY; earlier
 * keys (ODC_AUDIT_KEYS_PREVIOUS, and those derived from ODC_MASTER_KEYS_PREVIOUS) still verify.
 */
export class AuditKeys {
  readonly currentId: string;
  private readonly keys = new Map<string, Buffer>();

  constructor(current: Buffer, previous: Buffer[] = []) {
    this.currentId = keyIdFor(current);
    for (const key of [current, ...previous]) {
      this.keys.set(keyIdFor(key), key);
    }
  }

  static fromConfig(
    config: Pick<
      AuditConfig,
      'NODE_ENV' | 'ODC_MASTER_KEY' | 'ODC_MASTER_KEYS_PREVIOUS' | 'ODC_AUDIT_KEY' | 'ODC_AUDIT_KEYS_PREVIOUS'
    >,
  ): AuditKeys {
    const master = masterKeysFromConfig(config);
    const derivedCurrent = deriveAuditKey(master.current);
    const derivedPrevious = master.previous.map(deriveAuditKey);
    const previous = commaList(config.ODC_AUDIT_KEYS_PREVIOUS).map(parseMasterKey);
    return config.ODC_AUDIT_KEY
      ? new AuditKeys(parseMasterKey(config.ODC_AUDIT_KEY), [...previous, derivedCurrent, ...derivedPrevious])
      : new AuditKeys(derivedCurrent, [...previous, ...derivedPrevious]);
  }

  knows(keyId: string): boolean {
    return this.keys.has(keyId);
  }

  /** The MAC under the current key, or under the named one (undefined when it is not configured). */
  mac(purpose: MacPurpose, parts: Buffer[], keyId = this.currentId): Buffer | undefined {
    const key = this.keys.get(keyId);
    if (!key) {
      return undefined;
    }
    const hmac = createHmac('sha256', key).update(`${purpose}\n`);
    for (const part of parts) {
      hmac.update(part);
    }
    return hmac.digest();
  }
}

function deriveAuditKey(masterKey: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), DERIVATION_INFO, 32));
}

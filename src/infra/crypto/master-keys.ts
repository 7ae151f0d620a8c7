import { createHash } from 'node:crypto';
import { commaList } from '../config/comma-list';
import type { CryptoConfig } from '../config/crypto.config';

export const KEY_BYTES = 32;

/**
 * Outside production, with no ODC_MASTER_KEY, this key stands in. It is public (it is right
 * here), so it only keeps secrets out of casual sight in a development database.
 */
export const DEVELOPMENT_MASTER_KEY = createHash('sha256')
  .update('odc development master key: public, never protects anything in production')
  .digest();

/** A 32-byte key from its base64 (44 characters) or hex (64) form, as ODC_MASTER_KEY takes it. */
export function parseMasterKey(encoded: string): Buffer {
  const text = encoded.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(text)
    ? Buffer.from(text, 'hex')
    : /^[A-Za-z0-9+/]{43}=$/.test(text)
      ? Buffer.from(text, 'base64')
      : undefined;
  if (key?.length !== KEY_BYTES) {
    // The value itself is never repeated: it may be a key with a typo.
    throw new Error('a master key must be 32 bytes, base64 (44 characters) or hex (64)');
  }
  return key;
}

/** A key's public name: the first bytes of its SHA-256, hex (it says which key, nothing of it). */
export function keyIdFor(key: Buffer, bytes = 8): string {
  return createHash('sha256')
    .update(key)
    .digest('hex')
    .slice(0, bytes * 2);
}

export interface MasterKeys {
  current: Buffer;
  /** Keys that still decrypt or verify (ODC_MASTER_KEYS_PREVIOUS, and the development key outside production). */
  previous: Buffer[];
  usesDevelopmentKey: boolean;
}

/**
 * The current key is ODC_MASTER_KEY (the development key when unset, which config validation
 * allows only outside production). Outside production the development key also stays readable,
 * so setting a real key on a development database loses nothing.
 */
export function masterKeysFromConfig(
  config: Pick<CryptoConfig, 'NODE_ENV' | 'ODC_MASTER_KEY' | 'ODC_MASTER_KEYS_PREVIOUS'>,
): MasterKeys {
  const previous = commaList(config.ODC_MASTER_KEYS_PREVIOUS).map(parseMasterKey);
  if (config.NODE_ENV !== 'production') {
    previous.push(DEVELOPMENT_MASTER_KEY);
  }
  return config.ODC_MASTER_KEY
    ? { current: parseMasterKey(config.ODC_MASTER_KEY), previous, usesDevelopmentKey: false }
    : { current: DEVELOPMENT_MASTER_KEY, previous, usesDevelopmentKey: true };
}

/**
 * Encryption of the few secrets ODC stores (a cluster's mTLS private key and bearer token) under
 * ODC_MASTER_KEY. AES-256-GCM; each blob names the key it is under, so ODC_MASTER_KEYS_PREVIOUS can
 * keep old blobs readable until `npm run keys:rotate` moves them to the current key.
 *
 * Blob layout (version 1): version (1 byte) | key id (8) | IV (12, random) | GCM tag (16) | ciphertext.
 * The authenticated data is the version, the key id and a caller's context naming where the blob
 * lives (`cluster:<id>:token`): a blob copied to another row or column does not decrypt.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { CryptoConfig } from '../../infra/config/crypto.config';
import {
  DEVELOPMENT_MASTER_KEY,
  keyIdFor,
  masterKeysFromConfig,
  parseMasterKey,
} from '../../infra/crypto/master-keys';
import { AppError, CommonErrorCode } from '../../infra/errors/app-error';

const VERSION = 1;
const KEY_ID_BYTES = 8;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_ID_END = 1 + KEY_ID_BYTES;
const IV_END = KEY_ID_END + IV_BYTES;
const TAG_END = IV_END + TAG_BYTES;

/** The encrypted columns of a cluster row. */
export type ClusterSecretColumn = 'client_key' | 'token';

/** The context a cluster's secret is encrypted with: the blob decrypts only in its own row and column. */
export function clusterSecretContext(clusterId: string, column: ClusterSecretColumn): string {
  return `cluster:${clusterId}:${column}`;
}

/**
 * A stored secret that cannot be decrypted: its key is not configured (any more), or the blob was
 * altered or moved. An operator's problem, not the caller's, hence `not_ready` (503) like an
 * unreachable deployer. The message names the key id and the context, never a key or plaintext.
 */
export class SecretUnreadable extends AppError {
  constructor(
    readonly keyId: string | undefined,
    readonly context: string,
    why: string,
  ) {
    super(CommonErrorCode.NotReady, `The secret ${context} cannot be decrypted: ${why}`, {
      reason: 'secret_unreadable',
      ...(keyId ? { key_id: keyId } : {}),
    });
    this.name = 'SecretUnreadable';
  }
}

/** The first 16 hex characters of the key's SHA-256: names the key without revealing it. */
export class SecretBox {
  readonly currentKeyId: string;
  private readonly keys = new Map<string, Buffer>();

  private constructor(
    private readonly currentKey: Buffer,
    previousKeys: Buffer[],
    /** True when no ODC_MASTER_KEY is set: the app says so once at boot. */
    readonly usesDevelopmentKey: boolean,
  ) {
    this.currentKeyId = keyIdFor(currentKey);
    for (const key of [currentKey, ...previousKeys]) {
      this.keys.set(keyIdFor(key), key);
    }
  }

  /** ODC_MASTER_KEY encrypts; ODC_MASTER_KEYS_PREVIOUS (and outside production the development key) only decrypt. */
  static fromConfig(
    config: Pick<CryptoConfig, 'NODE_ENV' | 'ODC_MASTER_KEY' | 'ODC_MASTER_KEYS_PREVIOUS'>,
  ): SecretBox {
    const keys = masterKeysFromConfig(config);
    return new SecretBox(keys.current, keys.previous, keys.usesDevelopmentKey);
  }

  /** From encoded keys (tests, tools); no current key means the development key. */
  static fromKeys(current: string | undefined, previous: string[] = []): SecretBox {
    const previousKeys = previous.map(parseMasterKey);
    return current
      ? new SecretBox(parseMasterKey(current), previousKeys, false)
      : new SecretBox(DEVELOPMENT_MASTER_KEY, previousKeys, true);
  }

  /** Whether a blob under this key id can be decrypted. */
  knows(keyId: string): boolean {
    return this.keys.has(keyId);
  }

  encrypt(plaintext: string, context: string): Buffer {
    const header = Buffer.concat([Buffer.of(VERSION), Buffer.from(this.currentKeyId, 'hex')]);
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.currentKey, iv);
    cipher.setAAD(additionalData(header, context));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return Buffer.concat([header, iv, cipher.getAuthTag(), ciphertext]);
  }

  /** The plaintext; SecretUnreadable when the key is unknown, or the blob was altered or is from elsewhere. */
  decrypt(blob: Buffer, context: string): string {
    const keyId = this.keyIdOf(blob, context);
    const key = this.keys.get(keyId);
    if (!key) {
      throw new SecretUnreadable(
        keyId,
        context,
        `it is under key ${keyId}, which is neither ODC_MASTER_KEY nor in ODC_MASTER_KEYS_PREVIOUS`,
      );
    }
    const decipher = createDecipheriv('aes-256-gcm', key, blob.subarray(KEY_ID_END, IV_END));
    decipher.setAAD(additionalData(blob.subarray(0, KEY_ID_END), context));
    decipher.setAuthTag(blob.subarray(IV_END, TAG_END));
    try {
      return Buffer.concat([decipher.update(blob.subarray(TAG_END)), decipher.final()]).toString('utf8');
    } catch {
      // Node's own message says only "Unsupported state or unable to authenticate data".
      throw new SecretUnreadable(
        keyId,
        context,
        `it fails authentication under key ${keyId} (altered, or copied from another row or column)`,
      );
    }
  }

  /** The id of the key a blob is under (the blob's header; nothing is decrypted). */
  keyIdOf(blob: Buffer, context = 'blob'): string {
    if (blob.length < TAG_END || blob[0] !== VERSION) {
      throw new SecretUnreadable(undefined, context, 'it is not an ODC encrypted secret (version 1)');
    }
    return blob.subarray(1, KEY_ID_END).toString('hex');
  }
}

function additionalData(header: Buffer, context: string): Buffer {
  return Buffer.concat([header, Buffer.from(context, 'utf8')]);
}

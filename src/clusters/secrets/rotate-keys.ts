/**
 * Moves every cluster's encrypted secrets to the current master key (`npm run keys:rotate`): after
 * it, the keys in ODC_MASTER_KEYS_PREVIOUS can be dropped. Safe to run while the app runs and to run
 * again: each row is re-encrypted in its own transaction under a row lock, and a row already under
 * the current key is left alone.
 */
import type { DataSource, EntityManager } from 'typeorm';
import { Cluster } from '../cluster.entity';
import { clusterSecretContext, SecretUnreadable, type SecretBox } from './secret-box';

export interface RotationResult {
  /** Cluster rows re-encrypted under the current key. */
  rotated: number;
  /** One line per cluster left unchanged because a secret could not be decrypted: name, id, key id. */
  failed: string[];
  /** The key ids cluster secrets are under after the run: only the current one when all went well. */
  keyIdsInUse: string[];
}

type SecretColumns = Pick<Cluster, 'id' | 'name' | 'keyId' | 'clientKeyEncrypted' | 'tokenEncrypted'>;

export async function rotateClusterSecrets(
  dataSource: DataSource,
  secretBox: SecretBox,
): Promise<RotationResult> {
  const stale = (await readSecretColumns(dataSource.manager)).filter((row) => needsRotation(row, secretBox));
  let rotated = 0;
  const failed: string[] = [];
  for (const { id, name } of stale) {
    try {
      if (await dataSource.transaction((tx) => rotateRow(tx, id, secretBox))) {
        rotated += 1;
      }
    } catch (error) {
      if (!(error instanceof SecretUnreadable)) {
        throw error;
      }
      failed.push(`cluster ${name} (${id}): ${error.message}`);
    }
  }
  return { rotated, failed, keyIdsInUse: await keyIdsInUse(dataSource.manager, secretBox) };
}

/** Re-encrypts one row under the current key; false when it is gone or another run got there first. */
async function rotateRow(tx: EntityManager, id: string, secretBox: SecretBox): Promise<boolean> {
  const row = await tx.getRepository(Cluster).findOne({ where: { id }, lock: { mode: 'pessimistic_write' } });
  if (!row || !needsRotation(row, secretBox)) {
    return false;
  }
  // Each blob is decrypted under the key it names, so a row half-written under two keys moves too.
  const reencrypt = (blob: Buffer | null, column: 'client_key' | 'token') => {
    if (blob === null) {
      return null;
    }
    const context = clusterSecretContext(id, column);
    return secretBox.encrypt(secretBox.decrypt(blob, context), context);
  };
  await tx.getRepository(Cluster).update(
    { id },
    {
      clientKeyEncrypted: reencrypt(row.clientKeyEncrypted, 'client_key'),
      tokenEncrypted: reencrypt(row.tokenEncrypted, 'token'),
      keyId: secretBox.currentKeyId,
    },
  );
  return true;
}

async function readSecretColumns(manager: EntityManager): Promise<SecretColumns[]> {
  // A handful of rows: reading the blobs lets the headers, not only `key_id`, say which key is in use.
  return manager.getRepository(Cluster).find({
    select: { id: true, name: true, keyId: true, clientKeyEncrypted: true, tokenEncrypted: true },
    order: { name: 'ASC' },
  });
}

function blobs(row: SecretColumns): Buffer[] {
  return [row.clientKeyEncrypted, row.tokenEncrypted].filter((blob): blob is Buffer => blob !== null);
}

/** The key ids a row's secrets are under: the blobs' headers, and the `key_id` column. */
function rowKeyIds(row: SecretColumns, secretBox: SecretBox): Set<string | null> {
  const ids = new Set<string | null>([row.keyId]);
  for (const blob of blobs(row)) {
    try {
      ids.add(secretBox.keyIdOf(blob));
    } catch {
      ids.add(null); // not a blob of ours: rotating it fails and reports the row
    }
  }
  return ids;
}

function needsRotation(row: SecretColumns, secretBox: SecretBox): boolean {
  return blobs(row).length > 0 && [...rowKeyIds(row, secretBox)].some((id) => id !== secretBox.currentKeyId);
}

async function keyIdsInUse(manager: EntityManager, secretBox: SecretBox): Promise<string[]> {
  const ids = new Set<string>();
  for (const row of await readSecretColumns(manager)) {
    if (blobs(row).length === 0) {
      continue;
    }
    for (const id of rowKeyIds(row, secretBox)) {
      if (id !== null) {
        ids.add(id);
      }
    }
  }
  return [...ids].sort();
}

/**
 * `npm run keys:rotate`: re-encrypts every cluster's private key and token under ODC_MASTER_KEY,
 * reading the old ones with ODC_MASTER_KEYS_PREVIOUS. Prints the key ids still in use; once that is
 * only the current one, the previous keys can be removed. Exits 1 when a cluster's secrets could not
 * be decrypted (its key is missing from ODC_MASTER_KEYS_PREVIOUS): that row is left as it was.
 * DATABASE_URL when set, else the embedded server under ODC_DATA_DIR (stop `npm start` first: one
 * process per data folder). The app may keep running against DATABASE_URL: rows are locked one by one.
 */
import 'reflect-metadata';
import { rotateClusterSecrets } from '../src/clusters/secrets/rotate-keys';
import { SecretBox } from '../src/clusters/secrets/secret-box';
import { loadAppConfig } from '../src/app/config';
import { runScript, withScriptDatabase } from './script-database';

async function main(): Promise<number> {
  const config = loadAppConfig();
  const secretBox = SecretBox.fromConfig(config);
  if (secretBox.usesDevelopmentKey) {
    // The development key is public: moving secrets to it would only weaken them.
    console.error('ODC_MASTER_KEY is not set: set it to the key to rotate to (`openssl rand -base64 32`).');
    return 2;
  }
  return withScriptDatabase(config, 'odc:keys-rotate', async (dataSource) => {
    const { rotated, failed, keyIdsInUse } = await rotateClusterSecrets(dataSource, secretBox);
    console.log(`Re-encrypted the secrets of ${rotated} cluster(s) under key ${secretBox.currentKeyId}.`);
    const inUse = keyIdsInUse.map((id) => (id === secretBox.currentKeyId ? `${id} (current)` : id));
    console.log(`Key ids in use: ${inUse.length > 0 ? inUse.join(', ') : 'none (no cluster has secrets)'}`);
    for (const failure of failed) {
      console.error(failure);
    }
    return failed.length > 0 ? 1 : 0;
  });
}

runScript(main);

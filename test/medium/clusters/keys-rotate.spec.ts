import { randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import { Cluster } from '../../../src/clusters/cluster.entity';
import { clusterSecretContext, SecretBox } from '../../../src/clusters/secrets/secret-box';
import { rotateClusterSecrets } from '../../../src/clusters/secrets/rotate-keys';
import { mediumDatabase, type MediumDatabase } from '../../support/medium';

const newKey = () => randomBytes(32).toString('base64');
const CLIENT_KEY = '-----BEGIN PRIVATE KEY-----\nclient key of %s\n-----END PRIVATE KEY-----\n';

describe('npm run keys:rotate (rotateClusterSecrets)', () => {
  let database: MediumDatabase;
  let dataSource: DataSource;
  const keyA = newKey();
  const keyB = newKey();
  const underA = SecretBox.fromKeys(keyA);
  const underBOnly = SecretBox.fromKeys(keyB);
  const rotating = SecretBox.fromKeys(keyB, [keyA]);

  beforeEach(async () => {
    database = await mediumDatabase({ poolSize: 2 });
    dataSource = database.dataSource;
  });

  afterEach(async () => {
    await database.close();
  });

  /** A cluster row with the given secrets encrypted by `box`, as the cluster service stores them. */
  async function insertCluster(
    name: string,
    box: SecretBox,
    secrets: { clientKey?: string; token?: string } = {},
  ): Promise<Cluster> {
    const clusters = dataSource.getRepository(Cluster);
    const { id } = await clusters.save(
      clusters.create({ name, deployerUrl: `https://${name}.example.com:8443` }),
    );
    const hasSecrets = secrets.clientKey !== undefined || secrets.token !== undefined;
    await clusters.update(
      { id },
      {
        clientKeyEncrypted:
          secrets.clientKey === undefined
            ? null
            : box.encrypt(secrets.clientKey, clusterSecretContext(id, 'client_key')),
        tokenEncrypted:
          secrets.token === undefined ? null : box.encrypt(secrets.token, clusterSecretContext(id, 'token')),
        keyId: hasSecrets ? box.currentKeyId : null,
      },
    );
    return clusters.findOneByOrFail({ id });
  }

  const reload = (id: string) => dataSource.getRepository(Cluster).findOneByOrFail({ id });

  it('re-encrypts every row under the previous key with the current one', async () => {
    const both = await insertCluster('east', underA, {
      clientKey: CLIENT_KEY.replace('%s', 'east'),
      token: 'token-of-east-0123456789',
    });
    const tokenOnly = await insertCluster('west', underA, { token: 'token-of-west-0123456789' });
    const current = await insertCluster('north', underBOnly, { token: 'token-of-north-0123456789' });
    const bare = await insertCluster('south', underA);

    const result = await rotateClusterSecrets(dataSource, rotating);

    expect(result).toEqual({ rotated: 2, failed: [], keyIdsInUse: [underBOnly.currentKeyId] });
    const east = await reload(both.id);
    expect(east.keyId).toBe(underBOnly.currentKeyId);
    expect(underBOnly.keyIdOf(east.clientKeyEncrypted!)).toBe(underBOnly.currentKeyId);
    expect(underBOnly.decrypt(east.clientKeyEncrypted!, clusterSecretContext(both.id, 'client_key'))).toBe(
      CLIENT_KEY.replace('%s', 'east'),
    );
    expect(underBOnly.decrypt(east.tokenEncrypted!, clusterSecretContext(both.id, 'token'))).toBe(
      'token-of-east-0123456789',
    );
    const west = await reload(tokenOnly.id);
    expect(west).toMatchObject({ keyId: underBOnly.currentKeyId, clientKeyEncrypted: null });
    expect(underBOnly.decrypt(west.tokenEncrypted!, clusterSecretContext(tokenOnly.id, 'token'))).toBe(
      'token-of-west-0123456789',
    );
    // Already under the current key, or nothing to encrypt: untouched.
    expect((await reload(current.id)).tokenEncrypted).toEqual(current.tokenEncrypted);
    expect(await reload(bare.id)).toMatchObject({ keyId: null, tokenEncrypted: null });

    expect(await rotateClusterSecrets(dataSource, rotating)).toEqual({
      rotated: 0,
      failed: [],
      keyIdsInUse: [underBOnly.currentKeyId],
    });
  });

  it('moves a row whose blobs are under another key than its key_id says', async () => {
    const cluster = await insertCluster('mixed', underA, { token: 'token-of-mixed-0123456789' });
    await dataSource.getRepository(Cluster).update({ id: cluster.id }, { keyId: underBOnly.currentKeyId });

    expect(await rotateClusterSecrets(dataSource, rotating)).toMatchObject({ rotated: 1, failed: [] });
    const row = await reload(cluster.id);
    expect(underBOnly.decrypt(row.tokenEncrypted!, clusterSecretContext(cluster.id, 'token'))).toBe(
      'token-of-mixed-0123456789',
    );
  });

  it('reports a row under an unknown key, naming the cluster and key but not the secret, and leaves it as it was', async () => {
    const underUnknown = SecretBox.fromKeys(newKey());
    const lost = await insertCluster('lost', underUnknown, {
      clientKey: CLIENT_KEY.replace('%s', 'lost'),
      token: 'token-of-lost-0123456789',
    });
    const fine = await insertCluster('fine', underA, { token: 'token-of-fine-0123456789' });

    const result = await rotateClusterSecrets(dataSource, rotating);

    expect(result.rotated).toBe(1);
    expect(result.failed).toEqual([expect.stringContaining(`cluster lost (${lost.id})`)]);
    expect(result.failed[0]).toContain(underUnknown.currentKeyId);
    expect(result.failed[0]).not.toMatch(/client key of lost|token-of-lost/);
    expect(result.keyIdsInUse).toEqual([underBOnly.currentKeyId, underUnknown.currentKeyId].sort());
    expect(await reload(lost.id)).toMatchObject({
      keyId: underUnknown.currentKeyId,
      clientKeyEncrypted: lost.clientKeyEncrypted,
      tokenEncrypted: lost.tokenEncrypted,
    });
    expect((await reload(fine.id)).keyId).toBe(underBOnly.currentKeyId);
  });
});

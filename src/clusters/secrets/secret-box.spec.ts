import { createHash, randomBytes } from 'node:crypto';
import { loadAppConfig } from '../../app/config';
import { parseMasterKey } from '../../infra/crypto/master-keys';
import { clusterSecretContext, SecretBox, SecretUnreadable } from './secret-box';

const base64Key = () => randomBytes(32).toString('base64');
const hexKey = () => randomBytes(32).toString('hex');
const idOf = (encoded: string) =>
  createHash('sha256').update(parseMasterKey(encoded)).digest('hex').slice(0, 16);

const CONTEXT = clusterSecretContext('3f8e2c1a-0000-4000-8000-000000000001', 'client_key');
const SECRET = '-----BEGIN PRIVATE KEY-----\nnot really a key\n-----END PRIVATE KEY-----\n';

function unreadable(work: () => unknown): SecretUnreadable {
  try {
    work();
  } catch (error) {
    expect(error).toBeInstanceOf(SecretUnreadable);
    return error as SecretUnreadable;
  }
  throw new Error('expected SecretUnreadable');
}

describe('SecretBox', () => {
  it('round-trips a secret, a fresh IV each time', () => {
    const box = SecretBox.fromKeys(base64Key());
    const first = box.encrypt(SECRET, CONTEXT);
    const second = box.encrypt(SECRET, CONTEXT);
    expect(first.equals(second)).toBe(false);
    expect(first.includes(Buffer.from('not really a key'))).toBe(false);
    expect(box.decrypt(first, CONTEXT)).toBe(SECRET);
    expect(box.decrypt(box.encrypt('', CONTEXT), CONTEXT)).toBe('');
  });

  it('writes a versioned header naming the key', () => {
    const key = base64Key();
    const box = SecretBox.fromKeys(key);
    const blob = box.encrypt('token', CONTEXT);
    expect(blob[0]).toBe(1);
    expect(box.currentKeyId).toBe(idOf(key));
    expect(box.keyIdOf(blob)).toBe(box.currentKeyId);
    expect(blob.length).toBe(1 + 8 + 12 + 16 + 'token'.length);
  });

  it('refuses a blob under another context (another row or column)', () => {
    const box = SecretBox.fromKeys(base64Key());
    const blob = box.encrypt(SECRET, clusterSecretContext('a', 'client_key'));
    expect(() => box.decrypt(blob, clusterSecretContext('b', 'client_key'))).toThrow(SecretUnreadable);
    expect(() => box.decrypt(blob, clusterSecretContext('a', 'token'))).toThrow(SecretUnreadable);
  });

  it('refuses a blob with any byte changed, naming the key but not the secret', () => {
    const box = SecretBox.fromKeys(base64Key());
    const blob = box.encrypt(SECRET, CONTEXT);
    for (const index of [0, 1, 9, 21, 37, blob.length - 1]) {
      const tampered = Buffer.from(blob);
      tampered[index]! ^= 0x01;
      const error = unreadable(() => box.decrypt(tampered, CONTEXT));
      expect(error.message).not.toContain('not really a key');
    }
    const tampered = Buffer.from(blob);
    tampered[40]! ^= 0xff;
    const error = unreadable(() => box.decrypt(tampered, CONTEXT));
    expect(error.keyId).toBe(box.currentKeyId);
    expect(error.message).toContain(box.currentKeyId);
    expect(error.details).toMatchObject({ reason: 'secret_unreadable', key_id: box.currentKeyId });
  });

  it('refuses what is not a blob at all', () => {
    const box = SecretBox.fromKeys(base64Key());
    expect(unreadable(() => box.decrypt(Buffer.from('plain text'), CONTEXT)).keyId).toBeUndefined();
    expect(() => box.keyIdOf(Buffer.alloc(3))).toThrow(SecretUnreadable);
  });

  it('decrypts with a previous key and encrypts with the current one', () => {
    const oldKey = base64Key();
    const blob = SecretBox.fromKeys(oldKey).encrypt(SECRET, CONTEXT);
    const rotated = SecretBox.fromKeys(hexKey(), [oldKey]);
    expect(rotated.decrypt(blob, CONTEXT)).toBe(SECRET);
    expect(rotated.keyIdOf(blob)).toBe(idOf(oldKey));
    expect(rotated.keyIdOf(rotated.encrypt(SECRET, CONTEXT))).toBe(rotated.currentKeyId);
    expect(rotated.currentKeyId).not.toBe(idOf(oldKey));
  });

  it('refuses a blob under an unknown key, naming that key id and neither key', () => {
    const unknownKey = base64Key();
    const currentKey = base64Key();
    const blob = SecretBox.fromKeys(unknownKey).encrypt(SECRET, CONTEXT);
    const box = SecretBox.fromKeys(currentKey);
    expect(box.knows(idOf(unknownKey))).toBe(false);
    const error = unreadable(() => box.decrypt(blob, CONTEXT));
    expect(error.keyId).toBe(idOf(unknownKey));
    expect(error.message).toContain(idOf(unknownKey));
    for (const leaked of [unknownKey, currentKey, SECRET]) {
      expect(JSON.stringify({ message: error.message, details: error.details })).not.toContain(leaked);
    }
  });

  it('takes hex and base64 keys alike: the same bytes are the same key', () => {
    const bytes = randomBytes(32);
    const fromHex = SecretBox.fromKeys(bytes.toString('hex'));
    const fromBase64 = SecretBox.fromKeys(bytes.toString('base64'));
    expect(fromHex.currentKeyId).toBe(fromBase64.currentKeyId);
    expect(fromBase64.decrypt(fromHex.encrypt(SECRET, CONTEXT), CONTEXT)).toBe(SECRET);
    expect(() => SecretBox.fromKeys(randomBytes(16).toString('hex'))).toThrow(/32 bytes/);
  });

  describe('from the configuration', () => {
    it('uses ODC_MASTER_KEY, and ODC_MASTER_KEYS_PREVIOUS to decrypt', () => {
      const [current, previousA, previousB] = [base64Key(), hexKey(), base64Key()];
      const box = SecretBox.fromConfig(
        loadAppConfig({
          NODE_ENV: 'production',
          ODC_ROLES: 'deployer',
          ODC_MASTER_KEY: current,
          ODC_MASTER_KEYS_PREVIOUS: `${previousA}, ${previousB}`,
        }),
      );
      expect(box.usesDevelopmentKey).toBe(false);
      expect(box.currentKeyId).toBe(idOf(current));
      expect(box.decrypt(SecretBox.fromKeys(previousB).encrypt('t', CONTEXT), CONTEXT)).toBe('t');
      expect(box.knows(idOf(previousA))).toBe(true);
      // Production never trusts the public development key.
      expect(box.knows(SecretBox.fromKeys(undefined).currentKeyId)).toBe(false);
    });

    it('falls back to the development key without ODC_MASTER_KEY, and says so', () => {
      const box = SecretBox.fromConfig(loadAppConfig({ NODE_ENV: 'development' }));
      expect(box.usesDevelopmentKey).toBe(true);
      expect(box.currentKeyId).toBe(SecretBox.fromKeys(undefined).currentKeyId);
      const again = SecretBox.fromConfig(loadAppConfig({ NODE_ENV: 'development' }));
      expect(again.decrypt(box.encrypt('t', CONTEXT), CONTEXT)).toBe('t');
    });

    it('still reads development-key secrets once a real key is set outside production', () => {
      const blob = SecretBox.fromConfig(loadAppConfig({ NODE_ENV: 'development' })).encrypt('t', CONTEXT);
      const box = SecretBox.fromConfig(
        loadAppConfig({ NODE_ENV: 'development', ODC_MASTER_KEY: base64Key() }),
      );
      expect(box.usesDevelopmentKey).toBe(false);
      expect(box.decrypt(blob, CONTEXT)).toBe('t');
    });
  });
});

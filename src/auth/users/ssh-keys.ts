/**
 * OpenSSH public keys as `authorized_keys` lines: `<type> <base64 blob> [comment]`. The blob is
 * read (SSH wire format) to check it is the key it claims to be, not just the prefix: ed25519,
 * ECDSA on the NIST curves, and RSA of at least 2048 bits.
 */
const ECDSA_CURVES: Record<string, string> = {
  'ecdsa-sha2-nistp256': 'nistp256',
  'ecdsa-sha2-nistp384': 'nistp384',
  'ecdsa-sha2-nistp521': 'nistp521',
};
export const MAX_SSH_KEYS = 20;
const MIN_RSA_BITS = 2048;

/** Reads the length-prefixed strings of an SSH blob. */
function fieldsOf(blob: Buffer): Buffer[] {
  const fields: Buffer[] = [];
  let offset = 0;
  while (offset < blob.length) {
    if (offset + 4 > blob.length) {
      throw new Error('truncated');
    }
    const length = blob.readUInt32BE(offset);
    if (offset + 4 + length > blob.length) {
      throw new Error('truncated');
    }
    fields.push(blob.subarray(offset + 4, offset + 4 + length));
    offset += 4 + length;
  }
  return fields;
}

function bitLength(mpint: Buffer): number {
  const bytes = mpint[0] === 0 ? mpint.subarray(1) : mpint;
  const top = bytes[0];
  return top === undefined ? 0 : (bytes.length - 1) * 8 + top.toString(2).length;
}

/** Why the line is not an acceptable key, or undefined when it is. */
export function sshKeyProblem(line: string): string | undefined {
  const parts = line.trim().split(/\s+/);
  if (parts.length < 2 || !/^[\x20-\x7e]*$/.test(line.trim())) {
    return 'must be one line like "<type> <base64> [comment]"';
  }
  const [type = '', encoded = ''] = parts;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)) {
    return 'the key is not base64';
  }
  let fields: Buffer[];
  try {
    fields = fieldsOf(Buffer.from(encoded, 'base64'));
  } catch {
    return 'the key data is truncated';
  }
  if (fields[0]?.toString('ascii') !== type) {
    return `the key data is not a ${type} key`;
  }
  if (type === 'ssh-ed25519') {
    return fields.length === 2 && fields[1]?.length === 32 ? undefined : 'not a valid ed25519 key';
  }
  if (type in ECDSA_CURVES) {
    return fields.length === 3 && fields[1]?.toString('ascii') === ECDSA_CURVES[type]
      ? undefined
      : 'not a valid ECDSA key';
  }
  if (type === 'ssh-rsa') {
    const modulus = fields[2];
    if (fields.length !== 3 || !modulus) {
      return 'not a valid RSA key';
    }
    const bits = bitLength(modulus);
    return bits >= MIN_RSA_BITS
      ? undefined
      : `RSA keys need at least ${MIN_RSA_BITS} bits (this one has ${bits})`;
  }
  return `key type ${type} is not accepted (ed25519, ecdsa-sha2-nistp256/384/521, ssh-rsa ≥ 2048 bits)`;
}

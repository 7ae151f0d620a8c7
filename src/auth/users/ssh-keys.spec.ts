import { generateKeyPairSync } from 'node:crypto';
import { sshKeyProblem } from './ssh-keys';

const field = (data: Buffer | string) => {
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
};
const line = (type: string, ...fields: (Buffer | string)[]) =>
  `${type} ${Buffer.concat([field(type), ...fields.map(field)]).toString('base64')} me@laptop`;

/** An RSA public key in OpenSSH form, from a key made here. */
function rsaLine(bits: number): string {
  const { publicKey } = generateKeyPairSync('rsa', { modulusLength: bits });
  const jwk = publicKey.export({ format: 'jwk' });
  const mpint = (b64url: string) => {
    const bytes = Buffer.from(b64url, 'base64url');
    return bytes[0]! & 0x80 ? Buffer.concat([Buffer.alloc(1), bytes]) : bytes;
  };
  return line('ssh-rsa', mpint(jwk.e!), mpint(jwk.n!));
}

describe('SSH public keys', () => {
  it.each([
    ['ed25519', line('ssh-ed25519', Buffer.alloc(32, 7))],
    ['ECDSA P-256', line('ecdsa-sha2-nistp256', 'nistp256', Buffer.alloc(65, 4))],
    ['RSA 2048', rsaLine(2048)],
  ])('accepts %s', (_kind, key) => {
    expect(sshKeyProblem(key)).toBeUndefined();
  });

  it.each([
    ['RSA 1024', rsaLine(1024), /at least 2048 bits/],
    ['DSA', line('ssh-dss', 'p', 'q', 'g', 'y'), /not accepted/],
    [
      'a type that lies about its data',
      line('ssh-ed25519', Buffer.alloc(32)).replace('ssh-ed25519', 'ssh-rsa'),
      /not a ssh-rsa key/,
    ],
    ['a short ed25519 key', line('ssh-ed25519', Buffer.alloc(16)), /not a valid ed25519/],
    [
      'an ECDSA key on another curve',
      line('ecdsa-sha2-nistp256', 'nistp384', Buffer.alloc(97)),
      /not a valid ECDSA/,
    ],
    [
      'truncated data',
      `ssh-ed25519 ${line('ssh-ed25519', Buffer.alloc(32)).split(' ')[1]!.slice(0, 30)}`,
      /truncated|base64/,
    ],
    ['no data', 'ssh-ed25519', /must be one line/],
    [
      'two keys in one',
      `${line('ssh-ed25519', Buffer.alloc(32, 1))}\n${line('ssh-ed25519', Buffer.alloc(32, 2))}`,
      /one line/,
    ],
    ['not base64', 'ssh-ed25519 !!!', /not base64/],
  ])('refuses %s', (_kind, key, problem) => {
    expect(sshKeyProblem(key)).toMatch(problem);
  });
});

import { createLocalJWKSet, exportJWK, exportSPKI, generateKeyPair, SignJWT, type JWTPayload } from 'jose';
import { createHmac } from 'node:crypto';
import { verifyIdToken } from './id-token';

const expected = { issuer: 'https://idp.example', clientId: 'odc' };

describe('verifyIdToken (the signature check passport-openidconnect leaves out)', () => {
  let sign: (claims: JWTPayload, alg?: string) => Promise<string>;
  let signWithOtherKey: (claims: JWTPayload) => Promise<string>;
  let keys: ReturnType<typeof createLocalJWKSet>;
  let publicPem: string;

  beforeAll(async () => {
    const pair = await generateKeyPair('RS256', { extractable: true });
    const other = await generateKeyPair('RS256');
    keys = createLocalJWKSet({ keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256' }] });
    publicPem = await exportSPKI(pair.publicKey);
    const token = (claims: JWTPayload) =>
      new SignJWT({ iss: expected.issuer, aud: expected.clientId, sub: 'alice', ...claims })
        .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
        .setIssuedAt()
        .setExpirationTime(claims.exp ?? '5m');
    sign = (claims) => token(claims).sign(pair.privateKey);
    signWithOtherKey = (claims) => token(claims).sign(other.privateKey);
  });

  const unsigned = (header: object, claims: JWTPayload, signature = '') =>
    [header, claims].map((part) => Buffer.from(JSON.stringify(part)).toString('base64url')).join('.') +
    `.${signature}`;

  it('returns the claims of a token the provider signed for this client', async () => {
    await expect(verifyIdToken(await sign({}), keys, expected)).resolves.toMatchObject({ sub: 'alice' });
  });

  it.each([
    ['another key', () => signWithOtherKey({})],
    ['another issuer', () => sign({ iss: 'https://evil.example' })],
    ['another client', () => sign({ aud: 'someone-else' })],
    ['expired', () => sign({ exp: Math.floor(Date.now() / 1000) - 120 })],
    [
      'tampered',
      async () => {
        const [header, , signature] = (await sign({})).split('.');
        return `${header}.${Buffer.from(JSON.stringify({ iss: expected.issuer, aud: 'odc', sub: 'root', exp: 9e9 })).toString('base64url')}.${signature}`;
      },
    ],
    [
      'alg none',
      async () =>
        unsigned({ alg: 'none', kid: 'k1' }, { iss: expected.issuer, aud: 'odc', sub: 'root', exp: 9e9 }),
    ],
    [
      'HS256 keyed with the public key',
      async () => {
        const header = { alg: 'HS256', kid: 'k1' };
        const body = unsigned(header, { iss: expected.issuer, aud: 'odc', sub: 'root', exp: 9e9 }).slice(
          0,
          -1,
        );
        return `${body}.${createHmac('sha256', publicPem).update(body).digest('base64url')}`;
      },
    ],
  ])('refuses a token: %s', async (_name, make) => {
    await expect(verifyIdToken(await make(), keys, expected)).rejects.toThrow();
  });
});

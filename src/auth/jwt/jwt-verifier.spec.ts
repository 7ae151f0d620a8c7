import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createSecretKey } from 'node:crypto';
import {
  base64url,
  exportJWK,
  exportSPKI,
  generateKeyPair,
  SignJWT,
  type CryptoKey,
  type JWK,
  type JWTPayload,
} from 'jose';
import type { TrustedIssuerConfig } from '../auth.config';
import { CommonErrorCode } from '../../infra/errors/app-error';
import { JwtRejected, JwtRejectReason } from './jwt.errors';
import { DEFAULT_JWT_SCOPES, JWKS_COOLDOWN_MS, JwtVerifier } from './jwt-verifier';

interface SigningKey {
  kid: string;
  alg: 'RS256' | 'ES256';
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  jwk: JWK;
}

async function signingKey(kid: string, alg: 'RS256' | 'ES256'): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg);
  return { kid, alg, privateKey, publicKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

/**
 * An OpenID issuer on 127.0.0.1: every `<path>/.well-known/openid-configuration` describes the issuer
 * `<origin><path>` with the one JWKS at `/jwks`; every request is recorded.
 */
class FakeIssuer {
  readonly requests: string[] = [];
  keys: JWK[] = [];
  discoveryStatus = 200;
  private server!: Server;
  origin = '';

  async start(): Promise<void> {
    this.server = createServer((request, response) => {
      const path = request.url ?? '/';
      this.requests.push(path);
      const discovery = /^(.*)\/\.well-known\/openid-configuration$/.exec(path);
      if (discovery && this.discoveryStatus === 200) {
        response.setHeader('content-type', 'application/json');
        response.end(
          JSON.stringify({ issuer: `${this.origin}${discovery[1]}`, jwks_uri: `${this.origin}/jwks` }),
        );
      } else if (path === '/jwks') {
        response.setHeader('content-type', 'application/json');
        response.end(JSON.stringify({ keys: this.keys }));
      } else {
        response.statusCode = discovery ? this.discoveryStatus : 404;
        response.end();
      }
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.origin = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve, reject) =>
      this.server.close((error) => (error ? reject(error) : resolve())),
    );
  }

  count(path: string): number {
    return this.requests.filter((request) => request.endsWith(path)).length;
  }

  reset(): void {
    this.requests.length = 0;
    this.discoveryStatus = 200;
  }
}

const AUDIENCE = 'odc';
const fake = new FakeIssuer();
let rsa: SigningKey;
let ec: SigningKey;
let stranger: SigningKey;
let clock: number;

const seconds = () => Math.floor(clock / 1000);
const issuer = () => fake.origin;
const actionsIssuer = () => `${fake.origin}/actions`;

function verifierFor(...issuers: TrustedIssuerConfig[]): JwtVerifier {
  return new JwtVerifier({
    jwtIssuers: issuers.length > 0 ? issuers : [{ issuer: issuer(), audience: AUDIENCE }],
  });
}

async function sign(claims: JWTPayload, key: SigningKey = rsa, kid: string = key.kid): Promise<string> {
  return new SignJWT({
    iss: issuer(),
    aud: AUDIENCE,
    sub: 'alice',
    iat: seconds(),
    exp: seconds() + 600,
    ...claims,
  })
    .setProtectedHeader({ alg: key.alg, kid, typ: 'JWT' })
    .sign(key.privateKey);
}

function encodeJson(value: unknown): string {
  return base64url.encode(JSON.stringify(value));
}

async function expectRejected(verifier: JwtVerifier, token: string, reason: JwtRejectReason): Promise<void> {
  const error: unknown = await verifier.verify(token).then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(JwtRejected);
  expect((error as JwtRejected).reason).toBe(reason);
  expect((error as JwtRejected).details).toMatchObject({ reason });
  if (reason !== JwtRejectReason.IssuerUnavailable) {
    expect((error as JwtRejected).code).toBe(CommonErrorCode.Unauthorized);
  }
  const signature = token.split('.')[2];
  expect((error as JwtRejected).message).not.toContain(token);
  if (signature) {
    expect((error as JwtRejected).message).not.toContain(signature);
  }
}

beforeAll(async () => {
  [rsa, ec, stranger] = await Promise.all([
    signingKey('rsa-1', 'RS256'),
    signingKey('ec-1', 'ES256'),
    signingKey('stranger', 'RS256'),
  ]);
  await fake.start();
});

afterAll(async () => {
  await fake.stop();
});

beforeEach(() => {
  fake.reset();
  fake.keys = [rsa.jwk, ec.jwk];
  // jose times its JWKS cooldown with Date.now(), and the verifier reads the time from it too.
  clock = Date.now();
  jest.spyOn(Date, 'now').mockImplementation(() => clock);
});

afterEach(() => {
  jest.restoreAllMocks();
});

describe('JwtVerifier', () => {
  describe('accepts', () => {
    it('an RS256 token from a trusted issuer, discovering and caching its JWKS', async () => {
      const verifier = verifierFor();

      const identity = await verifier.verify(await sign({ sub: 'Alice', email: 'alice@example.com' }));
      await verifier.verify(await sign({ sub: 'bob' }));

      expect(identity).toEqual({
        issuer: issuer(),
        subject: 'Alice',
        username: 'alice',
        scopes: DEFAULT_JWT_SCOPES,
        claims: expect.objectContaining({ iss: issuer(), aud: AUDIENCE, email: 'alice@example.com' }),
      });
      expect(fake.count('/.well-known/openid-configuration')).toBe(1);
      expect(fake.count('/jwks')).toBe(1);
    });

    it('an ES256 token', async () => {
      const identity = await verifierFor().verify(await sign({ sub: 'carol' }, ec));

      expect(identity).toMatchObject({ issuer: issuer(), subject: 'carol', username: 'carol' });
    });

    it('the user name from the configured claim (GitHub Actions: actor)', async () => {
      const verifier = verifierFor({ issuer: actionsIssuer(), audience: AUDIENCE, username_claim: 'actor' });
      const token = await sign({
        iss: actionsIssuer(),
        sub: 'repo:octo-org/octo-repo:ref:refs/heads/main',
        actor: 'Octo-Cat',
        repository: 'octo-org/octo-repo',
      });

      const identity = await verifier.verify(token);

      expect(identity).toMatchObject({
        issuer: actionsIssuer(),
        subject: 'repo:octo-org/octo-repo:ref:refs/heads/main',
        username: 'octo-cat',
      });
      expect(identity.claims.repository).toBe('octo-org/octo-repo');
    });

    it('only from the organisation its required claims pin (any GitHub repository can get such a token)', async () => {
      const verifier = verifierFor({
        issuer: actionsIssuer(),
        audience: AUDIENCE,
        username_claim: 'actor',
        required_claims: { repository_owner: 'octo-org' },
      });
      const token = (owner: string) =>
        sign({
          iss: actionsIssuer(),
          sub: `repo:${owner}/r:ref:refs/heads/main`,
          actor: 'octo-cat',
          repository_owner: owner,
        });

      expect((await verifier.verify(await token('octo-org'))).username).toBe('octo-cat');
      await expectRejected(verifier, await token('evil-org'), JwtRejectReason.ClaimMismatch);
    });

    it('expiry and not-before within the 30 s clock skew', async () => {
      const token = await sign({ exp: seconds() - 20, nbf: seconds() + 20 });

      await expect(verifierFor().verify(token)).resolves.toMatchObject({ username: 'alice' });
    });

    it('the JWKS location from the configuration, without discovery', async () => {
      const verifier = verifierFor({ issuer: issuer(), audience: AUDIENCE, jwks_uri: `${issuer()}/jwks` });

      await verifier.verify(await sign({}));

      expect(fake.requests).toEqual(['/jwks']);
    });

    it('a key rotated in at the JWKS, on its first use once the cooldown is over', async () => {
      const verifier = verifierFor();
      await verifier.verify(await sign({}));
      const rotated = await signingKey('rsa-2', 'RS256');
      fake.keys = [rotated.jwk];
      clock += JWKS_COOLDOWN_MS + 1000;

      const identity = await verifier.verify(await sign({ sub: 'dave' }, rotated));

      expect(identity.username).toBe('dave');
      expect(fake.count('/jwks')).toBe(2);
    });

    it('a discovery that failed, on a later call', async () => {
      const verifier = verifierFor();
      fake.discoveryStatus = 503;
      await expectRejected(verifier, await sign({}), JwtRejectReason.IssuerUnavailable);

      fake.discoveryStatus = 200;
      await expect(verifier.verify(await sign({}))).resolves.toMatchObject({ username: 'alice' });
      expect(fake.count('/.well-known/openid-configuration')).toBe(2);
    });
  });

  describe('rejects', () => {
    it('an expired token', async () => {
      await expectRejected(verifierFor(), await sign({ exp: seconds() - 31 }), JwtRejectReason.Expired);
    });

    it('a token that is not valid yet', async () => {
      await expectRejected(verifierFor(), await sign({ nbf: seconds() + 60 }), JwtRejectReason.NotYetValid);
    });

    it('a token without exp', async () => {
      await expectRejected(verifierFor(), await sign({ exp: undefined }), JwtRejectReason.MissingClaim);
    });

    it('a token without sub', async () => {
      await expectRejected(verifierFor(), await sign({ sub: undefined }), JwtRejectReason.MissingClaim);
    });

    it('any token while the JWKS cannot be fetched, as the issuer being unavailable (503)', async () => {
      const verifier = verifierFor({
        issuer: issuer(),
        audience: AUDIENCE,
        jwks_uri: `${issuer()}/no-such-jwks`,
      });
      const token = await sign({});

      await expectRejected(verifier, token, JwtRejectReason.IssuerUnavailable);
      const error: unknown = await verifier.verify(token).catch((thrown: unknown) => thrown);
      expect(error).toMatchObject({ code: CommonErrorCode.NotReady, details: { issuer: issuer() } });
    });

    it('an untrusted issuer, without any request', async () => {
      const token = await sign({ iss: 'https://evil.example.com' });

      await expectRejected(verifierFor(), token, JwtRejectReason.UntrustedIssuer);
      expect(fake.requests).toEqual([]);
    });

    it('an issuer that differs from a trusted one only by a trailing slash', async () => {
      await expectRejected(
        verifierFor(),
        await sign({ iss: `${issuer()}/` }),
        JwtRejectReason.UntrustedIssuer,
      );
      expect(fake.requests).toEqual([]);
    });

    it('a token for another audience', async () => {
      await expectRejected(verifierFor(), await sign({ aud: 'someone-else' }), JwtRejectReason.WrongAudience);
    });

    it('an unknown kid, refetching the JWKS at most once per cooldown', async () => {
      const verifier = verifierFor();
      await verifier.verify(await sign({}));
      expect(fake.count('/jwks')).toBe(1);
      clock += JWKS_COOLDOWN_MS + 1000;

      await expectRejected(verifier, await sign({}, stranger, 'ghost-1'), JwtRejectReason.UnknownKey);
      expect(fake.count('/jwks')).toBe(2);

      await expectRejected(verifier, await sign({}, stranger, 'ghost-2'), JwtRejectReason.UnknownKey);
      expect(fake.count('/jwks')).toBe(2);

      clock += JWKS_COOLDOWN_MS + 1000;
      await expectRejected(verifier, await sign({}, stranger, 'ghost-3'), JwtRejectReason.UnknownKey);
      expect(fake.count('/jwks')).toBe(3);
    });

    it('alg: none, without any request', async () => {
      const claims = { iss: issuer(), aud: AUDIENCE, sub: 'alice', exp: seconds() + 600 };
      const token = `${encodeJson({ alg: 'none', typ: 'JWT' })}.${encodeJson(claims)}.`;

      expect(verifierFor().looksLikeJwt(token)).toBe(true);
      await expectRejected(verifierFor(), token, JwtRejectReason.AlgorithmNotAllowed);
      expect(fake.requests).toEqual([]);
    });

    it('HS256 signed with the RSA public key as the HMAC secret', async () => {
      const secret = createSecretKey(Buffer.from(await exportSPKI(rsa.publicKey)));
      const token = await new SignJWT({ iss: issuer(), aud: AUDIENCE, sub: 'alice', exp: seconds() + 600 })
        .setProtectedHeader({ alg: 'HS256', kid: rsa.kid, typ: 'JWT' })
        .sign(secret);

      await expectRejected(verifierFor(), token, JwtRejectReason.AlgorithmNotAllowed);
      expect(fake.requests).toEqual([]);
    });

    it('a tampered payload with the original signature', async () => {
      const verifier = verifierFor();
      const [header, payload, signature] = (await sign({ sub: 'alice' })).split('.');
      const claims = JSON.parse(new TextDecoder().decode(base64url.decode(payload!))) as JWTPayload;
      const tampered = `${header}.${encodeJson({ ...claims, sub: 'admin' })}.${signature}`;

      await expectRejected(verifier, tampered, JwtRejectReason.BadSignature);
    });

    it('a signature by a key the JWKS does not hold, under a known kid', async () => {
      await expectRejected(verifierFor(), await sign({}, stranger, rsa.kid), JwtRejectReason.BadSignature);
    });

    it('a user name claim that leaves no user name once normalised (names only name new users)', async () => {
      const verifier = verifierFor({ issuer: actionsIssuer(), audience: AUDIENCE, username_claim: 'actor' });

      await expectRejected(
        verifier,
        await sign({ iss: actionsIssuer(), actor: '[!]' }),
        JwtRejectReason.BadUsername,
      );
      await expectRejected(
        verifier,
        await sign({ iss: actionsIssuer(), actor: 42 }),
        JwtRejectReason.BadUsername,
      );
      await expectRejected(verifier, await sign({ iss: actionsIssuer() }), JwtRejectReason.MissingClaim);
      const bot = await verifier.verify(await sign({ iss: actionsIssuer(), actor: 'Dependabot[bot]' }));
      expect(bot.username).toBe('dependabot-bot');
      const long = await verifier.verify(await sign({ iss: actionsIssuer(), actor: 'a'.repeat(65) }));
      expect(long.username).toBe('a'.repeat(64));
    });

    it('a configuration granting scopes that do not exist (at start)', () => {
      expect(() => verifierFor({ issuer: issuer(), audience: AUDIENCE, scopes: ['everything'] })).toThrow(
        /unknown scopes everything/,
      );
    });

    it('something that is not a JWT, without any request', async () => {
      const verifier = verifierFor();

      await expectRejected(verifier, 'not a token', JwtRejectReason.Malformed);
      await expectRejected(verifier, 'abc.def.ghi', JwtRejectReason.Malformed);
      await expectRejected(
        verifier,
        `${encodeJson({ alg: 'RS256' })}.${encodeJson([1, 2])}.sig`,
        JwtRejectReason.Malformed,
      );
      expect(fake.requests).toEqual([]);
    });
  });

  describe('looksLikeJwt', () => {
    it('tells JWTs from API keys', async () => {
      const verifier = verifierFor();

      expect(verifier.looksLikeJwt(await sign({}))).toBe(true);
      expect(verifier.looksLikeJwt('odc_k3y9prefix_Zm9vYmFyYmF6cXV4LXNlY3JldC12YWx1ZQ')).toBe(false);
      expect(verifier.looksLikeJwt('')).toBe(false);
      expect(verifier.looksLikeJwt('a.b')).toBe(false);
      expect(verifier.looksLikeJwt('a.b.c.d')).toBe(false);
    });
  });
});

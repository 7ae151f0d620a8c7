/**
 * Bearer JWTs from trusted issuers: a CI job (GitHub Actions is the documented example) or another
 * service presents a token its identity provider signed, and ODC accepts it when the issuer is
 * listed in ODC_JWT_ISSUERS with the audience the token carries.
 *
 * The order, and when the network is used:
 * 1. the token's shape, header and claims are decoded without trusting them: a malformed token, an
 *    algorithm other than RS256/ES256 (`none`, HS256 with a public key as the secret) or an issuer
 *    that is not listed is refused here, without any network call;
 * 2. the issuer's JWKS URL comes from the configuration, else from its OpenID discovery document
 *    (fetched once per issuer; a failure is forgotten so a later token retries);
 * 3. jose verifies the signature with the issuer's remote JWKS (cached 10 minutes; an unknown `kid`
 *    refetches it at most once per 30 s, so forged `kid`s cannot make ODC hammer the issuer), then
 *    `iss`, `aud`, `exp` (required) and `nbf` with 30 s of clock skew;
 * 4. the identity is the token's (issuer, `sub`): the guard finds the user bound to it. The
 *    configured claim (default `sub`) only names a user made at first sight, normalised to
 *    `[a-z0-9._-]`; a name another identity holds is refused there, never joined.
 * 5. the credential acts with the scopes the issuer's configuration grants (default: reservations
 *    and disks), never more.
 */
import {
  createRemoteJWKSet,
  customFetch,
  decodeJwt,
  decodeProtectedHeader,
  errors,
  jwtVerify,
  type JWTPayload,
  type JWTVerifyGetKey,
  type RemoteJWKSet,
  type RemoteJWKSetOptions,
} from 'jose';
import type { AuthConfig, TrustedIssuerConfig } from '../auth.config';
import { API_KEY_SCOPES, type ApiKeyScope } from '../api-keys/api-key.entity';
import { discover, httpUrl, ISSUER_TIMEOUT_MS } from '../oidc/discovery';
import { JwtRejected, JwtRejectReason } from './jwt.errors';

/** Who a verified token stands for. */
export interface VerifiedJwt {
  issuer: string;
  subject: string;
  /** The name for a user made at first sight: `[a-z0-9._-]`, at most 64 characters. */
  username: string;
  /** What the issuer's configuration lets its tokens do. */
  scopes: readonly ApiKeyScope[];
  claims: Record<string, unknown>;
}

export interface JwtVerifierOptions {
  /**
   * Milliseconds since the epoch, for the time claims (default `Date.now()`). jose times the JWKS
   * cache and cooldown with `Date.now()` whatever this says.
   */
  now?: () => number;
  /** Used for discovery and JWKS requests (default: the global fetch). */
  fetch?: typeof fetch;
}

export const JWT_ALGORITHMS: readonly string[] = ['RS256', 'ES256'];
export const JWT_CLOCK_TOLERANCE_SECONDS = 30;
export const JWKS_COOLDOWN_MS = 30_000;
export const JWKS_CACHE_MAX_AGE_MS = 10 * 60_000;

const DEFAULT_USERNAME_CLAIM = 'sub';
/** A token's default reach: what a CI job does with ODC, nothing of its keys, SSH keys or admin. */
export const DEFAULT_JWT_SCOPES: readonly ApiKeyScope[] = [
  'reservations:read',
  'reservations:write',
  'disks:read',
  'disks:write',
];
const USERNAME = /^[a-z0-9._-]{1,64}$/;
// Tokens from real issuers are 1–2 KB; the cap bounds the decoding work an anonymous caller causes.
const MAX_TOKEN_LENGTH = 16 * 1024;
// The signature may be empty so that `alg: none` tokens are recognized, and refused, as JWTs.
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

export class JwtVerifier {
  private readonly issuers: ReadonlyMap<string, TrustedIssuerConfig>;
  private readonly scopes: ReadonlyMap<string, readonly ApiKeyScope[]>;
  private readonly now: () => number;
  private readonly fetch?: typeof fetch;
  private readonly keySets = new Map<string, Promise<RemoteJWKSet>>();

  constructor(config: Pick<AuthConfig, 'jwtIssuers'>, options: JwtVerifierOptions = {}) {
    const issuers = new Map<string, TrustedIssuerConfig>();
    const scopes = new Map<string, readonly ApiKeyScope[]>();
    for (const trusted of config.jwtIssuers) {
      if (issuers.has(trusted.issuer)) {
        throw new Error(`ODC_JWT_ISSUERS lists ${trusted.issuer} twice`);
      }
      issuers.set(trusted.issuer, trusted);
      scopes.set(trusted.issuer, grantedScopes(trusted));
    }
    this.issuers = issuers;
    this.scopes = scopes;
    this.now = options.now ?? (() => Date.now());
    this.fetch = options.fetch;
  }

  /** Whether a bearer token should be verified as a JWT (API keys, `odc_…_…`, have no dots). */
  looksLikeJwt(token: string): boolean {
    return COMPACT_JWS.test(token);
  }

  /** The identity a token proves; throws JwtRejected for every token it does not accept. */
  async verify(token: string): Promise<VerifiedJwt> {
    const trusted = this.trustedIssuerOf(token);
    const keys = await this.keysFor(trusted);
    let claims: JWTPayload;
    try {
      ({ payload: claims } = await jwtVerify(token, this.resolverFor(keys, trusted.issuer), {
        algorithms: [...JWT_ALGORITHMS],
        issuer: trusted.issuer,
        audience: trusted.audience,
        requiredClaims: ['exp', 'sub'],
        clockTolerance: JWT_CLOCK_TOLERANCE_SECONDS,
        currentDate: new Date(this.now()),
      }));
    } catch (error) {
      throw rejectionFor(error, trusted.issuer);
    }
    if (typeof claims.sub !== 'string' || claims.sub === '') {
      throw new JwtRejected(JwtRejectReason.Malformed, 'The token\'s "sub" claim is not a string', {
        issuer: trusted.issuer,
      });
    }
    const unmet = Object.entries(trusted.required_claims ?? {}).find(
      ([claim, value]) => claims[claim] !== value,
    );
    if (unmet) {
      // e.g. GitHub Actions: every repository on GitHub can get a token for this audience.
      throw new JwtRejected(
        JwtRejectReason.ClaimMismatch,
        `The token's "${unmet[0]}" claim is not the one required`,
        {
          issuer: trusted.issuer,
        },
      );
    }
    return {
      issuer: trusted.issuer,
      subject: claims.sub,
      username: usernameFrom(claims, trusted),
      scopes: this.scopes.get(trusted.issuer)!,
      claims: { ...claims },
    };
  }

  /** Checks made before trusting anything in the token, so that none of them costs a request. */
  private trustedIssuerOf(token: string): TrustedIssuerConfig {
    if (token.length > MAX_TOKEN_LENGTH || !this.looksLikeJwt(token)) {
      throw new JwtRejected(JwtRejectReason.Malformed, 'The bearer token is not a JWT');
    }
    let alg: unknown;
    let iss: unknown;
    try {
      alg = decodeProtectedHeader(token).alg;
      iss = decodeJwt(token).iss;
    } catch {
      throw new JwtRejected(JwtRejectReason.Malformed, 'The bearer token is not a readable JWT');
    }
    if (typeof alg !== 'string' || !JWT_ALGORITHMS.includes(alg)) {
      throw new JwtRejected(
        JwtRejectReason.AlgorithmNotAllowed,
        `The token's algorithm is not one of ${JWT_ALGORITHMS.join(', ')}`,
      );
    }
    const trusted = typeof iss === 'string' ? this.issuers.get(iss) : undefined;
    if (!trusted) {
      throw new JwtRejected(JwtRejectReason.UntrustedIssuer, "The token's issuer is not trusted");
    }
    return trusted;
  }

  /** One remote JWKS per issuer, created on first use; concurrent first uses share the discovery. */
  private keysFor(trusted: TrustedIssuerConfig): Promise<RemoteJWKSet> {
    const cached = this.keySets.get(trusted.issuer);
    if (cached) {
      return cached;
    }
    const pending = this.createKeySet(trusted);
    this.keySets.set(trusted.issuer, pending);
    pending.catch(() => {
      if (this.keySets.get(trusted.issuer) === pending) {
        this.keySets.delete(trusted.issuer);
      }
    });
    return pending;
  }

  private async createKeySet(trusted: TrustedIssuerConfig): Promise<RemoteJWKSet> {
    let jwksUri: URL;
    try {
      jwksUri = httpUrl(trusted.jwks_uri ?? (await discover(trusted.issuer, this.fetch)).jwks_uri);
    } catch (cause) {
      throw new JwtRejected(
        JwtRejectReason.IssuerUnavailable,
        `The JWKS location of ${trusted.issuer} is unknown: ${describe(cause)}`,
        { issuer: trusted.issuer, cause },
      );
    }
    const options: RemoteJWKSetOptions = {
      timeoutDuration: ISSUER_TIMEOUT_MS,
      cooldownDuration: JWKS_COOLDOWN_MS,
      cacheMaxAge: JWKS_CACHE_MAX_AGE_MS,
    };
    if (this.fetch) {
      options[customFetch] = this.fetch;
    }
    return createRemoteJWKSet(jwksUri, options);
  }

  /** Fetch failures are the issuer's, not the caller's; only "no such key" is about the token. */
  private resolverFor(keys: RemoteJWKSet, issuer: string): JWTVerifyGetKey {
    return async (header, token) => {
      try {
        return await keys(header, token);
      } catch (error) {
        if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) {
          throw error;
        }
        throw new JwtRejected(
          JwtRejectReason.IssuerUnavailable,
          `The JWKS of ${issuer} could not be read: ${describe(error)}`,
          { issuer, cause: error },
        );
      }
    };
  }
}

function rejectionFor(error: unknown, issuer: string): JwtRejected {
  if (error instanceof JwtRejected) {
    return error;
  }
  const reject = (reason: JwtRejectReason, message: string) => new JwtRejected(reason, message, { issuer });
  if (error instanceof errors.JWTExpired) {
    return reject(JwtRejectReason.Expired, 'The token has expired');
  }
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.reason === 'missing') {
      return reject(JwtRejectReason.MissingClaim, `The token has no "${error.claim}" claim`);
    }
    if (error.claim === 'nbf' && error.reason === 'check_failed') {
      return reject(JwtRejectReason.NotYetValid, 'The token is not valid yet');
    }
    if (error.claim === 'aud') {
      return reject(JwtRejectReason.WrongAudience, 'The token is meant for another audience');
    }
    return reject(JwtRejectReason.Malformed, `The token's "${error.claim}" claim is invalid`);
  }
  if (error instanceof errors.JOSEAlgNotAllowed) {
    return reject(JwtRejectReason.AlgorithmNotAllowed, "The token's algorithm is not allowed");
  }
  if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) {
    return reject(JwtRejectReason.UnknownKey, `No single key of ${issuer} matches the token`);
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return reject(JwtRejectReason.BadSignature, "The token's signature does not verify");
  }
  // JWSInvalid, JWTInvalid, and jose's TypeErrors (e.g. an RSA key under 2048 bits).
  return reject(JwtRejectReason.Malformed, 'The token could not be verified');
}

function usernameFrom(claims: JWTPayload, trusted: TrustedIssuerConfig): string {
  const claim = trusted.username_claim ?? DEFAULT_USERNAME_CLAIM;
  const value = claims[claim];
  if (value === undefined) {
    throw new JwtRejected(JwtRejectReason.MissingClaim, `The token has no "${claim}" claim`, {
      issuer: trusted.issuer,
    });
  }
  // Normalising is safe now that names never find users: two identities whose names collide get
  // a 409 for the second, not the first's account.
  const username =
    typeof value === 'string'
      ? value
          .toLowerCase()
          .replace(/[^a-z0-9._-]+/g, '-')
          .replace(/^[._-]+|[._-]+$/g, '')
          .slice(0, 64)
      : '';
  if (!USERNAME.test(username)) {
    throw new JwtRejected(
      JwtRejectReason.BadUsername,
      `The token's "${claim}" claim gives no user name ([a-z0-9._-], at most 64 characters)`,
      { issuer: trusted.issuer },
    );
  }
  return username;
}

/** The scopes an issuer's configuration grants its tokens; `*` is every scope, and only when written. */
function grantedScopes(trusted: TrustedIssuerConfig): readonly ApiKeyScope[] {
  if (trusted.scopes === undefined) {
    return DEFAULT_JWT_SCOPES;
  }
  if (trusted.scopes.includes('*')) {
    return API_KEY_SCOPES;
  }
  const unknown = trusted.scopes.filter((scope) => !(API_KEY_SCOPES as readonly string[]).includes(scope));
  if (unknown.length > 0) {
    throw new Error(
      `ODC_JWT_ISSUERS: ${trusted.issuer} grants unknown scopes ${unknown.join(', ')} (known: ${API_KEY_SCOPES.join(', ')}, or *)`,
    );
  }
  return trusted.scopes as ApiKeyScope[];
}

function describe(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const cause = error instanceof Error && error.cause instanceof Error ? ` (${error.cause.message})` : '';
  return `${message}${cause}`;
}

import { AppError, CommonErrorCode } from '../../infra/errors/app-error';

/**
 * Why a bearer JWT was refused, for machines (the auth guard, the audit log, clients). Messages
 * that go with them never contain the token or any part of it.
 */
export enum JwtRejectReason {
  /** Not a compact JWS with a JSON header and claims set, or a claim of the wrong type. */
  Malformed = 'malformed',
  /** The `iss` claim names no issuer in ODC_JWT_ISSUERS (decided before any network call). */
  UntrustedIssuer = 'untrusted_issuer',
  /** `alg` is not RS256 or ES256 (`none` and every HMAC algorithm included). */
  AlgorithmNotAllowed = 'algorithm_not_allowed',
  /** No single key of the issuer's JWKS matches the token's `kid` and `alg`, even after a refresh. */
  UnknownKey = 'unknown_key',
  BadSignature = 'bad_signature',
  Expired = 'expired',
  NotYetValid = 'not_yet_valid',
  WrongAudience = 'wrong_audience',
  /** `exp`, `sub` or the configured username claim is absent. */
  MissingClaim = 'missing_claim',
  /** A claim the issuer's configuration requires (`required_claims`) has another value. */
  ClaimMismatch = 'claim_mismatch',
  /** The username claim is not a usable ODC user name (`[a-z0-9._-]`, at most 64 characters). */
  BadUsername = 'bad_username',
  /** The issuer's discovery document or JWKS could not be fetched: not the caller's fault. */
  IssuerUnavailable = 'issuer_unavailable',
}

/**
 * The token is refused: 401, except when the issuer could not be asked for its keys (503, as
 * `StsUnavailableError` is for AWS login). `details.reason` carries the machine-readable reason.
 */
export class JwtRejected extends AppError {
  constructor(
    readonly reason: JwtRejectReason,
    message: string,
    options: { issuer?: string; cause?: unknown } = {},
  ) {
    super(
      reason === JwtRejectReason.IssuerUnavailable ? CommonErrorCode.NotReady : CommonErrorCode.Unauthorized,
      message,
      { reason, ...(options.issuer === undefined ? {} : { issuer: options.issuer }) },
    );
    this.name = 'JwtRejected';
    if (options.cause !== undefined) {
      this.cause = options.cause;
    }
  }
}

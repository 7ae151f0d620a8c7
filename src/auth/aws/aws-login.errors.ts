import { AppError, CommonErrorCode } from '../../infra/errors/app-error';

/**
 * Why a legacy AWS IAM login failed, for machines (the endpoint, the audit log, the CLI). Messages
 * that go with them never contain the presigned URL, its signature, security token or any header
 * value the client sent.
 */
export enum AwsLoginReason {
  /** ODC_AWS_IAM_AUTH_ENABLED is off. */
  Disabled = 'disabled',
  /** Not a well-formed presigned request (types, sizes, path, parameters, headers, method). */
  InvalidRequest = 'invalid_request',
  /** The input carries raw AWS credentials (or something named like them): never accepted. */
  RawCredentials = 'raw_credentials',
  /** The URL does not target an STS endpoint over https (or exactly the configured endpoint). */
  NotStsEndpoint = 'not_sts_endpoint',
  /** An Action other than GetCallerIdentity, or more than one. */
  WrongAction = 'wrong_action',
  /** No SigV4 signature (query or Authorization header), or a signature of the wrong kind. */
  NotPresigned = 'not_presigned',
  /** X-Amz-Expires missing (query form) or over 900 seconds. */
  ExpiresTooLong = 'expires_too_long',
  /** STS refused the request: bad signature, expired, unknown or revoked credentials. */
  RejectedBySts = 'rejected_by_sts',
  /** STS proved who the caller is, and that principal may not log in. */
  NotAnAllowedRole = 'not_an_allowed_role',
  /** The principal is allowed but no ODC user name can be derived from its session name. */
  NoUsername = 'no_username',
  /** STS could not be asked (network, timeout, 5xx, throttling, redirect, unreadable answer). */
  StsUnavailable = 'sts_unavailable',
}

export type AwsLoginRejection = Exclude<AwsLoginReason, AwsLoginReason.StsUnavailable>;

/** The request shape was wrong: the client's fault, whoever it claims to be. */
const BAD_REQUEST: ReadonlySet<AwsLoginReason> = new Set([
  AwsLoginReason.InvalidRequest,
  AwsLoginReason.RawCredentials,
  AwsLoginReason.NotStsEndpoint,
  AwsLoginReason.WrongAction,
  AwsLoginReason.NotPresigned,
  AwsLoginReason.ExpiresTooLong,
]);

function codeFor(reason: AwsLoginRejection): CommonErrorCode {
  if (reason === AwsLoginReason.Disabled) {
    return CommonErrorCode.NotFound; // as if the route were not mounted
  }
  return BAD_REQUEST.has(reason) ? CommonErrorCode.BadRequest : CommonErrorCode.Unauthorized;
}

/**
 * The login is refused (400 for a malformed request, 401 when the identity is not proven or not
 * allowed, 404 when the feature is off). `details.reason` carries the machine-readable reason;
 * `details.stsCode` the STS error code (e.g. `SignatureDoesNotMatch`) when STS refused.
 */
export class AwsLoginError extends AppError {
  constructor(
    readonly reason: AwsLoginRejection,
    message: string,
    extra: { stsCode?: string } = {},
  ) {
    super(codeFor(reason), message, { reason, ...extra });
    this.name = 'AwsLoginError';
  }
}

/**
 * STS could not give an answer: not the caller's fault, so not a 401. The endpoint may answer
 * 502/503 with it; until an auth error code exists it maps to `not_ready` (503).
 */
export class StsUnavailableError extends AppError {
  readonly reason = AwsLoginReason.StsUnavailable;

  constructor(message: string, extra: { status?: number; causeCode?: string; stsCode?: string } = {}) {
    super(CommonErrorCode.NotReady, message, { reason: AwsLoginReason.StsUnavailable, ...extra });
    this.name = 'StsUnavailableError';
  }
}

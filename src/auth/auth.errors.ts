import type { ErrorStatuses } from '../infra/errors/app-error';

/**
 * Why a request is not authenticated, each with its own fix. An API key is said to be expired or
 * revoked only to whoever presents its whole secret: anyone else's key reads `unknown_key`.
 */
export enum AuthErrorCode {
  /** No Authorization header and no session. */
  NoCredentials = 'no_credentials',
  /** An API key or token this server does not know (mistyped, for another server, or its secret wrong). */
  UnknownKey = 'unknown_key',
  /** The key is right and past its expiry. */
  KeyExpired = 'key_expired',
  /** The key is right and was revoked. */
  KeyRevoked = 'key_revoked',
  /** The key is right and its user is disabled. */
  UserDisabled = 'user_disabled',
}

export const AUTH_ERROR_STATUSES = {
  [AuthErrorCode.NoCredentials]: 401,
  [AuthErrorCode.UnknownKey]: 401,
  [AuthErrorCode.KeyExpired]: 401,
  [AuthErrorCode.KeyRevoked]: 401,
  [AuthErrorCode.UserDisabled]: 401,
} as const satisfies ErrorStatuses<AuthErrorCode>;

declare module '../infra/errors/app-error' {
  interface ErrorCodes {
    auth: AuthErrorCode;
  }
}

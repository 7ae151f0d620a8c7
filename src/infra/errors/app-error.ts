/**
 * Codes shared by every endpoint. Each domain has an `*.errors.ts` of its own with its codes, their
 * HTTP statuses (`satisfies ErrorStatuses<…>`, so none is left unmapped) and an entry in
 * `ErrorCodes` below (module augmentation: infra names no domain); `src/app/error-registry.ts`
 * combines them into the one registry the HTTP layer, the OpenAPI documents and the docs' error
 * tables come from.
 */
export enum CommonErrorCode {
  BadRequest = 'bad_request',
  ValidationFailed = 'validation_failed',
  MalformedJson = 'malformed_json',
  BodyTooDeep = 'body_too_deep',
  UnsupportedMediaType = 'unsupported_media_type',
  PayloadTooLarge = 'payload_too_large',
  NotFound = 'not_found',
  MethodNotAllowed = 'method_not_allowed',
  Unauthorized = 'unauthorized',
  Forbidden = 'forbidden',
  Conflict = 'conflict',
  RateLimited = 'rate_limited',
  NotReady = 'not_ready',
  Internal = 'internal_error',
}

/** The statuses an ODC error may have. */
export type HttpErrorStatus = 400 | 401 | 403 | 404 | 405 | 409 | 413 | 415 | 422 | 429 | 500 | 502 | 503;

/** Each code of a set and its HTTP status. */
export type ErrorStatuses<Code extends string> = Readonly<Record<Code, HttpErrorStatus>>;

export const COMMON_ERROR_STATUSES = {
  [CommonErrorCode.BadRequest]: 400,
  [CommonErrorCode.ValidationFailed]: 400,
  [CommonErrorCode.MalformedJson]: 400,
  [CommonErrorCode.BodyTooDeep]: 400,
  [CommonErrorCode.Unauthorized]: 401,
  [CommonErrorCode.Forbidden]: 403,
  [CommonErrorCode.NotFound]: 404,
  [CommonErrorCode.MethodNotAllowed]: 405,
  [CommonErrorCode.Conflict]: 409,
  [CommonErrorCode.PayloadTooLarge]: 413,
  [CommonErrorCode.UnsupportedMediaType]: 415,
  [CommonErrorCode.RateLimited]: 429,
  [CommonErrorCode.Internal]: 500,
  [CommonErrorCode.NotReady]: 503,
} as const satisfies ErrorStatuses<CommonErrorCode>;

/**
 * Every code an AppError may carry, one member per set. A domain adds its own with
 * `declare module '…/infra/errors/app-error' { interface ErrorCodes { storage: StorageErrorCode } }`.
 */
export interface ErrorCodes {
  common: CommonErrorCode;
}

export type ErrorCode = ErrorCodes[keyof ErrorCodes];

export interface FieldProblem {
  field: string;
  problems: string[];
}

/** A failure the caller can act on: it becomes a 4xx (or a deliberate 5xx) with its code. */
export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: { fields?: FieldProblem[]; [key: string]: unknown },
  ) {
    super(message);
    this.name = 'AppError';
  }
}

/** The code a bare HTTP status stands for, for errors raised by the framework itself. */
export function codeForStatus(status: number): CommonErrorCode {
  const byStatus: Record<number, CommonErrorCode> = {
    400: CommonErrorCode.BadRequest,
    401: CommonErrorCode.Unauthorized,
    403: CommonErrorCode.Forbidden,
    404: CommonErrorCode.NotFound,
    405: CommonErrorCode.MethodNotAllowed,
    409: CommonErrorCode.Conflict,
    413: CommonErrorCode.PayloadTooLarge,
    415: CommonErrorCode.UnsupportedMediaType,
    429: CommonErrorCode.RateLimited,
    503: CommonErrorCode.NotReady,
  };
  return byStatus[status] ?? (status >= 500 ? CommonErrorCode.Internal : CommonErrorCode.BadRequest);
}

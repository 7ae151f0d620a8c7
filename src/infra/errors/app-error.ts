import { ClusterErrorCode } from '../../clusters/cluster.errors';
import { DeployerErrorCode } from '../../deployer/deployer.errors';
import { ReservationErrorCode } from '../../reservations/reservation.errors';
import { StorageErrorCode } from '../../storage/storage.errors';

/**
 * Codes shared by every endpoint. Each domain adds its own enum (e.g. `ReservationErrorCode`) to
 * `ErrorCode` below and a case to `httpStatusFor`; the compiler refuses an unmapped code.
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

export type ErrorCode =
  CommonErrorCode | DeployerErrorCode | ClusterErrorCode | ReservationErrorCode | StorageErrorCode;

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

function assertUnreachable(value: never): never {
  throw new Error(`unmapped error code ${String(value)}`);
}

export function httpStatusFor(code: ErrorCode): number {
  switch (code) {
    case CommonErrorCode.BadRequest:
    case CommonErrorCode.ValidationFailed:
    case CommonErrorCode.MalformedJson:
    case CommonErrorCode.BodyTooDeep:
      return 400;
    case CommonErrorCode.Unauthorized:
      return 401;
    case CommonErrorCode.Forbidden:
      return 403;
    case CommonErrorCode.NotFound:
      return 404;
    case CommonErrorCode.MethodNotAllowed:
      return 405;
    case CommonErrorCode.Conflict:
      return 409;
    case CommonErrorCode.PayloadTooLarge:
      return 413;
    case CommonErrorCode.UnsupportedMediaType:
      return 415;
    case CommonErrorCode.RateLimited:
      return 429;
    case CommonErrorCode.Internal:
      return 500;
    case CommonErrorCode.NotReady:
      return 503;
    case DeployerErrorCode.InvalidSpec:
      return 400;
    case DeployerErrorCode.PolicyViolation:
    case DeployerErrorCode.KubeRejected:
    case DeployerErrorCode.NoVolume:
      return 422;
    case ReservationErrorCode.UnknownGpuType:
    case ReservationErrorCode.InvalidGpuCount:
    case ReservationErrorCode.InvalidDuration:
    case ReservationErrorCode.NoNodeLargeEnough:
    case ReservationErrorCode.LifetimeExceeded:
    case ReservationErrorCode.IdempotencyKeyReused:
    case ReservationErrorCode.UnknownUser:
      return 422;
    case ReservationErrorCode.QuotaExceeded:
    case ReservationErrorCode.QueueLimitReached:
    case ReservationErrorCode.InvalidState:
      return 409;
    case ClusterErrorCode.InvalidCertificate:
    case ClusterErrorCode.InvalidConnection:
      return 422;
    case ClusterErrorCode.ClusterNameTaken:
    case ClusterErrorCode.ClusterActive:
      return 409;
    case DeployerErrorCode.KubeUnavailable:
    case DeployerErrorCode.KubeForbidden:
      return 502;
    case StorageErrorCode.UnknownDisk:
    case StorageErrorCode.StorageRejected:
      return 422;
    case StorageErrorCode.DiskNameTaken:
    case StorageErrorCode.DiskInUse:
    case StorageErrorCode.InvalidDiskState:
    case StorageErrorCode.SnapshotNotReady:
    case StorageErrorCode.DiskQuotaExceeded:
    case StorageErrorCode.VolumeInUse:
      return 409;
    case StorageErrorCode.StorageUnavailable:
      return 503;
    default:
      return assertUnreachable(code);
  }
}

/** The code a bare HTTP status stands for, for errors raised by the framework itself. */
export function codeForStatus(status: number): ErrorCode {
  const byStatus: Record<number, ErrorCode> = {
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

import type { ErrorStatuses } from '../infra/errors/app-error';
/** Codes of the reservations API; their HTTP statuses below. */
export enum ReservationErrorCode {
  UnknownGpuType = 'unknown_gpu_type',
  InvalidGpuCount = 'invalid_gpu_count',
  InvalidDuration = 'invalid_duration',
  /** No registered cluster has a node of the type with that many GPUs: it could never start. */
  NoNodeLargeEnough = 'no_node_large_enough',
  /** The caller's GPUs held and waited for, with this request, would pass a limit. */
  QuotaExceeded = 'quota_exceeded',
  QueueLimitReached = 'queue_limit_reached',
  LifetimeExceeded = 'lifetime_exceeded',
  /** The same Idempotency-Key was sent with another request body. */
  IdempotencyKeyReused = 'idempotency_key_reused',
  /** A user named to share a reservation with does not exist (or is disabled). */
  UnknownUser = 'unknown_user',
  /** The reservation's state does not allow it (e.g. extending one that has ended). */
  InvalidState = 'invalid_reservation_state',
  /** The caller already has a reservation of that name that is neither over nor ending. */
  NameTaken = 'name_taken',
}

export const RESERVATION_ERROR_STATUSES = {
  [ReservationErrorCode.UnknownGpuType]: 422,
  [ReservationErrorCode.InvalidGpuCount]: 422,
  [ReservationErrorCode.InvalidDuration]: 422,
  [ReservationErrorCode.NoNodeLargeEnough]: 422,
  [ReservationErrorCode.LifetimeExceeded]: 422,
  [ReservationErrorCode.IdempotencyKeyReused]: 422,
  [ReservationErrorCode.UnknownUser]: 422,
  [ReservationErrorCode.QuotaExceeded]: 409,
  [ReservationErrorCode.QueueLimitReached]: 409,
  [ReservationErrorCode.InvalidState]: 409,
  [ReservationErrorCode.NameTaken]: 409,
} as const satisfies ErrorStatuses<ReservationErrorCode>;

declare module '../infra/errors/app-error' {
  interface ErrorCodes {
    reservations: ReservationErrorCode;
  }
}

import type { ErrorStatuses } from '../infra/errors/app-error';
/** Codes of the reservations API; their HTTP statuses below. */
export enum ReservationErrorCode {
  UnknownGpuType = 'unknown_gpu_type',
  InvalidGpuCount = 'invalid_gpu_count',
  InvalidDuration = 'invalid_duration',
  /** No accepting cluster has a node of the type at all: choose another type. */
  GpuTypeNotOffered = 'gpu_type_not_offered',
  /** No node of the type has the node_labels asked for: change or drop them. */
  NoMatchingNode = 'no_matching_node',
  /** No node of the type (with those labels) has that many GPUs: ask for fewer. */
  NoNodeLargeEnough = 'no_node_large_enough',
  /**
   * A node elsewhere would do, but the disk cannot move there (no current snapshot to start from,
   * or moving is off) and none where its volume lives would: snapshot it, or reserve without it.
   */
  DiskUnreachable = 'disk_unreachable',
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
  [ReservationErrorCode.GpuTypeNotOffered]: 422,
  [ReservationErrorCode.NoMatchingNode]: 422,
  [ReservationErrorCode.NoNodeLargeEnough]: 422,
  [ReservationErrorCode.DiskUnreachable]: 422,
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

import { AppError } from '../../infra/errors/app-error';
import { StorageErrorCode } from '../storage.errors';

/**
 * What went wrong at the storage provider, in terms the storage jobs act on:
 * - `unavailable`: throttled, a timeout, the cloud or the cluster away: the job tries again later;
 * - `in_use`: the volume is attached or mounted elsewhere: later too;
 * - `not_found`: it is gone (callers that delete treat it as done);
 * - `limit`: a quota or capacity of the account or zone (e.g. InsufficientVolumeCapacity);
 * - `forbidden`: ODC's credentials may not do it: an operator's fix;
 * - `invalid`: the request itself is wrong (a bad size, a zone that does not exist).
 */
export type StorageFailureKind = 'unavailable' | 'in_use' | 'not_found' | 'limit' | 'forbidden' | 'invalid';

export class StorageProviderError extends AppError {
  constructor(
    readonly kind: StorageFailureKind,
    /** The provider's name (StorageProvider.name). */
    readonly provider: string,
    message: string,
    options: { cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(
      kind === 'unavailable'
        ? StorageErrorCode.StorageUnavailable
        : kind === 'in_use'
          ? StorageErrorCode.VolumeInUse
          : StorageErrorCode.StorageRejected,
      `${provider}: ${message}`,
      { provider, kind, ...options.details },
    );
    this.name = 'StorageProviderError';
    if (options.cause !== undefined) {
      this.cause = options.cause;
    }
  }

  /** Another try later may work. */
  get retryable(): boolean {
    return this.kind === 'unavailable' || this.kind === 'in_use';
  }
}

import type { ErrorStatuses } from '../infra/errors/app-error';
/** Codes of the disks API and of the storage providers; their HTTP statuses below. */
export enum StorageErrorCode {
  /** The caller already has a live disk of that name. */
  DiskNameTaken = 'disk_name_taken',
  /** The disk is held by a reservation (or being snapshotted after one): one at a time. */
  DiskInUse = 'disk_in_use',
  /** The disk's state does not allow it (e.g. snapshotting a disk that was never used, renaming a deleted one). */
  InvalidDiskState = 'invalid_disk_state',
  /** A reservation names a disk the caller has no live disk of that name. */
  UnknownDisk = 'unknown_disk',
  /** The snapshot is not ready (or failed): it cannot be restored. */
  SnapshotNotReady = 'snapshot_not_ready',
  /** One more would pass ODC_MAX_DISKS_PER_USER or ODC_MAX_DISK_GB_PER_USER. */
  DiskQuotaExceeded = 'disk_quota_exceeded',
  /** The provider's volume is attached or mounted elsewhere (e.g. adopting an EBS volume still attached to an instance). */
  VolumeInUse = 'volume_in_use',
  /** The storage provider refused the request (bad parameters, a limit of the cloud account). */
  StorageRejected = 'storage_rejected',
  /** The storage provider could not be reached or failed; the same call may work later. */
  StorageUnavailable = 'storage_unavailable',
}

export const STORAGE_ERROR_STATUSES = {
  [StorageErrorCode.UnknownDisk]: 422,
  [StorageErrorCode.StorageRejected]: 422,
  [StorageErrorCode.DiskNameTaken]: 409,
  [StorageErrorCode.DiskInUse]: 409,
  [StorageErrorCode.InvalidDiskState]: 409,
  [StorageErrorCode.SnapshotNotReady]: 409,
  [StorageErrorCode.DiskQuotaExceeded]: 409,
  [StorageErrorCode.VolumeInUse]: 409,
  [StorageErrorCode.StorageUnavailable]: 503,
} as const satisfies ErrorStatuses<StorageErrorCode>;

declare module '../infra/errors/app-error' {
  interface ErrorCodes {
    storage: StorageErrorCode;
  }
}

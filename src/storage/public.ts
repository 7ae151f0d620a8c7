/**
 * What other folders may use of storage: disks and their holds, where a disk may be placed, the
 * volumes behind it, the provider port, and the ports storage asks reservations to implement.
 * Everything else in storage/ is its own.
 */
export { Disk } from './disks/disk.entity';
export { DiskHolds, releaseDiskOf, releaseDisksOf } from './disks/hold-disk';
export { type DiskPlacement, diskPlacement, inScopes } from './placement';
export type { DiskHolders, Holder, ReservationTimeline, TimelineLine } from './ports';
export {
  STORAGE_PROVIDER,
  type StorageProvider,
  type StorageProviderName,
} from './providers/storage-provider';
export { StorageProviderError } from './providers/storage-provider.errors';
export { StorageErrorCode } from './storage.errors';
export { providerSnapshotOf, type SnapshotRow } from './snapshots/snapshot-rows';
export { StorageCoreModule } from './storage.module';
export { DiskUnavailable, DiskVolumes } from './volumes/disk-volumes';

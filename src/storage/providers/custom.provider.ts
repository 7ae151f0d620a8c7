/**
 * A template for a storage provider of your own (ODC_STORAGE_PROVIDER=custom): copy this class,
 * fill in each method, and keep the promises below. Every method here throws "not implemented",
 * so selecting `custom` unchanged fails on the first disk operation with a message pointing here.
 * docs/storage-providers.md has the background; aws-ebs.provider.ts and k8s-csi.provider.ts are
 * complete examples.
 *
 * The rules every method keeps (the storage jobs rely on them):
 *
 * 1. Idempotent. A job may die after your call succeeded and run it again. The same `name`
 *    (CreateVolumeInput / CreateSnapshotInput) must answer the same volume or snapshot, never a
 *    second one: use the backend's idempotency token if it has one (EC2's ClientToken), else look
 *    the object up first by a tag or label holding the name (STORAGE_TAGS.snapshotName), else make
 *    the name the object's own name.
 * 2. Gone is an answer. `describe*` answer `undefined` for what does not exist (or is deleted);
 *    `delete*` of what does not exist succeed.
 * 3. Failures are StorageProviderError (storage-provider.errors.ts) with the right kind, so the job
 *    knows whether to try again: `unavailable` (throttled, timed out, the backend away) and
 *    `in_use` (attached or mounted: later) are retried; `not_found`, `limit` (a quota),
 *    `forbidden` (our credentials: an operator's fix) and `invalid` (the request is wrong) are not.
 *    Pass the original error as `{ cause }` and never put credentials in a message.
 * 4. Tags. Put `input.tags` on what you create and answer them in `tags`: the reconciler finds
 *    ODC's objects (and quarantines orphans) by STORAGE_TAGS. If the backend has no tags, keep them
 *    where it lets you (labels, metadata, a naming scheme) and say so in the docs.
 *
 * Method by method:
 *
 * - createVolume(input): a volume of `input.sizeGb` GiB for pods of `input.clusterId` (in
 *   `input.zone` when the backend is zonal: refuse with `invalid` when it needs one and none is
 *   given), empty or from `input.fromSnapshot`. Idempotent by `input.name` (rule 1). Answer it at
 *   once, usually `state: 'creating'`; callers poll describeVolume. `volumeId` is your handle,
 *   `clusterId` set only when the volume belongs to one cluster.
 * - describeVolume(ref): the volume now (`state`: creating | available | in-use | deleting | error),
 *   or undefined (rule 2).
 * - deleteVolume(ref): deletes it for good; missing is fine; attached → `in_use`.
 * - attachVolume(ref, target): makes the volume mountable by pods of `target.clusterId` as the claim
 *   `target.claimName`, and answers that name. For a volume outside Kubernetes this is the cluster
 *   deployer's POST /volumes with `static_volume` (a Retain PV bound to the claim, pinned to the
 *   zone: see AwsEbsProvider.attachVolume); where the volume already is a claim, answer its name.
 *   Idempotent; a volume in another zone than `target.zone` → `invalid`.
 * - detachVolume(ref, target): undoes attachVolume, keeping the data (the deployer's DELETE
 *   /volumes: its 409, still mounted, → `in_use`); a no-op where the claim is the volume.
 * - tagVolume(ref, tags) / tagSnapshot(ref, tags): adds (merges) tags; the reconciler's quarantine.
 * - createSnapshot(input): a point-in-time copy of `input.volume` with `input.description` and
 *   `input.tags`; idempotent by `input.name` (rule 1). Answer it at once (`state: 'pending'`).
 * - describeSnapshot(ref): `state` pending | ready | failed (`error`: why), `sizeGb`, `createdAt`;
 *   undefined when gone. `portable` only if another cluster can import it by a backend handle.
 * - deleteSnapshot(ref): missing is fine; still in use (e.g. by an image) → `in_use`.
 * - waitForSnapshot(ref, {timeoutMs, intervalMs}): polls describeSnapshot every `intervalMs`
 *   (default 5 s) until ready or failed; a snapshot still pending at the timeout is returned, not
 *   thrown; one that does not exist is `not_found`. Take the sleep and clock as injectable hooks so
 *   tests do not wait.
 * - listVolumes(scope) / listSnapshots(scope): everything of yours with all of `scope.tags` (and in
 *   `scope.clusterId` where objects belong to clusters), every page of it.
 * - restorableIn(snapshot, clusterId): whether a volume made from the snapshot can live in that
 *   cluster (same region, same array, same storage domain…). Pure: no calls.
 */
import type {
  AttachTarget,
  CreateSnapshotInput,
  CreateVolumeInput,
  ListScope,
  ProviderSnapshot,
  ProviderVolume,
  SnapshotRef,
  StorageProvider,
  VolumeRef,
} from './storage-provider';
import { StorageProviderError } from './storage-provider.errors';

function notImplemented(method: keyof StorageProvider): StorageProviderError {
  return new StorageProviderError(
    'invalid',
    'custom',
    `not implemented: ${method} — see docs/storage-providers.md`,
  );
}

export class CustomStorageProvider implements StorageProvider {
  readonly name = 'custom' as const;
  readonly eventuallyConsistent = true;

  createVolume(_input: CreateVolumeInput): Promise<ProviderVolume> {
    return Promise.reject(notImplemented('createVolume'));
  }

  describeVolume(_ref: VolumeRef): Promise<ProviderVolume | undefined> {
    return Promise.reject(notImplemented('describeVolume'));
  }

  deleteVolume(_ref: VolumeRef): Promise<void> {
    return Promise.reject(notImplemented('deleteVolume'));
  }

  attachVolume(_ref: VolumeRef, _target: AttachTarget): Promise<{ claimName: string }> {
    return Promise.reject(notImplemented('attachVolume'));
  }

  detachVolume(_ref: VolumeRef, _target: AttachTarget): Promise<void> {
    return Promise.reject(notImplemented('detachVolume'));
  }

  tagVolume(_ref: VolumeRef, _tags: Record<string, string>): Promise<void> {
    return Promise.reject(notImplemented('tagVolume'));
  }

  createSnapshot(_input: CreateSnapshotInput): Promise<ProviderSnapshot> {
    return Promise.reject(notImplemented('createSnapshot'));
  }

  describeSnapshot(_ref: SnapshotRef): Promise<ProviderSnapshot | undefined> {
    return Promise.reject(notImplemented('describeSnapshot'));
  }

  deleteSnapshot(_ref: SnapshotRef): Promise<void> {
    return Promise.reject(notImplemented('deleteSnapshot'));
  }

  tagSnapshot(_ref: SnapshotRef, _tags: Record<string, string>): Promise<void> {
    return Promise.reject(notImplemented('tagSnapshot'));
  }

  waitForSnapshot(
    _ref: SnapshotRef,
    _options: { timeoutMs: number; intervalMs?: number },
  ): Promise<ProviderSnapshot> {
    return Promise.reject(notImplemented('waitForSnapshot'));
  }

  listVolumes(_scope: ListScope): Promise<ProviderVolume[]> {
    return Promise.reject(notImplemented('listVolumes'));
  }

  listSnapshots(_scope: ListScope): Promise<ProviderSnapshot[]> {
    return Promise.reject(notImplemented('listSnapshots'));
  }

  /** Synchronous in the port: this one throws rather than rejects. */
  restorableIn(_snapshot: ProviderSnapshot, _clusterId: string): boolean {
    throw notImplemented('restorableIn');
  }
}

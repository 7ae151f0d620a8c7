/**
 * How the `aws-ebs` provider maps between EC2's shapes and the storage port's: states, tags,
 * idempotency tokens, and the labels of the claims it has the deployer make.
 */
import type { Filter, Snapshot, Tag, Volume } from '@aws-sdk/client-ec2';
import { createHash } from 'node:crypto';
import type { ProviderSnapshot, ProviderVolume, SnapshotState, VolumeState } from './storage-provider';

export const EBS_VOLUME_LABEL = 'odc.dev/ebs-volume';

/** EC2's limits: a ClientToken of at most 64 ASCII characters, a description of at most 255. */
const CLIENT_TOKEN_PREFIX = 'odc-';
const CLIENT_TOKEN_MAX = 64;
export const DESCRIPTION_MAX = 255;

/**
 * The CreateVolume idempotency token of a volume name: the same for the same name, within EC2's
 * 64 characters whatever the name's length (a hash rather than the name, which may be up to 63).
 */
export function clientTokenFor(name: string): string {
  const digest = createHash('sha256').update(name).digest('hex');
  return CLIENT_TOKEN_PREFIX + digest.slice(0, CLIENT_TOKEN_MAX - CLIENT_TOKEN_PREFIX.length);
}

export function tagsToRecord(tags: Tag[] | undefined): Record<string, string> {
  return Object.fromEntries((tags ?? []).map((tag) => [tag.Key ?? '', tag.Value ?? '']));
}

export function recordToTags(tags: Record<string, string>): Tag[] {
  return Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
}

export function tagFilters(tags: Record<string, string> | undefined): Filter[] {
  return Object.entries(tags ?? {}).map(([key, value]) => ({ Name: `tag:${key}`, Values: [value] }));
}

/** The port's state of an EC2 volume state; undefined for `deleted` (EC2 shows it for a while). */
export function volumeStateOf(state: Volume['State']): VolumeState | undefined {
  switch (state) {
    case 'creating':
    case 'available':
    case 'in-use':
    case 'deleting':
    case 'error':
      return state;
    case 'deleted':
      return undefined;
    case undefined:
      return 'creating';
  }
}

/** The port's state of an EBS snapshot state; undefined once it is in the Recycle Bin (deleted). */
export function snapshotStateOf(state: Snapshot['State']): SnapshotState | undefined {
  switch (state) {
    case 'completed':
      return 'ready';
    case 'error':
      return 'failed';
    case 'pending':
    case 'recovering': // coming back out of the Recycle Bin
    case undefined:
      return 'pending';
    case 'recoverable':
      return undefined;
  }
}

export function toProviderVolume(volume: Volume): ProviderVolume | undefined {
  const state = volumeStateOf(volume.State);
  if (state === undefined || volume.VolumeId === undefined) {
    return undefined;
  }
  return {
    volumeId: volume.VolumeId,
    ...(volume.AvailabilityZone ? { zone: volume.AvailabilityZone } : {}),
    sizeGb: volume.Size ?? 0,
    state,
    tags: tagsToRecord(volume.Tags),
    ...(volume.CreateTime ? { createdAt: volume.CreateTime } : {}),
  };
}

export function toProviderSnapshot(snapshot: Snapshot): ProviderSnapshot | undefined {
  const state = snapshotStateOf(snapshot.State);
  if (state === undefined || snapshot.SnapshotId === undefined) {
    return undefined;
  }
  return {
    snapshotId: snapshot.SnapshotId,
    volumeId: snapshot.VolumeId ?? '',
    state,
    ...(snapshot.VolumeSize !== undefined ? { sizeGb: snapshot.VolumeSize } : {}),
    ...(snapshot.StartTime ? { createdAt: snapshot.StartTime } : {}),
    ...(state === 'failed' ? { error: snapshot.StateMessage || 'the snapshot failed' } : {}),
    tags: tagsToRecord(snapshot.Tags),
  };
}

/** Instances the volume is attached to (or being attached to, or detached from). */
export function attachedInstances(volume: Volume): string[] {
  return (volume.Attachments ?? [])
    .filter((attachment) => attachment.State !== 'detached')
    .map((attachment) => attachment.InstanceId ?? 'an instance');
}

const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

/**
 * Labels of the claim and PV made at attach: the volume's id, and ODC's tags that are valid label
 * values (a tag may hold what a label may not, e.g. an e-mail address; those stay EC2-only).
 */
export function claimLabels(volume: ProviderVolume): Record<string, string> {
  const odcTags = Object.entries(volume.tags).filter(
    ([key, value]) => key.startsWith('odc.dev/') && LABEL_VALUE.test(value),
  );
  return { ...Object.fromEntries(odcTags), [EBS_VOLUME_LABEL]: volume.volumeId };
}

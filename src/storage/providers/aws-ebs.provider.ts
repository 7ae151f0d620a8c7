/**
 * The `aws-ebs` storage provider: a disk is an EBS volume in one zone, a snapshot an EBS snapshot
 * of the region. Pods reach a volume through a static PersistentVolume on the EBS CSI driver and a
 * claim bound to it, which the target cluster's deployer makes (attach) and removes (detach); the
 * volume itself never leaves EC2's hands, so detaching keeps its data.
 *
 * Idempotency, as the port asks: CreateVolume carries a ClientToken made from the volume's name
 * (EC2 answers the same volume for the same token); CreateSnapshot has no token, so a snapshot is
 * first looked up by its `odc.dev/snapshot-name` tag. Deleting what is gone succeeds.
 *
 * Assumption: every cluster this provider serves runs in `settings.region` (the EC2 client's
 * region). EBS snapshots are regional, so any snapshot restores in any of them (`restorableIn`);
 * volumes are zonal, so a pod must run in its volume's zone (the static PV pins it there).
 */
import {
  CreateSnapshotCommand,
  CreateTagsCommand,
  CreateVolumeCommand,
  DeleteSnapshotCommand,
  DeleteVolumeCommand,
  DescribeSnapshotsCommand,
  DescribeVolumesCommand,
  paginateDescribeSnapshots,
  paginateDescribeVolumes,
  type EC2Client,
  type Volume,
  type VolumeType,
} from '@aws-sdk/client-ec2';
import { setTimeout as wait } from 'node:timers/promises';
import type { DeployerClient } from '../../clusters/public';
import type { VolumeRequest } from '../../deployer/public';
import { storageErrorFromDeployer, storageErrorFromEc2 } from './aws-ebs-errors';
import {
  attachedInstances,
  claimLabels,
  clientTokenFor,
  DESCRIPTION_MAX,
  recordToTags,
  tagFilters,
  tagsToRecord,
  toProviderSnapshot,
  toProviderVolume,
  volumeStateOf,
} from './aws-ebs-mapping';
import {
  STORAGE_TAGS,
  type AttachTarget,
  type CreateSnapshotInput,
  type CreateVolumeInput,
  type ListScope,
  type ProviderSnapshot,
  type ProviderVolume,
  type SnapshotRef,
  type StorageProvider,
  type VolumeRef,
} from './storage-provider';
import { StorageProviderError } from './storage-provider.errors';

export interface AwsEbsSettings {
  /** The region of the EC2 client and of every cluster served (see the header). */
  region: string;
  /** EBS volume type, e.g. gp3. */
  volumeType: string;
  /** Provisioned IOPS (gp3, io1, io2); EC2's default for the type when unset. */
  iops?: number;
  /** gp3 only. */
  throughputMiBps?: number;
  /** When set, volumes are encrypted with this key (else the account's default encryption applies). */
  kmsKeyId?: string;
  /** The CSI driver of the static PVs, e.g. ebs.csi.aws.com (the deployer's policy must allow it). */
  csiDriver: string;
  /** e.g. ext4. */
  fsType: string;
  /** The namespace of a cluster's disk claims; undefined: the deployer's default namespace. */
  namespaceFor(clusterId: string): string | undefined;
  /** Put on every volume and snapshot (cost allocation and the like); ODC's own tags win. */
  extraTags?: Record<string, string>;
}

/** Seams for tests: the waits between polls and the clock (ms). */
export interface AwsEbsHooks {
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

/** A cluster's deployer, as far as claims of disks go. */
export type VolumeClaimClient = Pick<DeployerClient, 'createVolume' | 'deleteVolume' | 'getVolume'>;

export interface VolumeClaimClients {
  for(clusterId: string): VolumeClaimClient;
}

/** On the static PV and claim the deployer makes at attach: which EBS volume they stand for. */
export const DEFAULT_SNAPSHOT_POLL_MS = 5_000;
/** The largest pages DescribeVolumes and DescribeSnapshots give. */
const VOLUME_PAGE = 500;
const SNAPSHOT_PAGE = 1000;

/** Undefined instead of a `not_found` failure: for reads and deletes, where gone is an answer. */
async function unlessNotFound<T>(call: Promise<T>): Promise<T | undefined> {
  try {
    return await call;
  } catch (error) {
    if (error instanceof StorageProviderError && error.kind === 'not_found') {
      return undefined;
    }
    throw error;
  }
}

export class AwsEbsProvider implements StorageProvider {
  readonly name = 'aws-ebs' as const;
  readonly eventuallyConsistent = true;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly now: () => number;

  constructor(
    private readonly ec2: EC2Client,
    private readonly clusters: VolumeClaimClients,
    private readonly settings: AwsEbsSettings,
    hooks: AwsEbsHooks = {},
  ) {
    this.sleep = hooks.sleep ?? ((ms) => wait(ms));
    this.now = hooks.now ?? Date.now;
  }

  async createVolume(input: CreateVolumeInput): Promise<ProviderVolume> {
    if (!input.zone) {
      throw new StorageProviderError(
        'invalid',
        this.name,
        `volume ${input.name}: a zone is required (an EBS volume lives in one availability zone)`,
      );
    }
    const { kmsKeyId, iops, throughputMiBps } = this.settings;
    const created = await this.ec2Call(`CreateVolume ${input.name}`, () =>
      this.ec2.send(
        new CreateVolumeCommand({
          AvailabilityZone: input.zone,
          Size: input.sizeGb,
          VolumeType: this.settings.volumeType as VolumeType,
          ...(iops !== undefined ? { Iops: iops } : {}),
          ...(throughputMiBps !== undefined ? { Throughput: throughputMiBps } : {}),
          ...(kmsKeyId ? { Encrypted: true, KmsKeyId: kmsKeyId } : {}),
          ...(input.fromSnapshot ? { SnapshotId: input.fromSnapshot.snapshotId } : {}),
          TagSpecifications: [
            {
              ResourceType: 'volume',
              Tags: recordToTags({ ...this.settings.extraTags, Name: input.name, ...input.tags }),
            },
          ],
          ClientToken: clientTokenFor(input.name),
        }),
      ),
    );
    return this.required(toProviderVolume(created), `CreateVolume ${input.name}`);
  }

  async describeVolume(ref: VolumeRef): Promise<ProviderVolume | undefined> {
    const volume = await this.findVolume(ref.volumeId);
    return volume && toProviderVolume(volume);
  }

  /** Gone already is fine; a volume still attached to a node is `in_use` (EC2's VolumeInUse). */
  async deleteVolume(ref: VolumeRef): Promise<void> {
    await unlessNotFound(
      this.ec2Call(`DeleteVolume ${ref.volumeId}`, () =>
        this.ec2.send(new DeleteVolumeCommand({ VolumeId: ref.volumeId })),
      ),
    );
  }

  /**
   * A static PV for the volume (pinned to its zone) and the claim `target.claimName` bound to it,
   * made by the target cluster's deployer; idempotent as its POST /volumes is.
   */
  async attachVolume(ref: VolumeRef, target: AttachTarget): Promise<{ claimName: string }> {
    const volume = await this.requireVolume(ref.volumeId, 'attach');
    this.assertAttachable(volume, target);
    const namespace = this.settings.namespaceFor(target.clusterId);
    const request: VolumeRequest = {
      name: target.claimName,
      ...(namespace ? { namespace } : {}),
      size: `${volume.sizeGb}Gi`,
      // Empty, not absent: a class would make Kubernetes provision a new volume instead of binding this one.
      storage_class: '',
      static_volume: {
        driver: this.settings.csiDriver,
        volume_handle: volume.volumeId,
        fs_type: this.settings.fsType,
        ...(volume.zone ? { zone: volume.zone } : {}),
      },
      labels: claimLabels(volume),
    };
    try {
      await this.clusters.for(target.clusterId).createVolume(request);
    } catch (error) {
      throw storageErrorFromDeployer(error, this.attachOperation(ref, target), 'invalid');
    }
    return { claimName: target.claimName };
  }

  /** Deletes the claim and its PV (reclaim policy Retain: the EBS volume and its data stay). */
  async detachVolume(ref: VolumeRef, target: AttachTarget): Promise<void> {
    try {
      await this.clusters
        .for(target.clusterId)
        .deleteVolume(target.claimName, this.settings.namespaceFor(target.clusterId));
    } catch (error) {
      // 409: a pod still mounts the claim.
      throw storageErrorFromDeployer(error, `detach ${this.attachOperation(ref, target)}`, 'in_use');
    }
  }

  async tagVolume(ref: VolumeRef, tags: Record<string, string>): Promise<void> {
    await this.createTags(ref.volumeId, tags);
  }

  /**
   * Idempotent without a token (CreateSnapshot has none): a snapshot tagged with this name is
   * answered as it is. Two calls racing past the lookup can still make two; the second is tagged
   * the same and the reconciler finds it.
   */
  async createSnapshot(input: CreateSnapshotInput): Promise<ProviderSnapshot> {
    const existing = await this.findSnapshotByName(input.name);
    if (existing) {
      return existing;
    }
    const operation = `CreateSnapshot ${input.name} of ${input.volume.volumeId}`;
    const created = await this.ec2Call(operation, () =>
      this.ec2.send(
        new CreateSnapshotCommand({
          VolumeId: input.volume.volumeId,
          Description: input.description.slice(0, DESCRIPTION_MAX),
          TagSpecifications: [
            {
              ResourceType: 'snapshot',
              Tags: recordToTags({
                ...this.settings.extraTags,
                Name: input.name,
                ...input.tags,
                [STORAGE_TAGS.snapshotName]: input.name,
              }),
            },
          ],
        }),
      ),
    );
    return this.required(toProviderSnapshot(created), operation);
  }

  async describeSnapshot(ref: SnapshotRef): Promise<ProviderSnapshot | undefined> {
    const answer = await unlessNotFound(
      this.ec2Call(`DescribeSnapshots ${ref.snapshotId}`, () =>
        this.ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: [ref.snapshotId] })),
      ),
    );
    const snapshot = answer?.Snapshots?.[0];
    return snapshot && toProviderSnapshot(snapshot);
  }

  /** Gone already is fine; one an AMI was registered from is `in_use` (InvalidSnapshot.InUse). */
  async deleteSnapshot(ref: SnapshotRef): Promise<void> {
    await unlessNotFound(
      this.ec2Call(`DeleteSnapshot ${ref.snapshotId}`, () =>
        this.ec2.send(new DeleteSnapshotCommand({ SnapshotId: ref.snapshotId })),
      ),
    );
  }

  async tagSnapshot(ref: SnapshotRef, tags: Record<string, string>): Promise<void> {
    await this.createTags(ref.snapshotId, tags);
  }

  async waitForSnapshot(
    ref: SnapshotRef,
    options: { timeoutMs: number; intervalMs?: number },
  ): Promise<ProviderSnapshot> {
    const interval = options.intervalMs ?? DEFAULT_SNAPSHOT_POLL_MS;
    const deadline = this.now() + options.timeoutMs;
    for (;;) {
      const snapshot = await this.describeSnapshot(ref);
      if (!snapshot) {
        throw new StorageProviderError('not_found', this.name, `snapshot ${ref.snapshotId} not found`);
      }
      const left = deadline - this.now();
      if (snapshot.state !== 'pending' || left <= 0) {
        return snapshot;
      }
      await this.sleep(Math.min(interval, left));
    }
  }

  /** Every volume with all of `scope.tags` in the region (`scope.clusterId` plays no part: EBS has no clusters). */
  async listVolumes(scope: ListScope): Promise<ProviderVolume[]> {
    const volumes: ProviderVolume[] = [];
    await this.ec2Call('DescribeVolumes', async () => {
      const pages = paginateDescribeVolumes(
        { client: this.ec2, pageSize: VOLUME_PAGE },
        { Filters: tagFilters(scope.tags) },
      );
      for await (const page of pages) {
        volumes.push(...(page.Volumes ?? []).flatMap((volume) => toProviderVolume(volume) ?? []));
      }
    });
    return volumes;
  }

  /** Every snapshot of this account with all of `scope.tags` in the region. */
  async listSnapshots(scope: ListScope): Promise<ProviderSnapshot[]> {
    const snapshots: ProviderSnapshot[] = [];
    await this.ec2Call('DescribeSnapshots', async () => {
      const pages = paginateDescribeSnapshots(
        { client: this.ec2, pageSize: SNAPSHOT_PAGE },
        { OwnerIds: ['self'], Filters: tagFilters(scope.tags) },
      );
      for await (const page of pages) {
        snapshots.push(...(page.Snapshots ?? []).flatMap((snapshot) => toProviderSnapshot(snapshot) ?? []));
      }
    });
    return snapshots;
  }

  /** EBS snapshots are regional and every cluster served is in the region (see the header). */
  restorableIn(_snapshot: ProviderSnapshot, _clusterId: string): boolean {
    return true;
  }

  /**
   * Takes over an EBS volume made outside ODC (the platform ODC replaces attached volumes to
   * instances directly): it must exist, be attached to no instance, and belong to no other disk; it
   * gets `tags` and is answered for the caller to record as a disk. Adopting again with the same
   * tags changes nothing.
   */
  async adoptVolume(volumeId: string, tags: Record<string, string>): Promise<ProviderVolume> {
    const volume = await this.findVolume(volumeId);
    if (!volume) {
      throw new StorageProviderError(
        'not_found',
        this.name,
        `adopt: volume ${volumeId} not found in ${this.settings.region}`,
      );
    }
    this.assertAdoptable(volume, tags);
    await this.createTags(volumeId, tags);
    return this.required(
      toProviderVolume({ ...volume, Tags: recordToTags({ ...tagsToRecord(volume.Tags), ...tags }) }),
      `adopt ${volumeId}`,
    );
  }

  private assertAdoptable(volume: Volume, tags: Record<string, string>): void {
    const id = volume.VolumeId ?? '';
    const instances = attachedInstances(volume);
    if (instances.length > 0) {
      throw new StorageProviderError(
        'in_use',
        this.name,
        `adopt: volume ${id} is attached to ${instances.join(', ')}; detach it first`,
      );
    }
    if (volume.State === 'error' || volume.State === 'deleting') {
      throw new StorageProviderError('invalid', this.name, `adopt: volume ${id} is in state ${volume.State}`);
    }
    const owner = tagsToRecord(volume.Tags)[STORAGE_TAGS.disk];
    const wanted = tags[STORAGE_TAGS.disk];
    if (owner !== undefined && wanted !== undefined && owner !== wanted) {
      throw new StorageProviderError(
        'invalid',
        this.name,
        `adopt: volume ${id} already belongs to disk ${owner}`,
      );
    }
  }

  private assertAttachable(volume: ProviderVolume, target: AttachTarget): void {
    if (target.zone && volume.zone && target.zone !== volume.zone) {
      throw new StorageProviderError(
        'invalid',
        this.name,
        `attach: volume ${volume.volumeId} lives in zone ${volume.zone}, not ${target.zone}; ` +
          'an EBS volume is only reachable from its own zone (snapshot and restore it to move it)',
      );
    }
    if (volume.state === 'error' || volume.state === 'deleting') {
      throw new StorageProviderError(
        'invalid',
        this.name,
        `attach: volume ${volume.volumeId} is in state ${volume.state}`,
      );
    }
  }

  private attachOperation(ref: VolumeRef, target: AttachTarget): string {
    return `${ref.volumeId} as claim ${target.claimName} in cluster ${target.clusterId}`;
  }

  /** The raw EC2 volume; undefined when it does not exist or is deleted. */
  private async findVolume(volumeId: string): Promise<Volume | undefined> {
    const answer = await unlessNotFound(
      this.ec2Call(`DescribeVolumes ${volumeId}`, () =>
        this.ec2.send(new DescribeVolumesCommand({ VolumeIds: [volumeId] })),
      ),
    );
    const volume = answer?.Volumes?.[0];
    return volume && volumeStateOf(volume.State) !== undefined ? volume : undefined;
  }

  private async requireVolume(volumeId: string, action: string): Promise<ProviderVolume> {
    const volume = await this.findVolume(volumeId);
    if (!volume) {
      throw new StorageProviderError('not_found', this.name, `${action}: volume ${volumeId} not found`);
    }
    return this.required(toProviderVolume(volume), `${action} ${volumeId}`);
  }

  /** The oldest usable snapshot tagged with this name (normally the only one). */
  private async findSnapshotByName(name: string): Promise<ProviderSnapshot | undefined> {
    const answer = await this.ec2Call(`DescribeSnapshots ${STORAGE_TAGS.snapshotName}=${name}`, () =>
      this.ec2.send(
        new DescribeSnapshotsCommand({
          OwnerIds: ['self'],
          Filters: tagFilters({ [STORAGE_TAGS.snapshotName]: name }),
        }),
      ),
    );
    const found = (answer.Snapshots ?? []).flatMap((snapshot) => toProviderSnapshot(snapshot) ?? []);
    const age = (snapshot: ProviderSnapshot) => snapshot.createdAt?.getTime() ?? Number.MAX_SAFE_INTEGER;
    return found.sort((a, b) => age(a) - age(b))[0];
  }

  private async createTags(resourceId: string, tags: Record<string, string>): Promise<void> {
    if (Object.keys(tags).length === 0) {
      return; // EC2 refuses a CreateTags without tags
    }
    await this.ec2Call(`CreateTags ${resourceId}`, () =>
      this.ec2.send(new CreateTagsCommand({ Resources: [resourceId], Tags: recordToTags(tags) })),
    );
  }

  /** An EC2 call whose failure becomes the StorageProviderError the jobs act on. */
  private async ec2Call<T>(operation: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      throw storageErrorFromEc2(error, operation);
    }
  }

  /** EC2 answered without the id it always sends: a garbled answer; the same (idempotent) call may do better. */
  private required<T>(value: T | undefined, operation: string): T {
    if (value === undefined) {
      throw new StorageProviderError(
        'unavailable',
        this.name,
        `${operation}: EC2 answered without an id or state`,
      );
    }
    return value;
  }
}

/**
 * The storage port (`CloudProvider` on the platform ODC replaces): volumes, snapshots and their
 * waits, behind one interface, so disks work the same on any cluster. The coordinator's storage
 * code (src/storage) calls only this; each provider reaches its storage its own way:
 *
 * - `k8s-csi` (default): a volume is a PersistentVolumeClaim in one cluster and a snapshot a
 *   VolumeSnapshot next to it, both through that cluster's deployer (`/volumes`, `/snapshots`).
 *   Clusters with the same profile `storage_domain` share a storage backend, so a snapshot taken in
 *   one can be imported into another by its backend handle and restored there.
 * - `aws-ebs`: a volume is an EC2 (EBS) volume in a zone, and a snapshot an EBS snapshot in the
 *   region; pods reach the volume through a static PersistentVolume on the EBS CSI driver and a
 *   claim bound to it, which the deployer makes (attach) and removes (detach).
 *
 * A provider of your own implements this interface and passes the contract every provider passes
 * (test/storage/provider-contract.ts); docs/storage-providers.md walks through one
 * (examples/in-memory.provider.ts).
 *
 * Every call is idempotent: a job that died after a call and runs it again gets the same volume or
 * snapshot (`name` is the idempotency key), and deleting what is gone is not an error.
 */

export const STORAGE_PROVIDERS = ['k8s-csi', 'aws-ebs'] as const;
export type StorageProviderName = (typeof STORAGE_PROVIDERS)[number];

export type VolumeState = 'creating' | 'available' | 'in-use' | 'deleting' | 'error';
export type SnapshotState = 'pending' | 'ready' | 'failed';

/** A volume as the provider names it. */
export interface VolumeRef {
  /** k8s-csi: the claim's name in its cluster; aws-ebs: `vol-…`. */
  volumeId: string;
  /** k8s-csi: the cluster holding the claim. aws-ebs: unset (an EBS volume belongs to a zone). */
  clusterId?: string;
}

export interface ProviderVolume extends VolumeRef {
  /** The zone the volume lives in, when the provider knows it (pods must run there). */
  zone?: string;
  sizeGb: number;
  state: VolumeState;
  /** Tags (aws-ebs) or labels (k8s-csi) ODC put on it: how the reconciler tells its own. */
  tags: Record<string, string>;
  createdAt?: Date;
}

export interface SnapshotRef {
  /** k8s-csi: the VolumeSnapshot's name in its cluster; aws-ebs: `snap-…`. */
  snapshotId: string;
  clusterId?: string;
}

export interface ProviderSnapshot extends SnapshotRef {
  /** The volume it was taken of. */
  volumeId: string;
  state: SnapshotState;
  sizeGb?: number;
  createdAt?: Date;
  /** Why it failed. */
  error?: string;
  /**
   * k8s-csi: the storage backend's handle of the snapshot and its CSI driver, with which another
   * cluster of the same storage domain can import it. Unset until the snapshot is cut.
   */
  portable?: { handle: string; driver: string };
  tags: Record<string, string>;
}

export interface CreateVolumeInput {
  /**
   * The idempotency key and, where the provider names things, the name (k8s-csi: the claim's):
   * a DNS label, unique per disk generation.
   */
  name: string;
  sizeGb: number;
  /** The cluster whose pods will use it (k8s-csi: where the claim is made). */
  clusterId: string;
  /** The zone of the node it is for (aws-ebs: required; k8s-csi: recorded, the class binds it). */
  zone?: string;
  /** Start from this snapshot's data instead of empty. */
  fromSnapshot?: ProviderSnapshot;
  tags: Record<string, string>;
}

export interface CreateSnapshotInput {
  /** Idempotency key and (k8s-csi) the VolumeSnapshot's name: a DNS label. */
  name: string;
  volume: VolumeRef;
  description: string;
  tags: Record<string, string>;
}

/** Where a volume is to be mounted: a claim of this name in this cluster. */
export interface AttachTarget {
  clusterId: string;
  claimName: string;
  zone?: string;
}

/** What to list: one cluster's objects (k8s-csi), or the provider's whole estate (aws-ebs, by tag). */
export interface ListScope {
  clusterId?: string;
  /** Only objects with all these tags (aws-ebs) or labels (k8s-csi). */
  tags?: Record<string, string>;
}

/**
 * `Name` is one of STORAGE_PROVIDERS for a provider the app can be configured with; an example or a
 * provider still being written names itself anything until it is added there.
 */
export interface StorageProvider<Name extends string = StorageProviderName> {
  readonly name: Name;
  /**
   * Whether a describe can briefly miss what was just made (EC2's reads are eventually
   * consistent; the Kubernetes API server's are not): "not found" is then believed only later.
   */
  readonly eventuallyConsistent: boolean;

  createVolume(input: CreateVolumeInput): Promise<ProviderVolume>;
  /** Undefined when it does not exist (any more). */
  describeVolume(ref: VolumeRef): Promise<ProviderVolume | undefined>;
  deleteVolume(ref: VolumeRef): Promise<void>;
  /** Makes the volume mountable by pods of the target cluster as a claim; answers the claim's name. */
  attachVolume(ref: VolumeRef, target: AttachTarget): Promise<{ claimName: string }>;
  /** Undoes attachVolume (the data stays); a no-op where the claim is the volume. */
  detachVolume(ref: VolumeRef, target: AttachTarget): Promise<void>;
  /** Adds tags (labels) to a volume: how the reconciler quarantines what no disk owns. */
  tagVolume(ref: VolumeRef, tags: Record<string, string>): Promise<void>;

  createSnapshot(input: CreateSnapshotInput): Promise<ProviderSnapshot>;
  describeSnapshot(ref: SnapshotRef): Promise<ProviderSnapshot | undefined>;
  deleteSnapshot(ref: SnapshotRef): Promise<void>;
  tagSnapshot(ref: SnapshotRef, tags: Record<string, string>): Promise<void>;
  /** Polls until ready or failed; a snapshot still pending at the timeout is returned as it is. */
  waitForSnapshot(
    ref: SnapshotRef,
    options: { timeoutMs: number; intervalMs?: number },
  ): Promise<ProviderSnapshot>;

  listVolumes(scope: ListScope): Promise<ProviderVolume[]>;
  listSnapshots(scope: ListScope): Promise<ProviderSnapshot[]>;

  /** Whether a volume made from this snapshot can live in that cluster (and zone). */
  restorableIn(snapshot: ProviderSnapshot, clusterId: string): boolean;

  /**
   * Providers that can take over a volume made outside ODC (aws-ebs: an EBS volume by id, the
   * migration path from direct attachment): checks it is free, tags it, answers its size and zone.
   */
  adoptVolume?(volumeId: string, tags: Record<string, string>): Promise<ProviderVolume>;
}

/** Tags ODC puts on every volume and snapshot it makes (labels on k8s-csi: the same keys). */
export const STORAGE_TAGS = {
  disk: 'odc.dev/disk',
  owner: 'odc.dev/owner',
  snapshotName: 'odc.dev/snapshot-name',
  /** k8s-csi: a snapshot imported from another cluster to restore this volume from (not a snapshot of its own). */
  importOf: 'odc.dev/import-of',
  /** Set by the reconciler on objects no disk owns; never deleted before the grace period. */
  quarantined: 'odc.dev/quarantined',
} as const;

/** The Nest injection token of the configured provider (storage.module.ts builds it from ODC_STORAGE_PROVIDER). */
export const STORAGE_PROVIDER = Symbol('STORAGE_PROVIDER');

import { setTimeout as wait } from 'node:timers/promises';
import { DeployerError, type DeployerClient, type ClusterProfile } from '../../clusters/public';
import type { SnapshotInfo, VolumeInfo } from '../../deployer/public';
import { parseQuantity } from '../../infra/kubernetes/quantity';
import { deployerFailureKind } from './deployer-failures';
import { StorageProviderError } from './storage-provider.errors';
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

const GIB = 1024 ** 3;

/** What the provider needs of the cluster registry and the deployer clients. */
export interface CsiClusters {
  profileOf(clusterId: string): ClusterProfile | undefined;
  clientFor(
    clusterId: string,
  ): Pick<
    DeployerClient,
    | 'createVolume'
    | 'getVolume'
    | 'listVolumes'
    | 'deleteVolume'
    | 'labelVolume'
    | 'createSnapshot'
    | 'getSnapshot'
    | 'listSnapshots'
    | 'deleteSnapshot'
    | 'labelSnapshot'
  >;
}

/**
 * k8s-csi: a disk's volume is a PersistentVolumeClaim in one cluster (the profile's storage class)
 * and its snapshots VolumeSnapshots beside it (the profile's snapshot class), all through that
 * cluster's deployer; works wherever the cluster has a CSI driver with snapshots (EKS, GKE's PD
 * driver, on-prem arrays). A snapshot moves to another cluster of the same storage domain by its
 * backend handle: imported there, then restored into a claim.
 */
export class K8sCsiProvider implements StorageProvider {
  readonly name = 'k8s-csi' as const;
  readonly eventuallyConsistent = false;

  constructor(
    private readonly clusters: CsiClusters,
    private readonly sleep: (ms: number) => Promise<void> = (ms) => wait(ms),
  ) {}

  async createVolume(input: CreateVolumeInput): Promise<ProviderVolume> {
    const profile = this.profile(input.clusterId);
    const client = this.clusters.clientFor(input.clusterId);
    const source = input.fromSnapshot ? await this.snapshotHere(input.fromSnapshot, input) : undefined;
    const volume = await this.call(() =>
      client.createVolume({
        name: input.name,
        namespace: profile.namespace,
        size: `${input.sizeGb}Gi`,
        ...(profile.storage_class ? { storage_class: profile.storage_class } : {}),
        ...(source ? { from_snapshot: source } : {}),
        labels: input.tags,
      }),
    );
    return { ...volumeOf(volume, input.clusterId), ...(input.zone ? { zone: input.zone } : {}) };
  }

  /**
   * The snapshot's name in the target cluster: its own when it was taken there, else an import of
   * its backend handle (the same name on every retry, so one import).
   */
  private async snapshotHere(snapshot: ProviderSnapshot, input: CreateVolumeInput): Promise<string> {
    if (snapshot.clusterId === input.clusterId) {
      return snapshot.snapshotId;
    }
    if (!snapshot.portable || !this.restorableIn(snapshot, input.clusterId)) {
      throw new StorageProviderError(
        'invalid',
        this.name,
        `snapshot ${snapshot.snapshotId} cannot be restored in another cluster (no shared storage domain, or not cut yet)`,
      );
    }
    const profile = this.profile(input.clusterId);
    const name = `${input.name}-src`;
    await this.call(() =>
      this.clusters.clientFor(input.clusterId).createSnapshot({
        name,
        namespace: profile.namespace,
        source: { snapshot_handle: snapshot.portable!.handle, driver: snapshot.portable!.driver },
        ...(profile.volume_snapshot_class ? { snapshot_class: profile.volume_snapshot_class } : {}),
        labels: { ...input.tags, [STORAGE_TAGS.importOf]: input.name },
      }),
    );
    return name;
  }

  async describeVolume(ref: VolumeRef): Promise<ProviderVolume | undefined> {
    const clusterId = this.clusterOf(ref);
    const profile = this.profile(clusterId);
    return this.unlessGone(async () =>
      volumeOf(
        await this.call(() => this.clusters.clientFor(clusterId).getVolume(ref.volumeId, profile.namespace)),
        clusterId,
      ),
    );
  }

  async deleteVolume(ref: VolumeRef): Promise<void> {
    const clusterId = this.clusterOf(ref);
    const profile = this.profile(clusterId);
    await this.call(() => this.clusters.clientFor(clusterId).deleteVolume(ref.volumeId, profile.namespace));
  }

  /** The claim is the volume: it can only be mounted in its own cluster. */
  attachVolume(ref: VolumeRef, target: AttachTarget): Promise<{ claimName: string }> {
    if (this.clusterOf(ref) !== target.clusterId) {
      return Promise.reject(
        new StorageProviderError(
          'invalid',
          this.name,
          `volume ${ref.volumeId} lives in another cluster; restore a snapshot to move it`,
        ),
      );
    }
    return Promise.resolve({ claimName: ref.volumeId });
  }

  detachVolume(): Promise<void> {
    return Promise.resolve();
  }

  async tagVolume(ref: VolumeRef, tags: Record<string, string>): Promise<void> {
    const clusterId = this.clusterOf(ref);
    const profile = this.profile(clusterId);
    await this.call(() =>
      this.clusters.clientFor(clusterId).labelVolume(ref.volumeId, tags, profile.namespace),
    );
  }

  async createSnapshot(input: CreateSnapshotInput): Promise<ProviderSnapshot> {
    const clusterId = this.clusterOf(input.volume);
    const profile = this.profile(clusterId);
    const snapshot = await this.call(() =>
      this.clusters.clientFor(clusterId).createSnapshot({
        name: input.name,
        namespace: profile.namespace,
        volume: input.volume.volumeId,
        ...(profile.volume_snapshot_class ? { snapshot_class: profile.volume_snapshot_class } : {}),
        labels: input.tags,
      }),
    );
    return snapshotOf(snapshot, clusterId);
  }

  async describeSnapshot(ref: SnapshotRef): Promise<ProviderSnapshot | undefined> {
    const clusterId = this.clusterOf(ref);
    const profile = this.profile(clusterId);
    return this.unlessGone(async () =>
      snapshotOf(
        await this.call(() =>
          this.clusters.clientFor(clusterId).getSnapshot(ref.snapshotId, profile.namespace),
        ),
        clusterId,
      ),
    );
  }

  async deleteSnapshot(ref: SnapshotRef): Promise<void> {
    const clusterId = this.clusterOf(ref);
    const profile = this.profile(clusterId);
    await this.call(() =>
      this.clusters.clientFor(clusterId).deleteSnapshot(ref.snapshotId, profile.namespace),
    );
  }

  async tagSnapshot(ref: SnapshotRef, tags: Record<string, string>): Promise<void> {
    const clusterId = this.clusterOf(ref);
    const profile = this.profile(clusterId);
    await this.call(() =>
      this.clusters.clientFor(clusterId).labelSnapshot(ref.snapshotId, tags, profile.namespace),
    );
  }

  async waitForSnapshot(
    ref: SnapshotRef,
    options: { timeoutMs: number; intervalMs?: number },
  ): Promise<ProviderSnapshot> {
    const deadline = Date.now() + options.timeoutMs;
    for (;;) {
      const snapshot = await this.describeSnapshot(ref);
      if (!snapshot) {
        throw new StorageProviderError('not_found', this.name, `snapshot ${ref.snapshotId} is gone`);
      }
      if (snapshot.state !== 'pending' || Date.now() >= deadline) {
        return snapshot;
      }
      await this.sleep(Math.min(options.intervalMs ?? 1000, Math.max(0, deadline - Date.now())));
    }
  }

  async listVolumes(scope: ListScope): Promise<ProviderVolume[]> {
    const clusterId = this.scopeCluster(scope);
    const profile = this.profile(clusterId);
    const volumes = await this.call(() => this.clusters.clientFor(clusterId).listVolumes(profile.namespace));
    return volumes.map((volume) => volumeOf(volume, clusterId)).filter((v) => hasTags(v.tags, scope.tags));
  }

  async listSnapshots(scope: ListScope): Promise<ProviderSnapshot[]> {
    const clusterId = this.scopeCluster(scope);
    const profile = this.profile(clusterId);
    const snapshots = await this.call(() =>
      this.clusters.clientFor(clusterId).listSnapshots(profile.namespace),
    );
    return snapshots
      .map((snapshot) => snapshotOf(snapshot, clusterId))
      .filter((s) => hasTags(s.tags, scope.tags));
  }

  /** Its own cluster, or one that shares its storage domain (once the snapshot has a backend handle). */
  restorableIn(snapshot: ProviderSnapshot, clusterId: string): boolean {
    if (snapshot.clusterId === clusterId) {
      return true;
    }
    const domain = snapshot.clusterId
      ? this.clusters.profileOf(snapshot.clusterId)?.storage_domain
      : undefined;
    return (
      snapshot.portable !== undefined &&
      domain !== undefined &&
      this.clusters.profileOf(clusterId)?.storage_domain === domain
    );
  }

  private clusterOf(ref: VolumeRef | SnapshotRef): string {
    if (!ref.clusterId) {
      throw new StorageProviderError('invalid', this.name, 'a k8s-csi volume or snapshot names its cluster');
    }
    return ref.clusterId;
  }

  private scopeCluster(scope: ListScope): string {
    if (!scope.clusterId) {
      throw new StorageProviderError('invalid', this.name, 'k8s-csi lists one cluster at a time');
    }
    return scope.clusterId;
  }

  private profile(clusterId: string): ClusterProfile {
    const profile = this.clusters.profileOf(clusterId);
    if (!profile) {
      throw new StorageProviderError('not_found', this.name, `cluster ${clusterId} is not registered`);
    }
    return profile;
  }

  private async unlessGone<T>(read: () => Promise<T>): Promise<T | undefined> {
    try {
      return await read();
    } catch (error) {
      if (error instanceof StorageProviderError && error.kind === 'not_found') {
        return undefined;
      }
      throw error;
    }
  }

  /** A deployer call, its failure in the provider's terms. */
  private async call<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      if (error instanceof DeployerError) {
        // Its 409 on a volume or snapshot: a pod still mounts it, or it is busy: later.
        throw new StorageProviderError(deployerFailureKind(error, 'in_use'), this.name, error.message, {
          cause: error,
          details: { cluster_id: error.clusterId },
        });
      }
      throw error;
    }
  }
}

function hasTags(tags: Record<string, string>, wanted: Record<string, string> | undefined): boolean {
  return Object.entries(wanted ?? {}).every(([key, value]) => tags[key] === value);
}

function gb(quantity: string | undefined): number {
  return quantity ? Math.ceil(parseQuantity(quantity) / GIB) : 0;
}

function volumeOf(volume: VolumeInfo, clusterId: string): ProviderVolume {
  return {
    volumeId: volume.name,
    clusterId,
    sizeGb: gb(volume.capacity ?? volume.requested_size),
    // Not bound yet is `creating` even with a (Pending) pod naming it: nothing can have written to it.
    state:
      volume.phase === 'Lost'
        ? 'error'
        : volume.phase !== 'Bound'
          ? 'creating'
          : volume.used_by.length > 0
            ? 'in-use'
            : 'available',
    tags: volume.labels,
    ...(volume.created_at ? { createdAt: new Date(volume.created_at) } : {}),
  };
}

function snapshotOf(snapshot: SnapshotInfo, clusterId: string): ProviderSnapshot {
  return {
    snapshotId: snapshot.name,
    clusterId,
    volumeId: snapshot.volume,
    state: snapshot.ready_to_use ? 'ready' : snapshot.error ? 'failed' : 'pending',
    ...(snapshot.restore_size ? { sizeGb: gb(snapshot.restore_size) } : {}),
    ...(snapshot.created_at ? { createdAt: new Date(snapshot.created_at) } : {}),
    ...(snapshot.error ? { error: snapshot.error } : {}),
    ...(snapshot.snapshot_handle && snapshot.driver
      ? { portable: { handle: snapshot.snapshot_handle, driver: snapshot.driver } }
      : {}),
    tags: snapshot.labels,
  };
}

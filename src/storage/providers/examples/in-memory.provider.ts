/**
 * The smallest complete storage provider: volumes and snapshots in maps. It is the worked example
 * of docs/storage-providers.md and passes the provider contract (in-memory.provider.spec.ts), so
 * it shows what a provider must do; a real one keeps its objects in a backend that pods can mount
 * and that outlives the process. Not selectable by ODC_STORAGE_PROVIDER.
 */
import { randomUUID } from 'node:crypto';
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
} from '../storage-provider';
import { StorageProviderError } from '../storage-provider.errors';

export class InMemoryStorageProvider implements StorageProvider<'in-memory'> {
  readonly name = 'in-memory' as const;
  readonly eventuallyConsistent = false;
  private readonly volumes = new Map<string, ProviderVolume>();
  private readonly snapshots = new Map<string, ProviderSnapshot>();
  /** Claims attached per volume: a volume a pod may still mount is not deleted. */
  private readonly claims = new Map<string, Set<string>>();

  constructor(private readonly now: () => Date = () => new Date()) {}

  /** The name is the idempotency key: a retry finds the volume it made before. */
  createVolume(input: CreateVolumeInput): Promise<ProviderVolume> {
    const existing = this.volumes.get(input.name);
    if (existing) {
      return Promise.resolve(existing);
    }
    if (input.fromSnapshot && !this.snapshots.has(input.fromSnapshot.snapshotId)) {
      return Promise.reject(this.notFound(`snapshot ${input.fromSnapshot.snapshotId}`));
    }
    const volume: ProviderVolume = {
      volumeId: input.name,
      ...(input.zone ? { zone: input.zone } : {}),
      sizeGb: input.sizeGb,
      state: 'available',
      tags: { ...input.tags },
      createdAt: this.now(),
    };
    this.volumes.set(volume.volumeId, volume);
    return Promise.resolve(volume);
  }

  describeVolume(ref: VolumeRef): Promise<ProviderVolume | undefined> {
    return Promise.resolve(this.volumes.get(ref.volumeId));
  }

  deleteVolume(ref: VolumeRef): Promise<void> {
    if (this.claims.get(ref.volumeId)?.size) {
      return Promise.reject(
        new StorageProviderError('in_use', this.name, `volume ${ref.volumeId} is attached; detach it first`),
      );
    }
    this.volumes.delete(ref.volumeId);
    this.claims.delete(ref.volumeId);
    return Promise.resolve();
  }

  attachVolume(ref: VolumeRef, target: AttachTarget): Promise<{ claimName: string }> {
    const volume = this.volumes.get(ref.volumeId);
    if (!volume) {
      return Promise.reject(this.notFound(`volume ${ref.volumeId}`));
    }
    if (target.zone && volume.zone && target.zone !== volume.zone) {
      return Promise.reject(
        new StorageProviderError('invalid', this.name, `volume ${ref.volumeId} lives in zone ${volume.zone}`),
      );
    }
    const claims = this.claims.get(ref.volumeId) ?? new Set<string>();
    this.claims.set(ref.volumeId, claims.add(`${target.clusterId}/${target.claimName}`));
    return Promise.resolve({ claimName: target.claimName });
  }

  detachVolume(ref: VolumeRef, target: AttachTarget): Promise<void> {
    this.claims.get(ref.volumeId)?.delete(`${target.clusterId}/${target.claimName}`);
    return Promise.resolve();
  }

  tagVolume(ref: VolumeRef, tags: Record<string, string>): Promise<void> {
    const volume = this.volumes.get(ref.volumeId);
    if (!volume) {
      return Promise.reject(this.notFound(`volume ${ref.volumeId}`));
    }
    this.volumes.set(volume.volumeId, { ...volume, tags: { ...volume.tags, ...tags } });
    return Promise.resolve();
  }

  /** Ids are the backend's own here (as EBS's are), so a retry looks the snapshot up by its name tag. */
  createSnapshot(input: CreateSnapshotInput): Promise<ProviderSnapshot> {
    const existing = [...this.snapshots.values()].find(
      (snapshot) => snapshot.tags[STORAGE_TAGS.snapshotName] === input.name,
    );
    if (existing) {
      return Promise.resolve(existing);
    }
    const volume = this.volumes.get(input.volume.volumeId);
    if (!volume) {
      return Promise.reject(this.notFound(`volume ${input.volume.volumeId}`));
    }
    const snapshot: ProviderSnapshot = {
      snapshotId: `snap-${randomUUID()}`,
      volumeId: volume.volumeId,
      state: 'ready',
      sizeGb: volume.sizeGb,
      createdAt: this.now(),
      tags: { ...input.tags, [STORAGE_TAGS.snapshotName]: input.name },
    };
    this.snapshots.set(snapshot.snapshotId, snapshot);
    return Promise.resolve(snapshot);
  }

  describeSnapshot(ref: SnapshotRef): Promise<ProviderSnapshot | undefined> {
    return Promise.resolve(this.snapshots.get(ref.snapshotId));
  }

  deleteSnapshot(ref: SnapshotRef): Promise<void> {
    this.snapshots.delete(ref.snapshotId);
    return Promise.resolve();
  }

  tagSnapshot(ref: SnapshotRef, tags: Record<string, string>): Promise<void> {
    const snapshot = this.snapshots.get(ref.snapshotId);
    if (!snapshot) {
      return Promise.reject(this.notFound(`snapshot ${ref.snapshotId}`));
    }
    this.snapshots.set(snapshot.snapshotId, { ...snapshot, tags: { ...snapshot.tags, ...tags } });
    return Promise.resolve();
  }

  /** Snapshots here are ready the moment they are made, so there is nothing to poll for. */
  async waitForSnapshot(ref: SnapshotRef): Promise<ProviderSnapshot> {
    const snapshot = await this.describeSnapshot(ref);
    if (!snapshot) {
      throw this.notFound(`snapshot ${ref.snapshotId}`);
    }
    return snapshot;
  }

  listVolumes(scope: ListScope): Promise<ProviderVolume[]> {
    return Promise.resolve([...this.volumes.values()].filter((v) => hasTags(v.tags, scope.tags)));
  }

  listSnapshots(scope: ListScope): Promise<ProviderSnapshot[]> {
    return Promise.resolve([...this.snapshots.values()].filter((s) => hasTags(s.tags, scope.tags)));
  }

  /** One process, one store: every snapshot restores anywhere. */
  restorableIn(): boolean {
    return true;
  }

  private notFound(what: string): StorageProviderError {
    return new StorageProviderError('not_found', this.name, `${what} not found`);
  }
}

function hasTags(tags: Record<string, string>, wanted: Record<string, string> = {}): boolean {
  return Object.entries(wanted).every(([key, value]) => tags[key] === value);
}

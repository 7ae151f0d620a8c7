/**
 * What every storage provider must do, through the port only (src/storage/providers/storage-provider.ts):
 * the promises its documentation makes and the storage jobs rely on. Each provider that can run
 * here runs it against its backend or a stand-in: k8s-csi on a simulated cluster
 * (test/storage/k8s-csi-contract.spec.ts), aws-ebs on moto (test/peers/aws-ebs-contract.peer-spec.ts),
 * the docs' example in memory (src/storage/providers/examples/in-memory.provider.spec.ts).
 *
 * The cases tell one story in order, as the jobs use a disk: create, describe, tag, list, attach and
 * detach, snapshot, restore, delete; then what is gone.
 */
import { randomBytes } from 'node:crypto';
import {
  STORAGE_TAGS,
  type CreateVolumeInput,
  type ProviderSnapshot,
  type ProviderVolume,
  type SnapshotState,
  type StorageProvider,
  type VolumeState,
} from '../../src/storage/providers/storage-provider';
import { StorageProviderError } from '../../src/storage/providers/storage-provider.errors';
import { eventually } from '../support/eventually';

/** A provider and where its volumes go. */
export interface ProviderUnderContract {
  provider: StorageProvider<string>;
  /** The cluster volumes are made for and attached in. */
  clusterId: string;
  /** A zone of that cluster, for providers whose volumes live in one. */
  zone?: string;
  close?(): Promise<void>;
}

/**
 * Promises a stand-in for the backend cannot keep, though the provider does (moto ignores EC2's
 * ClientToken, say); the provider's own unit specs must then cover them.
 */
export type ContractGap = 'volume-retry';

export interface ContractOptions {
  /** Each gap with the reason, which the skipped case's title shows. */
  gaps?: Partial<Record<ContractGap, string>>;
  /** How long a volume may take to become available, a snapshot ready, a deletion to show. */
  settleMs?: number;
}

const VOLUME_STATES: readonly VolumeState[] = ['creating', 'available', 'in-use', 'deleting', 'error'];
const SNAPSHOT_STATES: readonly SnapshotState[] = ['pending', 'ready', 'failed'];

/** The rejection of a call, which must be a StorageProviderError. */
async function failureOf(call: Promise<unknown>): Promise<StorageProviderError> {
  const error = await call.then(
    () => undefined,
    (rejection: unknown) => rejection,
  );
  expect(error).toBeInstanceOf(StorageProviderError);
  return error as StorageProviderError;
}

export function describeStorageProviderContract(
  name: string,
  makeProvider: () => Promise<ProviderUnderContract>,
  options: ContractOptions = {},
): void {
  const settleMs = options.settleMs ?? 10_000;
  const unlessGap = (gap: ContractGap, title: string, test: () => Promise<void>) => {
    const reason = options.gaps?.[gap];
    return reason ? it.skip(`${title} (not here: ${reason})`, test) : it(title, test);
  };

  describe(`the storage provider contract: ${name}`, () => {
    // Names and tags of this run's own, so a backend shared with others lists only what this made.
    const run = randomBytes(3).toString('hex');
    const named = (what: string) => `contract-${run}-${what}`;
    const tags = { [STORAGE_TAGS.disk]: named('disk'), [STORAGE_TAGS.owner]: 'contract' };
    const mark = { 'odc.dev/contract-mark': 'tagged' };

    let target: ProviderUnderContract;
    let provider: StorageProvider<string>;
    let volume: ProviderVolume;
    let snapshot: ProviderSnapshot;
    let restored: ProviderVolume;

    beforeAll(async () => {
      target = await makeProvider();
      provider = target.provider;
    });

    afterAll(async () => {
      await target?.close?.();
    });

    const volumeInput = (volumeName: string, extra: Partial<CreateVolumeInput> = {}): CreateVolumeInput => ({
      name: volumeName,
      sizeGb: 1,
      clusterId: target.clusterId,
      ...(target.zone ? { zone: target.zone } : {}),
      tags,
      ...extra,
    });
    const snapshotInput = () => ({ name: named('s1'), volume, description: 'contract', tags });
    /**
     * Reads back what was just written: a provider whose reads may lag (`eventuallyConsistent`) is
     * given time, the others must show it at once.
     */
    const readBack = <T>(read: () => Promise<T>, shows: (value: T) => boolean): Promise<T> =>
      provider.eventuallyConsistent ? eventually(read, shows, settleMs) : read();
    /** Backends change state on their own time (a volume binding, a deletion finishing): wait for it. */
    const until = <T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> =>
      eventually(read, done, settleMs);
    const withTags =
      (wanted: Record<string, string>) => (found: { tags: Record<string, string> } | undefined) =>
        Object.entries(wanted).every(([key, value]) => found?.tags[key] === value);

    it('creates a volume of the size asked, for the cluster (and zone) asked, and describes it with its tags', async () => {
      volume = await provider.createVolume(volumeInput(named('v1')));
      expect(volume).toMatchObject({ volumeId: expect.any(String), sizeGb: 1 });
      expect(volume.volumeId).not.toBe('');
      expect(VOLUME_STATES).toContain(volume.state);
      if (target.zone) {
        expect(volume.zone).toBe(target.zone);
      }
      const described = await readBack(() => provider.describeVolume(volume), withTags(tags));
      expect(described).toMatchObject({ volumeId: volume.volumeId, sizeGb: 1, tags });
      expect(VOLUME_STATES).toContain(described!.state);
    });

    it('becomes available', async () => {
      const ready = await until(
        () => provider.describeVolume(volume),
        (found) => found?.state === 'available',
      );
      expect(ready).toMatchObject({ volumeId: volume.volumeId, state: 'available' });
    });

    it('adds tags with tagVolume, keeping the ones it had', async () => {
      await provider.tagVolume(volume, mark);
      const described = await readBack(() => provider.describeVolume(volume), withTags(mark));
      expect(described?.tags).toMatchObject({ ...tags, ...mark });
    });

    it('lists the volume by its tags, and nothing under a tag value it lacks', async () => {
      const scope = { clusterId: target.clusterId, tags };
      const listed = await readBack(
        () => provider.listVolumes(scope),
        (volumes) => volumes.length > 0,
      );
      expect(listed.map((v) => v.volumeId)).toEqual([volume.volumeId]);
      const elsewhere = {
        clusterId: target.clusterId,
        tags: { ...tags, [STORAGE_TAGS.disk]: named('none') },
      };
      expect(await provider.listVolumes(elsewhere)).toEqual([]);
    });

    it('attaches it as a claim of the target cluster (the same again), and detaches it (again) keeping the volume', async () => {
      const attachTo = {
        clusterId: target.clusterId,
        claimName: named('claim'),
        ...(target.zone ? { zone: target.zone } : {}),
      };
      const attached = await provider.attachVolume(volume, attachTo);
      expect(attached.claimName).toEqual(expect.any(String));
      expect(attached.claimName).not.toBe('');
      expect(await provider.attachVolume(volume, attachTo)).toEqual(attached);

      await provider.detachVolume(volume, attachTo);
      await provider.detachVolume(volume, attachTo);
      expect(await provider.describeVolume(volume)).toMatchObject({ volumeId: volume.volumeId, tags });
    });

    it('snapshots it, answering the same snapshot for the same name, and waits until it is ready', async () => {
      const made = await provider.createSnapshot(snapshotInput());
      expect(made).toMatchObject({ snapshotId: expect.any(String), volumeId: volume.volumeId });
      expect(SNAPSHOT_STATES).toContain(made.state);
      expect((await provider.createSnapshot(snapshotInput())).snapshotId).toBe(made.snapshotId);

      snapshot = await provider.waitForSnapshot(made, { timeoutMs: settleMs, intervalMs: 50 });
      expect(snapshot).toMatchObject({
        snapshotId: made.snapshotId,
        volumeId: volume.volumeId,
        state: 'ready',
      });
      expect(snapshot.tags).toMatchObject(tags);
    });

    it('describes the snapshot, lists it by its tags, and adds tags with tagSnapshot', async () => {
      expect(await provider.describeSnapshot(snapshot)).toMatchObject({
        snapshotId: snapshot.snapshotId,
        volumeId: volume.volumeId,
        state: 'ready',
      });
      const listed = await readBack(
        () => provider.listSnapshots({ clusterId: target.clusterId, tags }),
        (snapshots) => snapshots.length > 0,
      );
      expect(listed.map((s) => s.snapshotId)).toEqual([snapshot.snapshotId]);

      await provider.tagSnapshot(snapshot, mark);
      const described = await readBack(() => provider.describeSnapshot(snapshot), withTags(mark));
      expect(described?.tags).toMatchObject({ ...tags, ...mark });
    });

    it('restores the ready snapshot into a new volume in the cluster its volume was made for', async () => {
      expect(provider.restorableIn(snapshot, target.clusterId)).toBe(true);
      restored = await provider.createVolume(volumeInput(named('v2'), { fromSnapshot: snapshot }));
      expect(restored).toMatchObject({ volumeId: expect.any(String), sizeGb: 1 });
      expect(restored.volumeId).not.toBe(volume.volumeId);
      const ready = await until(
        () => provider.describeVolume(restored),
        (found) => found?.state === 'available',
      );
      expect(ready?.tags).toMatchObject(tags);
    });

    unlessGap(
      'volume-retry',
      'answers the same volume when createVolume is retried with its name, empty or from a snapshot',
      async () => {
        expect((await provider.createVolume(volumeInput(named('v1')))).volumeId).toBe(volume.volumeId);
        const again = await provider.createVolume(volumeInput(named('v2'), { fromSnapshot: snapshot }));
        expect(again.volumeId).toBe(restored.volumeId);
      },
    );

    it('deletes volumes and snapshots: describe then answers nothing, and deleting again succeeds', async () => {
      for (const made of [restored, volume]) {
        await provider.deleteVolume(made);
        await until(
          () => provider.describeVolume(made),
          (found) => found === undefined,
        );
        await provider.deleteVolume(made);
      }
      await provider.deleteSnapshot(snapshot);
      await until(
        () => provider.describeSnapshot(snapshot),
        (found) => found === undefined,
      );
      await provider.deleteSnapshot(snapshot);
      const scope = { clusterId: target.clusterId, tags };
      await until(
        () => provider.listVolumes(scope),
        (volumes) => volumes.length === 0,
      );
      await until(
        () => provider.listSnapshots(scope),
        (snapshots) => snapshots.length === 0,
      );
    });

    it('fails with not_found, a StorageProviderError of its own, for what is gone', async () => {
      const waited = await failureOf(
        provider.waitForSnapshot(snapshot, { timeoutMs: settleMs, intervalMs: 50 }),
      );
      expect(waited).toMatchObject({ kind: 'not_found', provider: provider.name, retryable: false });
      expect((await failureOf(provider.tagVolume(volume, mark))).kind).toBe('not_found');
      expect((await failureOf(provider.tagSnapshot(snapshot, mark))).kind).toBe('not_found');
      const ofNothing = await failureOf(provider.createSnapshot({ ...snapshotInput(), name: named('s2') }));
      expect(ofNothing.kind).toBe('not_found');
    });
  });
}

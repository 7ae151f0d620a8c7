import { DataSource } from 'typeorm';
import { NAMESPACE, type DeployerUnderTest } from '../deployer/fixtures';
import type { TestApp } from '../support/app';
import { eventually } from '../support/eventually';
import { startDiskSite, type DiskSite } from './fixtures';

interface SnapshotShown {
  id: string;
  status: string;
  error?: string;
}

/**
 * An end-of-use snapshot that never gets ready must not hold the disk forever: on a cluster whose
 * snapshots take a minute, one deleted behind ODC's back fails at once, one that is merely slow
 * fails at ODC_DISK_SNAPSHOT_TIMEOUT_SECONDS (4 s here); either way the disk is released, its
 * volume (with the data) kept, and it counts as written since its last snapshot.
 */
describe('end-of-use snapshots that fail still release the disk', () => {
  let site: DiskSite;
  let deployer: DeployerUnderTest;
  let app: TestApp;
  let alice: string;

  beforeAll(async () => {
    site = await startDiskSite({
      timings: { snapshotReadyMs: 60_000 },
      env: { ODC_DISK_SNAPSHOT_TIMEOUT_SECONDS: '4' },
    });
    ({ deployer, app, alice } = site);
  });

  afterAll(() => site.close());

  const api = () => app.http();
  const snapshots = async (name: string): Promise<SnapshotShown[]> =>
    (await api().get(`/api/v1/disks/${name}/snapshots`).set('authorization', `Bearer ${alice}`).expect(200))
      .body.items as SnapshotShown[];
  const diskStatus = async (name: string) =>
    (
      (await api().get(`/api/v1/disks/${name}`).set('authorization', `Bearer ${alice}`).expect(200)).body as {
        status: string;
      }
    ).status;

  /** A disk used by a reservation that ran, then cancelled: its end-of-use snapshot is under way. */
  async function endedWithSnapshotPending(name: string): Promise<string> {
    await api().post('/api/v1/disks').set('authorization', `Bearer ${alice}`).send({ name }).expect(201);
    const id = await site.useAndCancel(name);
    await eventually(
      () => snapshots(name),
      (list) => list.length === 1 && list[0]!.status === 'pending',
      20_000,
    );
    expect(await diskStatus(name)).toBe('releasing');
    return id;
  }

  const usedSinceSnapshot = async (name: string) =>
    (
      await app
        .core()
        .get(DataSource)
        .query<{ used: boolean }[]>(`SELECT used_since_snapshot AS used FROM disks WHERE name = $1`, [name])
    )[0]!.used;

  it('a snapshot deleted while pending fails at once, and the disk is released', async () => {
    await endedWithSnapshotPending('vanishing');
    const cut = await eventually(
      async () =>
        (await deployer.k.objects.list('snapshot.storage.k8s.io/v1', 'VolumeSnapshot', NAMESPACE)).items,
      (items) => items.length === 1,
    );
    await deployer.k.objects.delete({
      apiVersion: 'snapshot.storage.k8s.io/v1',
      kind: 'VolumeSnapshot',
      metadata: { name: cut[0]!.metadata!.name!, namespace: NAMESPACE },
    });
    const [failed] = await eventually(
      () => snapshots('vanishing'),
      (list) => list[0]!.status === 'failed',
      10_000,
    );
    expect(failed!.error).toMatch(/gone|not found/);
    await eventually(
      () => diskStatus('vanishing'),
      (status) => status === 'free',
      10_000,
    );
    expect(await usedSinceSnapshot('vanishing')).toBe(true);
  });

  it('a snapshot slower than the timeout fails then, and the disk is released with its volume', async () => {
    const started = Date.now();
    const reservationId = await endedWithSnapshotPending('slow');
    const [failed] = await eventually(
      () => snapshots('slow'),
      (list) => list[0]!.status === 'failed',
      15_000,
    );
    expect(failed!.error).toBe('not ready after 4 s');
    expect(Date.now() - started).toBeGreaterThanOrEqual(4_000);
    await eventually(
      () => diskStatus('slow'),
      (status) => status === 'free',
      10_000,
    );
    expect(await usedSinceSnapshot('slow')).toBe(true);
    const timeline = (
      await api().get(`/api/v1/reservations/${reservationId}`).set('authorization', `Bearer ${alice}`)
    ).body.events.map((e: { message: string }) => e.message);
    expect(timeline).toContainEqual(
      expect.stringMatching(
        /^Disk slow released; its snapshot .* failed \(not ready after 4 s\), the volume keeps the data$/,
      ),
    );
    const claims = await deployer.k.core.listNamespacedPersistentVolumeClaim({ namespace: NAMESPACE });
    expect(claims.items.map((c) => c.metadata!.labels!['odc.dev/disk'])).toHaveLength(2);
  });
});

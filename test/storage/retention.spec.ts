import { DataSource } from 'typeorm';
import { StorageTask } from '../../src/storage/lifecycle/storage.task';
import { NAMESPACE, type DeployerUnderTest } from '../deployer/fixtures';
import type { TestApp } from '../support/app';
import { eventually } from '../support/eventually';
import { startDiskSite, type DiskSite } from './fixtures';

const DAY = 24 * 3600_000;

interface SnapshotShown {
  id: string;
  status: string;
  created_at: string;
}

/**
 * Retention and purge on a simulated cluster: per disk the newest ODC_SNAPSHOT_KEEP (2 here) ready
 * snapshots stay whatever their age, older ones go once past ODC_SNAPSHOT_MAX_AGE_DAYS (the round
 * is called with a clock 8 days on); a soft-deleted disk is purged (snapshots, then volume) once its
 * grace is over (0 days here).
 */
describe('snapshot retention and the purge of deleted disks', () => {
  let site: DiskSite;
  let deployer: DeployerUnderTest;
  let app: TestApp;
  let alice: string;

  beforeAll(async () => {
    site = await startDiskSite({
      env: {
        ODC_STORAGE_INTERVAL_SECONDS: '3600',
        ODC_SNAPSHOT_KEEP: '2',
        ODC_SNAPSHOT_MAX_AGE_DAYS: '7',
        ODC_DISK_DELETE_GRACE_DAYS: '0',
      },
    });
    ({ deployer, app, alice } = site);
  });

  afterAll(() => site.close());

  const api = () => app.http();
  const storage = () => app.core().get(StorageTask, { strict: false });
  const snapshots = async (name: string): Promise<SnapshotShown[]> =>
    (await api().get(`/api/v1/disks/${name}/snapshots`).set('authorization', `Bearer ${alice}`).expect(200))
      .body.items as SnapshotShown[];
  const onCluster = async () =>
    (await deployer.k.objects.list('snapshot.storage.k8s.io/v1', 'VolumeSnapshot', NAMESPACE)).items.map(
      (s) => s.metadata!.name!,
    );
  const claims = async () =>
    (await deployer.k.core.listNamespacedPersistentVolumeClaim({ namespace: NAMESPACE })).items;

  /** A disk with a volume: used once by a reservation, then free again (one expiry snapshot, unless no_persist). */
  async function usedDisk(
    name: string,
    options: { create?: boolean; noPersist?: boolean } = {},
  ): Promise<void> {
    if (options.create ?? true) {
      await api().post('/api/v1/disks').set('authorization', `Bearer ${alice}`).send({ name }).expect(201);
    }
    await site.useAndCancel(name, options.noPersist ? { no_persist: true } : {});
    await eventually(
      async () => (await api().get(`/api/v1/disks/${name}`).set('authorization', `Bearer ${alice}`)).body,
      (d: { status: string }) => d.status === 'free',
      20_000,
    );
  }

  it('keeps the newest two, deletes older ones past the age, on the cluster too', async () => {
    await usedDisk('kept');
    for (let i = 0; i < 3; i += 1) {
      await api().post('/api/v1/disks/kept/snapshots').set('authorization', `Bearer ${alice}`).expect(202);
    }
    const all = await eventually(
      () => snapshots('kept'),
      (list) => list.length === 4 && list.every((s) => s.status === 'ready'),
      20_000,
    );
    expect(await onCluster()).toHaveLength(4);

    // Not old enough yet: nothing goes.
    expect((await storage().round(new Date())).expiredSnapshots).toBe(0);
    const round = await storage().round(new Date(Date.now() + 8 * DAY));
    expect(round.expiredSnapshots).toBe(2);
    const newestFirst = [...all].sort((a, b) => Date.parse(b.created_at) - Date.parse(a.created_at));
    const after = await eventually(
      () => snapshots('kept'),
      (list) => list.filter((s) => s.status === 'deleted').length === 2,
      20_000,
    );
    const live = after.filter((s) => s.status === 'ready').map((s) => s.id);
    expect(live.sort()).toEqual(
      newestFirst
        .slice(0, 2)
        .map((s) => s.id)
        .sort(),
    );
    await eventually(onCluster, (names) => names.length === 2, 20_000);
  });

  it('purges a soft-deleted disk after its grace: its snapshots and its volume', async () => {
    await usedDisk('doomed');
    const diskId = (await api().get('/api/v1/disks/doomed').set('authorization', `Bearer ${alice}`)).body
      .id as string;
    const volumeOf = async () =>
      (await claims()).filter((claim) => claim.metadata!.labels!['odc.dev/disk'] === diskId);
    expect(await volumeOf()).toHaveLength(1);
    const deleted = await api()
      .delete('/api/v1/disks/doomed')
      .set('authorization', `Bearer ${alice}`)
      .expect(200);
    expect(deleted.body.status).toBe('deleted');
    // Deleted, but not purged until the cron says its grace is over.
    expect(await volumeOf()).toHaveLength(1);

    expect((await storage().round(new Date())).purges).toBe(1);
    const db = app.core().get(DataSource);
    await eventually(
      // Purged first (no undelete can win), then its snapshots and volume go, then the volume is forgotten.
      () =>
        db.query<{ status: string; volume_id: string | null }[]>(
          `SELECT status, volume_id FROM disks WHERE id = $1`,
          [diskId],
        ),
      ([row]) => row!.status === 'purged' && row!.volume_id === null,
      20_000,
    );
    expect(await volumeOf()).toEqual([]);
    const rows = await db.query<{ status: string }[]>(`SELECT status FROM snapshots WHERE disk_id = $1`, [
      diskId,
    ]);
    expect(rows.map((row) => row.status)).toEqual(['deleted']);
    const listed = (await api().get('/api/v1/disks?deleted=true').set('authorization', `Bearer ${alice}`))
      .body.items as {
      name: string;
      status: string;
    }[];
    expect(listed).toContainEqual(expect.objectContaining({ name: 'doomed', status: 'purged' }));
  });

  it('restoring in place keeps what was written since as a snapshot before the volume goes', async () => {
    await usedDisk('rewind');
    const [first] = await snapshots('rewind');
    // Used again without a snapshot at the end: the disk now holds writes no snapshot has.
    await usedDisk('rewind', { create: false, noPersist: true });
    const diskId = (await api().get('/api/v1/disks/rewind').set('authorization', `Bearer ${alice}`)).body
      .id as string;
    const [oldClaim] = (await claims()).filter((c) => c.metadata!.labels!['odc.dev/disk'] === diskId);
    await api()
      .post('/api/v1/disks/rewind/restore')
      .set('authorization', `Bearer ${alice}`)
      .send({ snapshot_id: first!.id })
      .expect(200);
    const after = await eventually(
      () => snapshots('rewind'),
      (list) => list.some((s) => s.status === 'ready' && (s as { reason?: string }).reason === 'pre-restore'),
      20_000,
    );
    expect(after).toHaveLength(2);
    // Only then is the old volume deleted.
    await eventually(
      claims,
      (list) => !list.some((c) => c.metadata!.name === oldClaim!.metadata!.name),
      20_000,
    );
  });

  it('a purged disk’s snapshot kept for another disk’s restore goes once that restore is done', async () => {
    await usedDisk('source');
    const [kept] = await snapshots('source');
    await api()
      .post('/api/v1/disks/source/restore')
      .set('authorization', `Bearer ${alice}`)
      .send({ snapshot_id: kept!.id, new_name: 'offspring' })
      .expect(200);
    await api().delete('/api/v1/disks/source').set('authorization', `Bearer ${alice}`).expect(200);
    const db = app.core().get(DataSource);
    await storage().round(new Date());
    const statusOf = async () =>
      (await db.query<{ status: string }[]>(`SELECT status FROM snapshots WHERE id = $1`, [kept!.id]))[0]!
        .status;
    await eventually(
      () => db.query<{ status: string }[]>(`SELECT status FROM disks WHERE name = 'source'`),
      ([row]) => row!.status === 'purged',
      20_000,
    );
    expect(await statusOf()).toBe('ready'); // offspring still needs it
    await usedDisk('offspring', { create: false }); // its volume is made from it
    expect((await storage().round(new Date())).expiredSnapshots).toBeGreaterThanOrEqual(1);
    await eventually(statusOf, (status) => status === 'deleted', 20_000);
  });
});

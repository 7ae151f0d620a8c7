import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { ReconcilerTask, SETTLE_MS } from '../../src/storage/lifecycle/reconciler.task';
import { NAMESPACE, type DeployerUnderTest } from '../deployer/fixtures';
import type { TestApp } from '../support/app';
import { eventually } from '../support/eventually';
import { startDiskSite, type DiskSite } from './fixtures';

/**
 * The reconciler against a simulated cluster: a claim and a snapshot ODC made but no disk records
 * (what a crash between making and recording could leave) are quarantined — labelled and reported —
 * and a disk whose claim vanished becomes `lost`; nothing is deleted, young objects are left for a
 * later round, and a lost disk comes back from its snapshot.
 */
describe('storage reconciler: quarantine orphans, mark the lost, delete nothing', () => {
  let site: DiskSite;
  let deployer: DeployerUnderTest;
  let app: TestApp;
  let alice: string;

  beforeAll(async () => {
    site = await startDiskSite({ env: { ODC_STORAGE_RECONCILE_INTERVAL_SECONDS: '3600' } });
    ({ deployer, app, alice } = site);
  });

  afterAll(() => site.close());

  const api = () => app.http();
  const reconciler = () => app.core().get(ReconcilerTask, { strict: false });
  const later = () => new Date(Date.now() + SETTLE_MS + 60_000);
  const claims = async () =>
    (await deployer.k.core.listNamespacedPersistentVolumeClaim({ namespace: NAMESPACE })).items;
  const volumeSnapshots = async () =>
    (await deployer.k.objects.list('snapshot.storage.k8s.io/v1', 'VolumeSnapshot', NAMESPACE)).items;
  const reservationUntil = (id: string, status: string) =>
    eventually(
      async () =>
        (await api().get(`/api/v1/reservations/${id}`).set('authorization', `Bearer ${alice}`)).body,
      (r: { status: string }) => r.status === status,
      20_000,
    );
  const diskOf = async (name: string) =>
    (await api().get(`/api/v1/disks/${name}`).set('authorization', `Bearer ${alice}`).expect(200)).body as {
      id: string;
      status: string;
      last_error?: string;
    };

  it('quarantines an orphan claim and snapshot, marks a vanished volume lost, deletes nothing', async () => {
    // A disk used once: its claim and its end-of-use snapshot exist and are recorded.
    await api()
      .post('/api/v1/disks')
      .set('authorization', `Bearer ${alice}`)
      .send({ name: 'work' })
      .expect(201);
    await site.useAndCancel('work');
    const work = await eventually(
      () => diskOf('work'),
      (d) => d.status === 'free',
      20_000,
    );

    // What a crash could leave: a claim and a snapshot carrying ODC's disk label, in no row.
    const orphanDisk = randomUUID();
    await deployer
      .authed(deployer.api().post('/api/v1/volumes'))
      .send({ name: 'odc-disk-orphan-g1', size: '10Gi', labels: { 'odc.dev/disk': orphanDisk } })
      .expect(201);
    await deployer
      .authed(deployer.api().post('/api/v1/snapshots'))
      .send({ name: 'odc-snap-orphan', volume: 'odc-disk-orphan-g1', labels: { 'odc.dev/disk': orphanDisk } })
      .expect(201);
    // And a volume that vanished behind ODC's back.
    const [workClaim] = (await claims()).filter((c) => c.metadata!.labels!['odc.dev/disk'] === work.id);
    await deployer.k.core.deleteNamespacedPersistentVolumeClaim({
      namespace: NAMESPACE,
      name: workClaim!.metadata!.name!,
    });
    await eventually(claims, (list) => !list.some((c) => c.metadata!.name === workClaim!.metadata!.name));
    const claimsBefore = (await claims()).map((c) => c.metadata!.name).sort();
    const snapshotsBefore = (await volumeSnapshots()).map((s) => s.metadata!.name).sort();

    // Too young to judge: the orphans could be a provision between its call and its commit.
    const early = await reconciler().round(new Date());
    expect(early.quarantined).toEqual([]);
    expect(early.lostDisks).toEqual([]);

    const report = await reconciler().round(later());
    expect(report.unreachable).toEqual([]);
    expect(report.quarantined).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ kind: 'volume', id: 'odc-disk-orphan-g1', diskId: orphanDisk }),
        expect.objectContaining({ kind: 'snapshot', id: 'odc-snap-orphan', diskId: orphanDisk }),
      ]),
    );
    expect(report.quarantined).toHaveLength(2);
    expect(report.lostDisks).toEqual([work.id]);
    const orphan = (await claims()).find((c) => c.metadata!.name === 'odc-disk-orphan-g1')!;
    expect(orphan.metadata!.labels!['odc.dev/quarantined']).toMatch(/^\d{8}T\d{6}Z$/);
    const lost = await diskOf('work');
    expect(lost.status).toBe('lost');
    expect(lost.last_error).toMatch(/vanished/);

    // Nothing deleted, and a second round reports nothing new.
    expect((await claims()).map((c) => c.metadata!.name).sort()).toEqual(claimsBefore);
    expect((await volumeSnapshots()).map((s) => s.metadata!.name).sort()).toEqual(snapshotsBefore);
    const again = await reconciler().round(later());
    expect(again.quarantined).toEqual([]);
    expect(again.lostDisks).toEqual([]);
    const audited = await app
      .core()
      .get(DataSource)
      .query<{ action: string; n: number }[]>(
        `SELECT action, count(*)::int AS n FROM audit_log WHERE action IN ('volume.quarantined', 'snapshot.quarantined', 'disk.lost') GROUP BY action ORDER BY action`,
      );
    expect(audited).toEqual([
      { action: 'disk.lost', n: 1 },
      { action: 'snapshot.quarantined', n: 1 },
      { action: 'volume.quarantined', n: 1 },
    ]);
  });

  it('a lost disk refuses reservations until restored from its snapshot, then works again', async () => {
    const refused = await api()
      .post('/api/v1/reservations')
      .set('authorization', `Bearer ${alice}`)
      .send({ gpu_type: 'h100', gpu_count: 1, hours: 1, disk: 'work' })
      .expect(409);
    expect(refused.body.code).toBe('invalid_disk_state');
    const [snapshot] = (
      await api().get('/api/v1/disks/work/snapshots').set('authorization', `Bearer ${alice}`)
    ).body.items as { id: string; status: string }[];
    expect(snapshot!.status).toBe('ready');
    const restored = await api()
      .post('/api/v1/disks/work/restore')
      .set('authorization', `Bearer ${alice}`)
      .send({ snapshot_id: snapshot!.id })
      .expect(200);
    expect(restored.body).toMatchObject({ status: 'free', restore_from: snapshot!.id, has_volume: false });
    const again = await api()
      .post('/api/v1/reservations')
      .set('authorization', `Bearer ${alice}`)
      .send({ gpu_type: 'h100', gpu_count: 1, hours: 1, disk: 'work' })
      .expect(202);
    await reservationUntil(again.body.id, 'active');
    const work = await diskOf('work');
    const [claim] = (await claims()).filter((c) => c.metadata!.labels!['odc.dev/disk'] === work.id);
    expect(claim!.spec!.dataSource).toMatchObject({ kind: 'VolumeSnapshot' });
  });
});

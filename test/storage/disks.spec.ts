import { DataSource } from 'typeorm';
import { ExpiryTask } from '../../src/reservations/lifecycle/expiry.task';
import { ReconcilerTask, SETTLE_MS } from '../../src/storage/lifecycle/reconciler.task';
import { DEPLOYER_TOKEN, NAMESPACE, startDeployer, type DeployerUnderTest } from '../deployer/fixtures';
import { FAST_CONTROL_PLANE_ENV, startTestApp, type TestApp } from '../support/app';
import { eventually } from '../support/eventually';
import { FAST_TIMINGS, h100Pool } from '../support/simulator';
import { keyFor } from '../support/users';

const H100 = 'NVIDIA-H100-80GB-HBM3';
const MINUTE = 60_000;

interface Shown {
  id: string;
  status: string;
  cluster?: string;
  disk?: string;
  expires_at?: string;
  status_reason?: string;
  events: { to?: string; message: string }[];
}

interface DiskShown {
  id: string;
  name: string;
  status: string;
  cluster?: string;
  has_volume: boolean;
  in_use_by?: string;
  snapshot_count: number;
}

interface SnapshotShown {
  id: string;
  status: string;
  reason: string;
  reservation_id?: string;
  cluster?: string;
}

/**
 * Named disks on two simulated clusters that share a storage backend (`east` preferred, `west`),
 * one 8-GPU H100 node each: a disk's volume is made where it is first used, its reservation's end
 * takes one snapshot and frees it, and when its home is full it starts elsewhere from that
 * snapshot. Expiry runs on a controllable clock.
 */
describe('disks end to end: create → reserve → expire → snapshot → free → restore elsewhere', () => {
  let east: DeployerUnderTest;
  let west: DeployerUnderTest;
  let app: TestApp;
  let alice: string;
  let bob: string;
  let admin: string;

  beforeAll(async () => {
    // The simulated clusters' CSI driver allowed: their snapshots can be imported into each other.
    const env = { ODC_DEPLOYER_ALLOWED_CSI_DRIVERS: 'sim.csi.odc.dev' };
    east = await startDeployer({ cluster: { nodePools: [h100Pool(1)], timings: FAST_TIMINGS }, env });
    west = await startDeployer({ cluster: { nodePools: [h100Pool(1)], timings: FAST_TIMINGS }, env });
    app = await startTestApp({
      roles: 'coordinator,worker,cron',
      env: {
        ...FAST_CONTROL_PLANE_ENV,
        ODC_EXPIRY_INTERVAL_SECONDS: '3600',
        ODC_STORAGE_INTERVAL_SECONDS: '1',
        ODC_MAX_GPUS_PER_USER: '64',
        ODC_MAX_QUEUED_PER_USER: '32',
        ODC_MAX_DISK_GB_PER_USER: '1000',
      },
    });
    admin = await keyFor(app, 'ops', ['clusters:admin'], { admin: true });
    await register(admin, 'east', east, 10);
    await register(admin, 'west', west, 100);
    const scopes = ['reservations:read', 'reservations:write', 'disks:read', 'disks:write'] as const;
    alice = await keyFor(app, 'alice', [...scopes]);
    bob = await keyFor(app, 'bob', [...scopes]);
  });

  afterAll(async () => {
    await app.close();
    await east.close();
    await west.close();
  });

  async function register(admin: string, name: string, deployer: DeployerUnderTest, priority: number) {
    await app
      .http()
      .post('/api/v1/clusters')
      .set('authorization', `Bearer ${admin}`)
      .send({
        name,
        priority,
        deployer_url: deployer.app.runtime.listeners.find((l) => l.name === 'deployer')!.url,
        token: DEPLOYER_TOKEN,
        profile: {
          namespace: NAMESPACE,
          storage_domain: 'sim-shared',
          gpu_types: [{ name: 'h100', node_selector: { 'nvidia.com/gpu.product': H100 }, gpus_per_node: 8 }],
        },
      })
      .expect(201);
  }

  const api = () => app.http();
  const reserve = (key: string, body: object) =>
    api().post('/api/v1/reservations').set('authorization', `Bearer ${key}`).send(body);
  const show = async (key: string, id: string): Promise<Shown> =>
    (await api().get(`/api/v1/reservations/${id}`).set('authorization', `Bearer ${key}`).expect(200))
      .body as Shown;
  const disk = async (key: string, name: string): Promise<DiskShown> =>
    (await api().get(`/api/v1/disks/${name}`).set('authorization', `Bearer ${key}`).expect(200))
      .body as DiskShown;
  const snapshots = async (key: string, name: string): Promise<SnapshotShown[]> =>
    (await api().get(`/api/v1/disks/${name}/snapshots`).set('authorization', `Bearer ${key}`).expect(200))
      .body.items as SnapshotShown[];
  const until = (key: string, id: string, status: string) =>
    eventually(
      () => show(key, id),
      (r) => r.status === status,
      20_000,
    );
  const expiry = () => app.core().get(ExpiryTask, { strict: false });
  const claimsOf = async (deployer: DeployerUnderTest) =>
    (await deployer.k.core.listNamespacedPersistentVolumeClaim({ namespace: NAMESPACE })).items;

  it('the full lifecycle, ending in another cluster from the snapshot', async () => {
    const made = await api()
      .post('/api/v1/disks')
      .set('authorization', `Bearer ${alice}`)
      .send({ name: 'work', size_gb: 50 })
      .expect(201);
    expect(made.body).toMatchObject({ name: 'work', size_gb: 50, status: 'free', has_volume: false });

    // First use: a new volume where the reservation runs (east, preferred), mounted at /home/dev.
    const first = (
      await reserve(alice, { gpu_type: 'h100', gpu_count: 8, hours: 1, disk: 'work' }).expect(202)
    ).body as Shown;
    expect(first.disk).toBe('work');
    const active = await until(alice, first.id, 'active');
    expect(active.cluster).toBe('east');
    const [claim] = await claimsOf(east);
    expect(claim!.metadata!.labels!['odc.dev/disk']).toBe(made.body.id);
    const pod = (await east.k.core.listNamespacedPod({ namespace: NAMESPACE })).items[0]!;
    const home = pod.spec!.volumes!.find((v) => v.name === 'home')!;
    expect(home.persistentVolumeClaim!.claimName).toBe(claim!.metadata!.name);
    expect(pod.spec!.containers[0]!.volumeMounts).toContainEqual(
      expect.objectContaining({ name: 'home', mountPath: '/home/dev' }),
    );
    expect(await disk(alice, 'work')).toMatchObject({
      status: 'in_use',
      in_use_by: first.id,
      cluster: 'east',
    });

    // Expiry: torn down, one snapshot taken and ready, then the disk is free.
    await expiry().round(new Date(Date.parse(active.expires_at!) + 3 * MINUTE));
    await until(alice, first.id, 'expired');
    const freed = await eventually(
      () => disk(alice, 'work'),
      (d) => d.status === 'free',
      20_000,
    );
    expect(freed).toMatchObject({ has_volume: true, cluster: 'east', snapshot_count: 1 });
    const [snapshot] = await snapshots(alice, 'work');
    expect(snapshot).toMatchObject({
      status: 'ready',
      reason: 'expired', // how the reservation that held it ended
      reservation_id: first.id,
      cluster: 'east',
    });
    const ended = await show(alice, first.id);
    expect(ended.events.map((e) => e.message)).toContainEqual(
      expect.stringMatching(/^Disk work released; snapshot .* is ready$/),
    );

    // East is full now (bob); the disk's home cannot start it, its current snapshot can, on west.
    const blocker = (await reserve(bob, { gpu_type: 'h100', gpu_count: 8, hours: 1 }).expect(202))
      .body as Shown;
    expect((await until(bob, blocker.id, 'active')).cluster).toBe('east');
    const second = (
      await reserve(alice, { gpu_type: 'h100', gpu_count: 8, hours: 1, disk: 'work' }).expect(202)
    ).body as Shown;
    const moved = await until(alice, second.id, 'active');
    expect(moved.cluster).toBe('west');
    expect(moved.events.map((e) => e.message)).toContainEqual(
      expect.stringMatching(/^Disk work restored on west from snapshot /),
    );
    const [restored] = await claimsOf(west);
    expect(restored!.spec!.dataSource).toMatchObject({ kind: 'VolumeSnapshot' });
    expect(restored!.status!.phase).toBe('Bound');
    expect(await disk(alice, 'work')).toMatchObject({ status: 'in_use', cluster: 'west' });
    // The volume it left is deleted; its snapshot in east stays.
    await eventually(
      () => claimsOf(east),
      (claims) => claims.length === 0,
      20_000,
    );
    expect(await snapshots(alice, 'work')).toHaveLength(1);

    // The snapshot imported into west to restore from is spent once the claim is bound: the
    // reconciler deletes it (it holds no data: east's snapshot stays), and nothing else.
    const imported = await west.k.objects.list('snapshot.storage.k8s.io/v1', 'VolumeSnapshot', NAMESPACE);
    expect(imported.items).toHaveLength(1);
    const report = await app
      .core()
      .get(ReconcilerTask, { strict: false })
      .round(new Date(Date.now() + SETTLE_MS + 60_000));
    expect(report).toMatchObject({
      quarantined: [],
      lostDisks: [],
      spentImports: [imported.items[0]!.metadata!.name],
    });
    await eventually(
      async () =>
        (await west.k.objects.list('snapshot.storage.k8s.io/v1', 'VolumeSnapshot', NAMESPACE)).items,
      (items) => items.length === 0,
    );
    expect(
      (await east.k.objects.list('snapshot.storage.k8s.io/v1', 'VolumeSnapshot', NAMESPACE)).items,
    ).toHaveLength(1);
  });

  it('two reservations racing for one disk: exactly one gets it, the others a 409', async () => {
    await api()
      .post('/api/v1/disks')
      .set('authorization', `Bearer ${bob}`)
      .send({ name: 'race' })
      .expect(201);
    const answers = await Promise.all(
      Array.from({ length: 10 }, () =>
        reserve(bob, { gpu_type: 'h100', gpu_count: 1, hours: 1, disk: 'race' }),
      ),
    );
    const won = answers.filter((answer) => answer.status === 202);
    const lost = answers.filter((answer) => answer.status === 409);
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(9);
    for (const answer of lost) {
      expect(answer.body).toMatchObject({
        code: 'disk_in_use',
        details: { reservation_id: won[0]!.body.id },
      });
    }
    const [{ holders }] = await app
      .core()
      .get(DataSource)
      .query<[{ holders: number }]>(
        `SELECT count(*)::int AS holders FROM reservations WHERE disk_id = (SELECT id FROM disks WHERE name = 'race')`,
      );
    expect(holders).toBe(1);
    await api()
      .post(`/api/v1/reservations/${won[0]!.body.id}/cancel`)
      .set('authorization', `Bearer ${bob}`)
      .expect(200);
    await eventually(
      () => disk(bob, 'race'),
      (d) => d.status === 'free',
      20_000,
    );
  });

  it('no_persist: released at the end without a snapshot', async () => {
    await api()
      .post('/api/v1/disks')
      .set('authorization', `Bearer ${alice}`)
      .send({ name: 'scratchy' })
      .expect(201);
    const made = (
      await reserve(alice, {
        gpu_type: 'h100',
        gpu_count: 1,
        hours: 1,
        disk: 'scratchy',
        no_persist: true,
      }).expect(202)
    ).body as Shown & { no_persist: boolean };
    expect(made.no_persist).toBe(true);
    // Room for it: bob's reservations (the first test's blocker on east) end.
    const bobs = (
      await api().get('/api/v1/reservations?status=active').set('authorization', `Bearer ${bob}`).expect(200)
    ).body.items as { id: string }[];
    for (const reservation of bobs) {
      await api().post(`/api/v1/reservations/${reservation.id}/cancel`).set('authorization', `Bearer ${bob}`);
    }
    await until(alice, made.id, 'active');
    await api()
      .post(`/api/v1/reservations/${made.id}/cancel`)
      .set('authorization', `Bearer ${alice}`)
      .expect(200);
    await eventually(
      () => disk(alice, 'scratchy'),
      (d) => d.status === 'free',
      20_000,
    );
    expect(await snapshots(alice, 'scratchy')).toEqual([]);
    expect((await show(alice, made.id)).events.map((e) => e.message)).toContain(
      'Disk scratchy released without a snapshot (no_persist)',
    );

    // No current snapshot: the disk cannot move, so with its home draining nothing could ever start it.
    const clusters = (await api().get('/api/v1/clusters').set('authorization', `Bearer ${admin}`).expect(200))
      .body.items as { id: string; name: string }[];
    const homeName = (await disk(alice, 'scratchy')).cluster;
    const home = clusters.find((c) => c.name === homeName)!;
    await api().post(`/api/v1/clusters/${home.id}/drain`).set('authorization', `Bearer ${admin}`).expect(200);
    try {
      const stuck = await reserve(alice, {
        gpu_type: 'h100',
        gpu_count: 1,
        hours: 1,
        disk: 'scratchy',
      }).expect(422);
      // Another cluster would do: the disk is what stands in the way, and the code says so.
      expect(stuck.body).toMatchObject({
        code: 'disk_unreachable',
        message: `Disk scratchy lives on cluster ${home.name}, where no h100 node could hold 1 GPU now, and it has no current snapshot to start elsewhere from: reserve without the disk, or with what cluster ${home.name} offers`,
        details: { disk: 'scratchy', cluster: home.name },
      });
    } finally {
      await api()
        .post(`/api/v1/clusters/${home.id}/undrain`)
        .set('authorization', `Bearer ${admin}`)
        .expect(200);
    }
  });

  it('refuses what cannot be, with codes, and shows no one else’s disks', async () => {
    const unknown = await reserve(alice, { gpu_type: 'h100', gpu_count: 1, hours: 1, disk: 'nope' }).expect(
      422,
    );
    expect(unknown.body.code).toBe('unknown_disk');
    const orphanFlag = await reserve(alice, {
      gpu_type: 'h100',
      gpu_count: 1,
      hours: 1,
      no_persist: true,
    }).expect(400);
    expect(orphanFlag.body.code).toBe('validation_failed');
    const taken = await api()
      .post('/api/v1/disks')
      .set('authorization', `Bearer ${alice}`)
      .send({ name: 'work' })
      .expect(409);
    expect(taken.body.code).toBe('disk_name_taken');
    const badName = await api()
      .post('/api/v1/disks')
      .set('authorization', `Bearer ${alice}`)
      .send({ name: 'Not A Label' })
      .expect(400);
    expect(badName.body.code).toBe('validation_failed');
    const tooBig = await api()
      .post('/api/v1/disks')
      .set('authorization', `Bearer ${alice}`)
      .send({ name: 'huge', size_gb: 100_000 })
      .expect(400);
    expect(tooBig.body.code).toBe('validation_failed');
    // Bob cannot see, snapshot, rename or delete alice's disk: 404 as if it did not exist.
    await api().get('/api/v1/disks/work').set('authorization', `Bearer ${bob}`).expect(404);
    await api().post('/api/v1/disks/work/snapshots').set('authorization', `Bearer ${bob}`).expect(404);
    await api().get('/api/v1/disks/work?owner=alice').set('authorization', `Bearer ${bob}`).expect(403);
    const bobs = (await api().get('/api/v1/disks').set('authorization', `Bearer ${bob}`).expect(200)).body
      .items as DiskShown[];
    expect(bobs.map((d) => d.name)).not.toContain('work');
    // A disk never used has nothing to snapshot.
    await api()
      .post('/api/v1/disks')
      .set('authorization', `Bearer ${alice}`)
      .send({ name: 'empty' })
      .expect(201);
    const nothing = await api()
      .post('/api/v1/disks/empty/snapshots')
      .set('authorization', `Bearer ${alice}`)
      .expect(409);
    expect(nothing.body.code).toBe('invalid_disk_state');
  });

  it('rename, manual snapshot, restore into a new disk, soft delete', async () => {
    const renamed = await api()
      .post('/api/v1/disks/empty/rename')
      .set('authorization', `Bearer ${alice}`)
      .send({ new_name: 'spare' })
      .expect(200);
    expect(renamed.body.name).toBe('spare');
    await api().get('/api/v1/disks/empty').set('authorization', `Bearer ${alice}`).expect(404);

    // `work` is in use (the reservation of the first test): a snapshot now is crash-consistent.
    const asked = await api()
      .post('/api/v1/disks/work/snapshots')
      .set('authorization', `Bearer ${alice}`)
      .expect(202);
    expect(asked.body).toMatchObject({ status: 'pending', reason: 'manual' });
    const ready = await eventually(
      () => snapshots(alice, 'work'),
      (list) => list.find((s) => s.id === asked.body.id)?.status === 'ready',
      20_000,
    );
    expect(ready.find((s) => s.id === asked.body.id)!.cluster).toBe('west');
    const copy = await api()
      .post('/api/v1/disks/work/restore')
      .set('authorization', `Bearer ${alice}`)
      .send({ snapshot_id: asked.body.id, new_name: 'work-copy' })
      .expect(200);
    expect(copy.body).toMatchObject({
      name: 'work-copy',
      status: 'free',
      has_volume: false,
      restore_from: asked.body.id,
    });

    const inUse = await api()
      .delete('/api/v1/disks/work')
      .set('authorization', `Bearer ${alice}`)
      .expect(409);
    expect(inUse.body.code).toBe('disk_in_use');
    const deleted = await api()
      .delete('/api/v1/disks/spare')
      .set('authorization', `Bearer ${alice}`)
      .expect(200);
    expect(deleted.body.status).toBe('deleted');
    expect(Date.parse(deleted.body.purge_after) - Date.now()).toBeGreaterThan(29 * 24 * 3600_000);
    await api()
      .post('/api/v1/disks')
      .set('authorization', `Bearer ${alice}`)
      .send({ name: 'spare' })
      .expect(201);

    // Undelete during the grace: not while a new disk has the name; under it again once free.
    const clash = await api()
      .post('/api/v1/disks/spare/undelete')
      .set('authorization', `Bearer ${alice}`)
      .expect(409);
    expect(clash.body.code).toBe('disk_name_taken');
    await api()
      .post('/api/v1/disks/spare/rename')
      .set('authorization', `Bearer ${alice}`)
      .send({ new_name: 'spare-new' })
      .expect(200);
    const back = await api()
      .post('/api/v1/disks/spare/undelete')
      .set('authorization', `Bearer ${alice}`)
      .expect(200);
    expect(back.body).toMatchObject({ id: deleted.body.id, name: 'spare', status: 'free' });
    expect(back.body.purge_after).toBeUndefined();
    await api().post('/api/v1/disks/never-was/undelete').set('authorization', `Bearer ${alice}`).expect(404);
  });

  it('holds each user to ODC_MAX_DISK_GB_PER_USER across their disks', async () => {
    const carol = await keyFor(app, 'carol', ['disks:read', 'disks:write']);
    const create = (name: string, size: number) =>
      api().post('/api/v1/disks').set('authorization', `Bearer ${carol}`).send({ name, size_gb: size });
    await create('big', 600).expect(201);
    const over = await create('bigger', 500).expect(409);
    expect(over.body).toMatchObject({ code: 'disk_quota_exceeded', details: { max_gb: 1000 } });
    await create('fits', 400).expect(201);
  });

  it('a cluster holding disks’ volumes is not removed from under them', async () => {
    const live = (
      await api()
        .get('/api/v1/reservations?status=active')
        .set('authorization', `Bearer ${alice}`)
        .expect(200)
    ).body.items as { id: string }[];
    for (const reservation of live) {
      await api()
        .post(`/api/v1/reservations/${reservation.id}/cancel`)
        .set('authorization', `Bearer ${alice}`);
    }
    await eventually(
      () => disk(alice, 'work'),
      (d) => d.status === 'free',
      20_000,
    );
    // West holds work's volume (and the snapshot work-copy starts from); no reservation runs there.
    const westId = (
      await api().get('/api/v1/clusters').set('authorization', `Bearer ${admin}`).expect(200)
    ).body.items.find((c: { name: string }) => c.name === 'west').id as string;
    await api().post(`/api/v1/clusters/${westId}/drain`).set('authorization', `Bearer ${admin}`).expect(200);
    const refused = await api().delete(`/api/v1/clusters/${westId}`).set('authorization', `Bearer ${admin}`);
    await api().post(`/api/v1/clusters/${westId}/undrain`).set('authorization', `Bearer ${admin}`);
    expect(refused.status).toBe(409);
    // work's volume, and work-copy, which is to be restored from a snapshot taken there.
    expect(refused.body).toMatchObject({ code: 'cluster_active', details: { disks: 2 } });
  });
});

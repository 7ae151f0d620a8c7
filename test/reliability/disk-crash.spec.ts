import { DataSource } from 'typeorm';
import { ExpiryTask } from '../../src/reservations/lifecycle/expiry.task';
import { startTestApp, type TestApp } from '../support/app';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { eventually } from '../support/eventually';
import { isReady, type OdcProcess } from '../support/process';
import { h100Pool } from '../support/simulator';
import { keyFor } from '../support/users';
import { chaos, FAST_ENV, register, spawnWorker, startSite, type Site } from './harness';

const DISKS = 8;
const KILLS = 3;
/** When the worker is killed: its random moments, replayable (harness.ts, `chaos`). */
const random = chaos('disk-crash');

/**
 * Nothing is lost or done twice when a worker dies while disks are being snapshotted at the end of
 * their reservations: eight reservations with a disk each expire together, their snapshots take
 * 1.5 s to become ready (on the real tier, as long as its CSI hostpath driver and snapshot
 * controller take), and the worker doing it is killed with SIGKILL three times meanwhile. In the
 * end each reservation has exactly one snapshot (in the database and on the cluster), and each
 * disk was released exactly once.
 */
describe('reliability: a worker killed during snapshots at expiry', () => {
  let database: TestDatabase;
  let app: TestApp;
  let site: Site;
  let worker: OdcProcess;

  beforeAll(async () => {
    database = await createTestDatabase();
    app = await startTestApp({
      roles: 'coordinator,cron',
      database,
      env: { ...FAST_ENV, ODC_STORAGE_INTERVAL_SECONDS: '1' },
    });
    site = await startSite('snappy', [h100Pool(1)], { snapshotReadyMs: 1500 });
    await register(app, await keyFor(app, 'ops', ['clusters:admin'], { admin: true }), site);
  });

  afterAll(async () => {
    worker?.child.kill('SIGKILL');
    await app.close();
    await site.close();
    await database.drop();
  });

  const db = () => app.core().get(DataSource);

  it(`exactly one snapshot per reservation, each disk released once (ODC_CHAOS_SEED=${random.seed})`, async () => {
    worker = spawnWorker(database);
    await worker.waitFor(isReady);
    const ids: string[] = [];
    for (let i = 0; i < DISKS; i += 1) {
      const key = await keyFor(app, `snap-${i}`, ['reservations:read', 'reservations:write', 'disks:write']);
      await app
        .http()
        .post('/api/v1/disks')
        .set('authorization', `Bearer ${key}`)
        .send({ name: 'home' })
        .expect(201);
      const made = await app
        .http()
        .post('/api/v1/reservations')
        .set('authorization', `Bearer ${key}`)
        .send({ gpu_type: 'h100', gpu_count: 1, hours: 1, disk: 'home' })
        .expect(202);
      ids.push(made.body.id as string);
    }
    const statuses = () =>
      db().query<{ status: string; expires_at: Date | null }[]>(
        `SELECT status, expires_at FROM reservations WHERE id = ANY($1)`,
        [ids],
      );
    const active = await eventually(statuses, (rows) => rows.every((r) => r.status === 'active'), 60_000);
    const latest = Math.max(...active.map((r) => r.expires_at!.getTime()));

    await app
      .core()
      .get(ExpiryTask, { strict: false })
      .round(new Date(latest + 10 * 60_000));
    const kills: string[] = [];
    for (let kill = 0; kill < KILLS; kill += 1) {
      const after = random.between(200, 800);
      await new Promise((resolve) => setTimeout(resolve, after));
      const [{ held, taken, ready }] = await db().query<[{ held: number; taken: number; ready: number }]>(
        `SELECT (SELECT count(*)::int FROM disks WHERE in_use_by IS NOT NULL) AS held,
                (SELECT count(*)::int FROM snapshots) AS taken,
                (SELECT count(*)::int FROM snapshots WHERE status = 'ready') AS ready`,
      );
      kills.push(`after ${after} ms: ${taken} snapshots (${ready} ready), ${held} disks held`);
      worker.child.kill('SIGKILL');
      await worker.exited;
      worker = spawnWorker(database);
      await worker.waitFor(isReady);
    }

    await eventually(
      () =>
        db().query<[{ held: number }]>(`SELECT count(*)::int AS held FROM disks WHERE in_use_by IS NOT NULL`),
      ([{ held }]) => held === 0,
      90_000,
    );
    const snapshots = await db().query<{ reservation_id: string; status: string }[]>(
      `SELECT reservation_id, status FROM snapshots`,
    );
    expect(snapshots.map((s) => s.reservation_id).sort()).toEqual([...ids].sort());
    expect(snapshots.every((s) => s.status === 'ready')).toBe(true);
    const onCluster = await site.k.objects.list(
      'snapshot.storage.k8s.io/v1',
      'VolumeSnapshot',
      site.namespace,
    );
    expect(onCluster.items).toHaveLength(DISKS);
    const releases = await db().query<{ reservation_id: string; n: number }[]>(
      `SELECT reservation_id, count(*)::int AS n FROM reservation_events
       WHERE message LIKE 'Disk % released%' GROUP BY reservation_id`,
    );
    expect(releases).toHaveLength(DISKS);
    expect(releases.every((r) => r.n === 1)).toBe(true);
    const expired = await statuses();
    expect(expired.every((r) => r.status === 'expired')).toBe(true);
    console.log(
      `[disk-crash] ${DISKS} disks on the ${site.target.kind} API server; worker killed: ${kills.join('; ')} (ODC_CHAOS_SEED=${random.seed})`,
    );
  }, 180_000);
});

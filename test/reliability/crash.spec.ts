import { startTestApp, type TestApp } from '../support/app';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { eventually } from '../support/eventually';
import { isReady, type OdcProcess } from '../support/process';
import { h100Pool } from '../support/simulator';
import { keyFor } from '../support/users';
import {
  chaos,
  FAST_ENV,
  gpusFree,
  register,
  spawnWorker,
  startSite,
  usersWithKeys,
  type Site,
  statusCounts,
} from './harness';

/** On the simulator: 200 reservations of one GPU, on 25 nodes of 8. */
const MOST_RESERVATIONS = 200;
const KILLS = 4;
/** When the worker is killed: its random moments, replayable (harness.ts, `chaos`). */
const random = chaos('crash');

/**
 * Nothing acknowledged is lost when a worker dies at any point: reservations flow through worker
 * processes that are killed with SIGKILL at random moments and started again. In the end every
 * reservation is active with exactly one set of objects on the cluster, and after cancelling them
 * all, none is left. On the simulator, 200 reservations on a cluster of their own; on the real API
 * server (ODC_TEST_KUBE=real), as many as its fleet has free H100 GPUs (32 on the demo fleet).
 */
describe('reliability: workers killed with SIGKILL while reservations flow', () => {
  let database: TestDatabase;
  let app: TestApp;
  let site: Site;
  let worker: OdcProcess;
  /** One GPU each, as many as the fleet has free (every one of them is placed). */
  let reservations: number;

  beforeAll(async () => {
    database = await createTestDatabase();
    app = await startTestApp({ roles: 'coordinator,cron', database, env: FAST_ENV });
    site = await startSite('crashy', [h100Pool(MOST_RESERVATIONS / 8)]);
    const free = [...(await gpusFree(site)).values()].reduce((a, b) => a + b, 0);
    reservations = Math.min(MOST_RESERVATIONS, free);
    await register(app, await keyFor(app, 'ops', ['clusters:admin'], { admin: true }), site);
  });

  afterAll(async () => {
    worker?.child.kill('SIGKILL');
    await app.close();
    await site.close();
    await database.drop();
  });

  const counts = () => statusCounts(app);

  /** Deployments on the cluster per reservation id (each must have exactly one). */
  const deploymentsByReservation = async () => {
    const deployments = await site.k.apps.listNamespacedDeployment({ namespace: site.namespace });
    const byReservation = new Map<string, number>();
    for (const deployment of deployments.items) {
      const id = deployment.metadata?.labels?.['odc.dev/reservation'] ?? '?';
      byReservation.set(id, (byReservation.get(id) ?? 0) + 1);
    }
    return byReservation;
  };

  /** Pods bound to a node and not on their way out, per reservation id. */
  const podsByReservation = async () => {
    const pods = await site.k.core.listNamespacedPod({ namespace: site.namespace });
    const byReservation = new Map<string, number>();
    for (const pod of pods.items) {
      if (pod.spec?.nodeName && !pod.metadata?.deletionTimestamp) {
        const id = pod.metadata?.labels?.['odc.dev/reservation'] ?? '?';
        byReservation.set(id, (byReservation.get(id) ?? 0) + 1);
      }
    }
    return byReservation;
  };

  it(`every reservation ends up active exactly once, and cancelling them all leaves nothing behind (ODC_CHAOS_SEED=${random.seed})`, async () => {
    worker = spawnWorker(database);
    await worker.waitFor(isReady);
    const keys = await usersWithKeys(app, Math.ceil(reservations / 4), 'crash-');
    const ids: string[] = [];
    const submitting = (async () => {
      for (let i = 0; i < reservations; i += 10) {
        const batch = await Promise.all(
          Array.from({ length: Math.min(10, reservations - i) }, (_, j) =>
            app
              .http()
              .post('/api/v1/reservations')
              .set('authorization', `Bearer ${keys[(i + j) % keys.length]}`)
              .send({ gpu_type: 'h100', gpu_count: 1, hours: 1 })
              .expect(202),
          ),
        );
        ids.push(...batch.map((res) => res.body.id as string));
      }
    })();
    // Kill the worker at random moments while the reservations flow, and start it again.
    const kills: string[] = [];
    for (let kill = 0; kill < KILLS; kill += 1) {
      const after = random.between(300, 1500);
      await new Promise((resolve) => setTimeout(resolve, after));
      const { active = 0 } = await counts();
      kills.push(`after ${after} ms: ${ids.length} acknowledged, ${active} active`);
      worker.child.kill('SIGKILL');
      await worker.exited;
      worker = spawnWorker(database);
      await worker.waitFor(isReady);
    }
    await submitting;
    expect(ids).toHaveLength(reservations);

    await eventually(counts, (c) => c.active === reservations, 90_000);
    const deployed = await deploymentsByReservation();
    expect([...deployed.keys()].sort()).toEqual([...ids].sort());
    expect([...deployed.values()].every((n) => n === 1)).toBe(true);
    // One pod each, bound by the cluster's scheduler: every free GPU of the fleet taken once.
    const bound = await podsByReservation();
    expect([...bound.keys()].sort()).toEqual([...ids].sort());
    expect([...bound.values()].every((n) => n === 1)).toBe(true);
    expect([...(await gpusFree(site)).values()].every((free) => free === 0)).toBe(true);

    const admin = await keyFor(app, 'root', ['reservations:read', 'reservations:write'], { admin: true });
    for (const id of ids) {
      await app
        .http()
        .post(`/api/v1/reservations/${id}/cancel`)
        .set('authorization', `Bearer ${admin}`)
        .send({})
        .expect(200);
    }
    worker.child.kill('SIGKILL'); // once more, mid-teardown
    await worker.exited;
    worker = spawnWorker(database);
    await worker.waitFor(isReady);
    await eventually(counts, (c) => c.cancelled === reservations, 90_000);
    await eventually(deploymentsByReservation, (left) => left.size === 0, 30_000);
    console.log(
      `[crash] ${reservations} reservations on the ${site.target.kind} API server; ` +
        `worker killed: ${kills.join('; ')}; once more after cancelling all (ODC_CHAOS_SEED=${random.seed})`,
    );
  }, 240_000);
});

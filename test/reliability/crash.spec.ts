import { NAMESPACE } from '../deployer/fixtures';
import { startTestApp, type TestApp } from '../support/app';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { eventually } from '../support/eventually';
import { isReady, type OdcProcess } from '../support/process';
import { h100Pool } from '../support/simulator';
import { keyFor } from '../support/users';
import {
  FAST_ENV,
  register,
  spawnWorker,
  startSite,
  usersWithKeys,
  type SimulatedSite,
  statusCounts,
} from './harness';

const RESERVATIONS = 200;
const KILLS = 4;

/**
 * Nothing acknowledged is lost when a worker dies at any point: 200 reservations flow through
 * worker processes that are killed with SIGKILL at random moments and started again. In the end
 * every reservation is active with exactly one set of objects on the cluster, and after cancelling
 * them all, none is left.
 */
describe('reliability: workers killed with SIGKILL while reservations flow', () => {
  let database: TestDatabase;
  let app: TestApp;
  let site: SimulatedSite;
  let worker: OdcProcess;

  beforeAll(async () => {
    database = await createTestDatabase();
    app = await startTestApp({ roles: 'coordinator,cron', database, env: FAST_ENV });
    site = await startSite('crashy', [h100Pool(Math.ceil(RESERVATIONS / 8))]);
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
    const deployments = await site.k.apps.listNamespacedDeployment({ namespace: NAMESPACE });
    const byReservation = new Map<string, number>();
    for (const deployment of deployments.items) {
      const id = deployment.metadata?.labels?.['odc.dev/reservation'] ?? '?';
      byReservation.set(id, (byReservation.get(id) ?? 0) + 1);
    }
    return byReservation;
  };

  it('every reservation ends up active exactly once, and cancelling them all leaves nothing behind', async () => {
    worker = spawnWorker(database);
    await worker.waitFor(isReady);
    const keys = await usersWithKeys(app, RESERVATIONS / 4, 'crash-');
    const ids: string[] = [];
    const submitting = (async () => {
      for (let i = 0; i < RESERVATIONS; i += 10) {
        const batch = await Promise.all(
          Array.from({ length: 10 }, (_, j) =>
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
    for (let kill = 0; kill < KILLS; kill += 1) {
      await new Promise((resolve) => setTimeout(resolve, 300 + Math.random() * 1200));
      worker.child.kill('SIGKILL');
      await worker.exited;
      worker = spawnWorker(database);
      await worker.waitFor(isReady);
    }
    await submitting;
    expect(ids).toHaveLength(RESERVATIONS);

    await eventually(counts, (c) => c.active === RESERVATIONS, 90_000);
    const deployed = await deploymentsByReservation();
    expect([...deployed.keys()].sort()).toEqual([...ids].sort());
    expect([...deployed.values()].every((n) => n === 1)).toBe(true);

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
    await eventually(counts, (c) => c.cancelled === RESERVATIONS, 90_000);
    await eventually(deploymentsByReservation, (left) => left.size === 0, 30_000);
  }, 240_000);
});

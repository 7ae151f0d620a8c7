import { DataSource } from 'typeorm';
import { DeployerService } from '../../src/deployer/deployer.service';
import { StatusSyncTask } from '../../src/reservations/lifecycle/status-sync.task';
import { ReapplyWorker } from '../../src/reservations/provisioning/reapply.worker';
import { H100_PRODUCT, registerDeployer, startDeployer, type DeployerUnderTest } from '../deployer/fixtures';
import { startTestApp, type TestApp } from '../support/app';
import { describeSimulatorOnly, FAST_TIMINGS, h100Pool } from '../support/simulator';
import { keyFor } from '../support/users';

/** More than two calls' worth, so a round must split them and keep one call in flight. */
const RUNNING = 210;

/**
 * A health round over a cluster with hundreds of running reservations, through the real deployer
 * on a simulated cluster: the round asks in calls of at most 100 ids, one call in flight at a time
 * (ODC_DEPLOYER_CLIENT_STATUS_CONCURRENCY=1), and acts on what they answer. The rounds are run by
 * the test (StatusSyncTask.sync); the cron's own timer is out of the way.
 */
describeSimulatorOnly('ownCluster', 'status rounds over hundreds of running reservations', () => {
  let deployer: DeployerUnderTest;
  let app: TestApp;
  let db: DataSource;
  let externalIds: Map<string, string>;
  const asked: string[][] = [];
  let inFlight = 0;
  let mostInFlight = 0;

  beforeAll(async () => {
    deployer = await startDeployer({
      cluster: { nodePools: [h100Pool(RUNNING / 8)], timings: FAST_TIMINGS },
    });
    app = await startTestApp({
      roles: 'coordinator,worker,cron',
      env: {
        ODC_STATUS_SYNC_INTERVAL_SECONDS: '3600',
        ODC_HEALTH_SYNC_INTERVAL_SECONDS: '0.1',
        ODC_ADMISSION_INTERVAL_SECONDS: '3600',
        ODC_EXPIRY_INTERVAL_SECONDS: '3600',
        ODC_CLUSTER_HEALTH_INTERVAL_SECONDS: '3600',
        ODC_DEPLOYER_CLIENT_STATUS_CONCURRENCY: '1',
      },
    });
    const admin = await keyFor(app, 'ops', ['clusters:admin'], { admin: true });
    await registerDeployer(app, admin, deployer, { name: 'sim', gpuType: 'h100', product: H100_PRODUCT });
    db = app.core().get(DataSource);
    // Running reservations as the path to active leaves them, one GPU each, eight to a node.
    const [{ id: owner }] = await db.query<[{ id: string }]>(
      `INSERT INTO users (username) VALUES ('runner') RETURNING id`,
    );
    const rows = await db.query<{ id: string; external_id: string }[]>(
      `INSERT INTO reservations (owner_id, gpu_type, gpu_count, duration_minutes, status, cluster_id,
                                 node_name, external_id, started_at, expires_at, ssh_command, version)
       SELECT $1, 'h100', 1, 60, 'active', c.id, n.node_name,
              'odc-' || lpad(to_hex(i), 12, '0'), now(), now() + interval '1 hour', 'ssh', 1
       FROM generate_series(0, $2::int - 1) AS i
       CROSS JOIN LATERAL (SELECT id FROM clusters WHERE name = 'sim') AS c
       CROSS JOIN LATERAL (SELECT node_name FROM capacity WHERE cluster_id = c.id
                           ORDER BY node_name OFFSET i / 8 LIMIT 1) AS n
       RETURNING id, external_id`,
      [owner, RUNNING],
    );
    expect(rows).toHaveLength(RUNNING);
    externalIds = new Map(rows.map((row) => [row.id, row.external_id]));
    const worker = app.core().get(ReapplyWorker);
    const ids = [...externalIds.keys()];
    await Promise.all(
      Array.from({ length: 8 }, async (_, lane) => {
        for (let i = lane; i < ids.length; i += 8) {
          await worker.reapply({ reservation_id: ids[i]! });
        }
      }),
    );
    // What the cluster's deployer is asked, as it is asked.
    const service = deployer.app.runtime.deployer!.get(DeployerService);
    const list = service.listDeployments.bind(service);
    jest.spyOn(service, 'listDeployments').mockImplementation(async (only?: string[]) => {
      asked.push(only ?? []);
      mostInFlight = Math.max(mostInFlight, ++inFlight);
      try {
        return await list(only);
      } finally {
        inFlight -= 1;
      }
    });
  });

  afterAll(async () => {
    await app?.close();
    await deployer?.close();
  });

  const statuses = async () =>
    new Map(
      (await db.query<{ id: string; status: string }[]>(`SELECT id, status FROM reservations`)).map((r) => [
        r.id,
        r.status,
      ]),
    );

  it('asks about every running reservation in calls of at most 100, one at a time, and leaves them active', async () => {
    asked.length = 0;
    await app.core().get(StatusSyncTask).sync();

    expect(asked.map((ids) => ids.length).sort((a, b) => b - a)).toEqual([100, 100, 10]);
    expect(new Set(asked.flat())).toEqual(new Set(externalIds.values()));
    expect(mostInFlight).toBe(1);
    expect([...(await statuses()).values()].every((status) => status === 'active')).toBe(true);
  });

  it('ends the one whose objects are gone, and only that one', async () => {
    const [gone, externalId] = [...externalIds][RUNNING - 1]!;
    await deployer.authed(deployer.api().delete(`/api/v1/deployments/${externalId}`)).expect(204);
    await app.core().get(StatusSyncTask).sync();

    const after = await statuses();
    expect(after.get(gone)).not.toBe('active');
    const [{ reason }] = await db.query<[{ reason: string }]>(
      `SELECT status_reason AS reason FROM reservations WHERE id = $1`,
      [gone],
    );
    expect(reason).toContain('its objects are gone from the cluster');
    expect([...after].filter(([id, status]) => id !== gone && status !== 'active')).toEqual([]);
  });
});

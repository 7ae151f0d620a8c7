import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { kubeConfigForServer } from '../../src/deployer/kube/kube-access';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { FAST_CONTROL_PLANE_ENV, startTestApp, startWithFirstAdmin, type TestApp } from '../support/app';
import { ClusterClients, ClusterRegistry } from '../../src/clusters/public';
import { StatusSyncTask } from '../../src/reservations/lifecycle/status-sync.task';
import { eventually } from '../support/eventually';

/** What `npm start` gives a new user: every role in one process, its own simulated fleet registered. */
describe('the development start registers its simulated cluster as local-sim', () => {
  it('shows the demo fleet in /availability, and registers nothing when a cluster exists or outside development', async () => {
    const env = { NODE_ENV: 'development', ODC_LOG_FORMAT: 'json', ODC_DEPLOYER_SIMULATOR: 'true' };
    const { app: first, adminKey: key } = await startWithFirstAdmin({
      roles: 'coordinator,worker,cron,deployer',
      env,
    });
    const auth = { authorization: `Bearer ${key}` };

    const clusters = await first.http().get('/api/v1/clusters').set(auth).expect(200);
    expect(clusters.body.items).toEqual([
      expect.objectContaining({ name: 'local-sim', status: 'healthy', enabled: true, draining: false }),
    ]);
    const availability = await first.http().get('/api/v1/availability').set(auth).expect(200);
    const figures = availability.body.gpu_types.map(
      (t: {
        gpu_type: string;
        total_gpus: number;
        free_gpus: number;
        max_reservable: number;
        nodes: number;
      }) => [t.gpu_type, t.total_gpus, t.free_gpus, t.max_reservable, t.nodes],
    );
    expect(figures).toEqual([
      ['a100', 16, 16, 4, 4],
      ['h100', 32, 32, 8, 4],
      ['t4', 8, 8, 1, 8],
    ]);
    // One line per request; the coordinator's polling of its deployer (capacity, health), in this
    // same process, at debug. (This file's first app: nestjs-pino logs every app's requests there.)
    const requests = first.logs.lines.map((line) => String(line.msg)).filter((msg) => /^[A-Z]+ \//.test(msg));
    expect(requests).toContainEqual(
      expect.stringMatching(/^GET \/api\/v1\/clusters 200 \d+ ms admin req=\S+$/),
    );
    expect(requests.filter((msg) => /^GET \/api\/v1\/(capacity|health|deployments)/.test(msg))).toEqual([]);
    await first.runtime.close();

    // The next start finds it registered and points it at its own deployer (another port here).
    const second = await startTestApp({ roles: 'coordinator,deployer', database: first.database, env });
    const again = await second.http().get('/api/v1/clusters').set(auth).expect(200);
    const deployerUrl = second.runtime.listeners.find((l) => l.name === 'deployer')!.url;
    expect(again.body.items).toEqual([
      expect.objectContaining({ name: 'local-sim', deployer_url: deployerUrl, status: 'healthy' }),
    ]);
    await second.close();
    await first.database.drop();

    const notDevelopment = await startTestApp({
      roles: 'coordinator,deployer',
      env: { ODC_DEPLOYER_SIMULATOR: 'true' },
    });
    const rows = await notDevelopment.core().get(DataSource).query<unknown[]>('SELECT id FROM clusters');
    expect(rows).toEqual([]);
    await notDevelopment.close();
  });
});

describe('the development start’s simulated cluster across restarts', () => {
  let dataDir: string;

  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'odc-local-sim-'));
  });

  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  /** The simulated cluster as kubectl sees it, through its ready line's address. */
  const clusterOf = (app: TestApp) => {
    const server = app.runtime.listeners.find((l) => l.name === 'simulator')!.url;
    const kubeconfig = kubeConfigForServer(server);
    return {
      server,
      core: kubeconfig.makeApiClient(CoreV1Api),
      apps: kubeconfig.makeApiClient(AppsV1Api),
    };
  };

  it('remembers what the database does: a reservation and its disk stay as they were, on the same port', async () => {
    const env = {
      ...FAST_CONTROL_PLANE_ENV,
      NODE_ENV: 'development',
      ODC_LOG_FORMAT: 'json',
      ODC_DATA_DIR: dataDir,
    };
    const roles = 'coordinator,worker,cron,deployer';
    const { app: first, adminKey } = await startWithFirstAdmin({ roles, env });
    const auth = { authorization: `Bearer ${adminKey}` };
    await first.http().post('/api/v1/disks').set(auth).send({ name: 'work' }).expect(201);
    const reserved = await first
      .http()
      .post('/api/v1/reservations')
      .set(auth)
      .send({ gpu_type: 't4', gpu_count: 1, hours: 1, name: 'keep', disk: 'work' })
      .expect(202);
    const id = reserved.body.id as string;
    const externalId = (
      await first
        .core()
        .get(DataSource)
        .query<{ external_id: string }[]>('SELECT external_id FROM reservations WHERE id = $1', [id])
    )[0]!.external_id;
    const statusOf = async (app: TestApp) =>
      (await app.http().get(`/api/v1/reservations/${id}`).set(auth).expect(200)).body as {
        status: string;
        simulated?: boolean;
        ssh_command?: string;
      };
    const active = await eventually(
      () => statusOf(first),
      (r) => r.status === 'active',
    );
    expect(active.simulated).toBe(true);
    const before = clusterOf(first);
    const claims = async (cluster: ReturnType<typeof clusterOf>) =>
      (await cluster.core.listPersistentVolumeClaimForAllNamespaces()).items.map((c) => c.metadata!.name);
    const claimsBefore = await claims(before);
    expect(claimsBefore.length).toBe(1);
    await first.runtime.close();

    const second = await startTestApp({ roles, env, database: first.database });
    try {
      const after = clusterOf(second);
      expect(after.server).toBe(before.server);
      expect(await claims(after)).toEqual(claimsBefore);
      const deployments = await after.apps.listDeploymentForAllNamespaces();
      expect(deployments.items.map((d) => d.metadata!.labels?.['odc.dev/reservation'])).toEqual([id]);
      // Once the registry points local-sim at the new deployer, a status round over running
      // reservations (the first of a process asks about them) finds it running, as the database says.
      const registry = second.core().get(ClusterRegistry);
      const deployerUrl = second.runtime.listeners.find((l) => l.name === 'deployer')!.url;
      const cluster = await eventually(
        () => registry.all().find((c) => c.name === 'local-sim'),
        (found) => found?.deployerUrl === deployerUrl,
      );
      const [status] = await second.core().get(ClusterClients).for(cluster!.id).listDeployments([externalId]);
      expect(status).toEqual(expect.objectContaining({ exists: true, ready_replicas: 1 }));
      await second.core().get(StatusSyncTask).sync();
      expect((await statusOf(second)).status).toBe('active');
    } finally {
      await second.close();
      await first.database.drop();
    }
  });
});

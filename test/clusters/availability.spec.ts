import type { V1Pod } from '@kubernetes/client-node';
import { ClusterHealthTask } from '../../src/clusters/health/cluster-health.task';
import { startDeployer, DEPLOYER_TOKEN, NAMESPACE, type DeployerUnderTest } from '../deployer/fixtures';
import { startTestApp, type TestApp } from '../support/app';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { eventually } from '../support/eventually';
import { ManualClock } from '../support/manual-clock';
import { keyFor } from '../support/users';
import { FAST_TIMINGS, h100Pool } from '../support/simulator';

const H100 = 'NVIDIA-H100-80GB-HBM3';
const A10G = 'NVIDIA-A10G';

const gpuPod = (name: string, gpus: number, pool: string): V1Pod => ({
  metadata: { name, namespace: NAMESPACE },
  spec: {
    containers: [
      { name: 'main', image: 'cuda:12', resources: { limits: { 'nvidia.com/gpu': String(gpus) } } },
    ],
    nodeSelector: { 'odc.dev/node-pool': pool },
  },
});

interface TypeFigures {
  gpu_type: string;
  total_gpus: number;
  free_gpus: number;
  max_reservable: number;
  full_nodes_free: number;
  nodes: number;
  queued: number;
  clusters: { cluster: string; accepting: boolean }[];
}

/**
 * Two coordinator replicas on one database (A also runs cron; B shares its fleet-wide reads), one
 * deployer on a simulated fleet of 3 × 8 H100 and 2 × 4 A10G (and a CPU node), with 3 H100 GPUs
 * and 4 A10G GPUs in use.
 */
describe('availability after a capacity sync, seen by every replica', () => {
  let database: TestDatabase;
  let deployer: DeployerUnderTest;
  let replicaA: TestApp;
  let replicaB: TestApp;
  let adminKey: string;
  let userKey: string;
  let clusterId: string;

  beforeAll(async () => {
    deployer = await startDeployer({
      cluster: {
        nodePools: [
          h100Pool(3),
          { name: 'a10g', count: 2, cpu: '32', memory: '128Gi', gpu: { product: A10G, count: 4 } },
          { name: 'cpu', count: 1 },
        ],
        timings: FAST_TIMINGS,
      },
    });
    await deployer.k.core.createNamespacedPod({ namespace: NAMESPACE, body: gpuPod('h-3', 3, 'h100') });
    await deployer.k.core.createNamespacedPod({ namespace: NAMESPACE, body: gpuPod('a-4', 4, 'a10g') });
    database = await createTestDatabase();
    const env = { ODC_CLUSTER_HEALTH_INTERVAL_SECONDS: '3600', ODC_REGISTRY_POLL_SECONDS: '3600' };
    replicaA = await startTestApp({ roles: 'coordinator,cron', database, env });
    // B shares its reads as deployed (each computed at most every 0.5 s). Its registry's poll runs
    // on a clock no one steps: what B learns of the clusters comes by NOTIFY.
    replicaB = await startTestApp({
      roles: 'coordinator',
      database,
      env: { ...env, ODC_SHARED_READS_MAX_AGE_SECONDS: '0.5' },
      clock: new ManualClock(),
    });
    adminKey = await keyFor(replicaA, 'ops', ['clusters:admin'], { admin: true });
    userKey = await keyFor(replicaA, 'dev', []);
  });

  afterAll(async () => {
    await replicaB.close();
    await replicaA.close();
    await database.drop();
    await deployer.close();
  });

  const availability = async (replica: TestApp): Promise<TypeFigures[]> =>
    (await replica.http().get('/api/v1/availability').set('authorization', `Bearer ${userKey}`).expect(200))
      .body.gpu_types as TypeFigures[];
  const healthRound = () => replicaA.core().get(ClusterHealthTask, { strict: false }).checkAll();
  const adminCall = (replica: TestApp, path: string) =>
    replica.http().post(path).set('authorization', `Bearer ${adminKey}`).send({});

  it('matches the simulated fleet exactly once the cron has synced its capacity', async () => {
    const created = await replicaA
      .http()
      .post('/api/v1/clusters')
      .set('authorization', `Bearer ${adminKey}`)
      .send({
        name: 'fleet',
        deployer_url: deployer.app.runtime.listeners.find((l) => l.name === 'deployer')!.url,
        token: DEPLOYER_TOKEN,
        profile: {
          namespace: NAMESPACE,
          gpu_types: [
            { name: 'h100', node_selector: { 'nvidia.com/gpu.product': H100 }, gpus_per_node: 8 },
            { name: 'a10g', node_selector: { 'nvidia.com/gpu.product': A10G }, gpus_per_node: 4 },
          ],
        },
      })
      .expect(201);
    expect(created.body.status).toBe('healthy');
    clusterId = created.body.id;

    // Both pods scheduled, then one round of the cron's health checks and capacity sync.
    await eventually(
      async () => (await deployer.k.core.listNamespacedPod({ namespace: NAMESPACE })).items,
      (pods) => pods.length === 2 && pods.every((pod) => pod.spec?.nodeName),
    );
    expect(await healthRound()).toEqual([{ cluster: 'fleet', status: 'healthy', nodes: 6 }]);

    const fleet = { cluster: 'fleet', accepting: true };
    expect(await availability(replicaA)).toEqual([
      {
        gpu_type: 'a10g',
        total_gpus: 8,
        free_gpus: 4,
        max_reservable: 4,
        full_nodes_free: 1,
        nodes: 2,
        queued: 0,
        clusters: [
          { ...fleet, total_gpus: 8, free_gpus: 4, max_reservable: 4, full_nodes_free: 1, nodes: 2 },
        ],
      },
      {
        gpu_type: 'h100',
        total_gpus: 24,
        free_gpus: 21,
        max_reservable: 8,
        full_nodes_free: 2,
        nodes: 3,
        queued: 0,
        clusters: [
          { ...fleet, total_gpus: 24, free_gpus: 21, max_reservable: 8, full_nodes_free: 2, nodes: 3 },
        ],
      },
    ]);
    expect(await availability(replicaB)).toEqual(await availability(replicaA));

    const capacity = await replicaB
      .http()
      .get(`/api/v1/clusters/${clusterId}/capacity`)
      .set('authorization', `Bearer ${adminKey}`)
      .expect(200);
    expect(capacity.body.nodes).toHaveLength(6);
    expect(capacity.body.nodes.filter((n: { gpu_type: string | null }) => n.gpu_type === null)).toHaveLength(
      1,
    );
  });

  it('a drain through one replica shows in the other by NOTIFY, with no reload call and no poll', async () => {
    await adminCall(replicaA, `/api/v1/clusters/${clusterId}/drain`).expect(200);
    const seen = await eventually(
      () => availability(replicaB),
      (types) => types.every((type) => type.clusters.every((cluster) => !cluster.accepting)),
    );
    expect(seen.find((type) => type.gpu_type === 'h100')).toMatchObject({ total_gpus: 0, free_gpus: 0 });
    await adminCall(replicaB, `/api/v1/clusters/${clusterId}/undrain`).expect(200);
    await eventually(
      () => availability(replicaA),
      (types) => types.every((type) => type.total_gpus > 0),
    );
  });

  it('exports each cluster’s health and GPUs as metrics', async () => {
    const metrics = (await replicaA.http().get('/metrics').expect(200)).text;
    expect(metrics).toContain('odc_cluster_healthy{cluster="fleet"} 1');
    expect(metrics).toContain('odc_cluster_gpus{cluster="fleet",gpu_type="h100",state="free"} 21');
  });

  it('a cluster that stops answering takes no new reservations; its status says why', async () => {
    await deployer.app.close();
    const [check] = await healthRound();
    expect(check).toMatchObject({ cluster: 'fleet', status: 'unreachable', error: expect.any(String) });
    const types = await availability(replicaA);
    expect(types.find((type) => type.gpu_type === 'h100')).toMatchObject({
      total_gpus: 0,
      clusters: [{ cluster: 'fleet', accepting: false }],
    });
    const cluster = await replicaB
      .http()
      .get(`/api/v1/clusters/${clusterId}`)
      .set('authorization', `Bearer ${adminKey}`)
      .expect(200);
    expect(cluster.body).toMatchObject({ status: 'unreachable', last_error: expect.any(String) });
  });
});

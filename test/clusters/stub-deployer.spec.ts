/**
 * The benchmarks' stub deployer (bench/stub-deployer.ts) against what the coordinator makes of a
 * deployer: its own DeployerClient, the spec it builds for a reservation (manifests.ts), the
 * capacity rows and the workload checks status sync applies. If the contract moves and the stub
 * does not, this fails before a benchmark measures the wrong thing.
 */
import { DeployerClient, type DeployerClientSettings } from '../../src/clusters/client/deployer-client';
import {
  DeployerAuthFailed,
  DeployerRequestRejected,
} from '../../src/clusters/client/deployer-client.errors';
import { capacityRows } from '../../src/clusters/capacity/capacity-rows';
import type { ClusterProfile } from '../../src/clusters/dto/cluster-profile.dto';
import { MAX_EXTERNAL_IDS } from '../../src/deployer/contract';
import { workloadProblem, workloadReady } from '../../src/reservations/lifecycle/workload-health';
import { buildDeploymentSpec, noticeText } from '../../src/reservations/provisioning/manifests';
import { startStubDeployer, type StubDeployer } from '../../bench/stub-deployer';

const SETTINGS: DeployerClientSettings = {
  connectTimeoutMs: 1_000,
  requestTimeoutMs: 2_000,
  concurrency: 4,
  statusConcurrency: 2,
  retries: 0,
  breakerFailures: 100,
  breakerOpenMs: 1_000,
};
const H100 = 'NVIDIA-H100-80GB-HBM3';
const TOKEN = 'stub-token';
const PROFILE: ClusterProfile = {
  namespace: 'gpu-dev',
  ssh_host: 'gpu.example.com',
  gpu_types: [{ name: 'h100', node_selector: { 'nvidia.com/gpu.product': H100 }, gpus_per_node: 8 }],
};

/** The spec the provision worker would send for a reservation of `gpus` on `node`. */
function specFor(externalId: string, node: string, gpus: number, jupyter = false) {
  return buildDeploymentSpec({
    reservation: {
      id: `00000000-0000-4000-8000-${externalId.slice(-12).padStart(12, '0')}`,
      externalId,
      name: null,
      gpuCount: gpus,
      image: null,
      jupyter,
      nodeName: node,
      expiresAt: null,
      durationMinutes: 60,
      extendedMinutes: 0,
      nodeLabels: null,
    },
    owner: { id: 'u-1', username: 'alice', sshKeys: ['ssh-ed25519 AAAA alice'] },
    secondaryUsers: [],
    cluster: {
      name: 'stub0',
      profile: { ...PROFILE, ...(jupyter ? { ingress_domain: 'dev.example.com' } : {}) },
    },
    gpuType: { name: 'h100', resourceName: 'nvidia.com/gpu' },
    defaultImage: 'ghcr.io/odc/devbox:latest',
    notice: noticeText({ externalId, username: 'alice', expiresAt: null }),
  });
}

describe('stub deployer', () => {
  let clock = 1_000_000;
  let stub: StubDeployer;
  let client: DeployerClient;
  const node = (i: number) => `stub0-gpu-${String(i).padStart(4, '0')}`;

  beforeEach(async () => {
    clock = 1_000_000;
    stub = await startStubDeployer({
      name: 'stub0',
      nodes: 3,
      gpusPerNode: 8,
      gpuProduct: H100,
      token: TOKEN,
      readyDelayMs: 500,
      now: () => clock,
    });
    client = new DeployerClient({ clusterId: 'c-1', name: 'stub0', url: stub.url, token: TOKEN }, SETTINGS);
  });

  afterEach(async () => {
    await client.close();
    await stub.close();
  });

  it('answers the probe and health, and refuses a wrong token', async () => {
    expect(await client.probe()).toEqual({ status: 'healthy' });
    expect((await client.health()).namespaces).toEqual(['gpu-dev']);
    const stranger = new DeployerClient(
      { clusterId: 'c-1', name: 'stub0', url: stub.url, token: 'nope' },
      SETTINGS,
    );
    try {
      expect((await stranger.probe()).status).toBe('auth_failed');
      await expect(stranger.capacity()).rejects.toBeInstanceOf(DeployerAuthFailed);
    } finally {
      await stranger.close();
    }
  });

  it('reports N nodes × 8 GPUs that the profile recognises as h100', async () => {
    const report = await client.capacity();
    expect(report.nodes).toHaveLength(3);
    expect(report.totals).toEqual([
      { gpu_type: H100, nodes: 3, allocatable_gpus: 24, requested_gpus: 0, free_gpus: 24 },
    ]);
    const rows = capacityRows('c-1', PROFILE, report, new Date());
    expect(rows.map((row) => [row.nodeName, row.gpuType, row.allocatableGpus, row.ready, row.zone])).toEqual([
      [node(0), 'h100', 8, true, 'stub-a'],
      [node(1), 'h100', 8, true, 'stub-a'],
      [node(2), 'h100', 8, true, 'stub-a'],
    ]);
  });

  it('applies a reservation’s spec on its pinned node; ready with SSH after the delay', async () => {
    const applied = await client.applyDeployment(specFor('odc-000000000001', node(1), 2, true));
    expect(applied.external_id).toBe('odc-000000000001');
    expect(applied.objects.map((o) => [o.kind, o.action])).toEqual([
      ['ConfigMap', 'created'],
      ['Service', 'created'],
      ['Ingress', 'created'],
      ['PodDisruptionBudget', 'created'],
      ['Deployment', 'created'],
    ]);
    const [starting] = await client.listDeployments(['odc-000000000001']);
    expect(workloadReady(starting)).toBe(false);
    expect(workloadProblem(starting)).toBeUndefined();
    expect(starting!.pods[0]).toMatchObject({ phase: 'Pending', ready: false, node: node(1) });

    clock += 500;
    const [ready] = await client.listDeployments(['odc-000000000001']);
    expect(workloadReady(ready)).toBe(true);
    expect(ready).toMatchObject({
      exists: true,
      ready_replicas: 1,
      ssh: { node: node(1), host_ip: '10.0.0.1' },
      jupyter_host: 'odc-000000000001.dev.example.com',
    });
    expect(ready!.ssh!.node_port).toBeGreaterThanOrEqual(30000);
    expect(ready!.ssh!.node_port).toBeLessThanOrEqual(32767);
    expect(await client.deploymentStatus('odc-000000000001')).toEqual(ready);

    const capacity = await client.capacity();
    expect(capacity.nodes[1]).toMatchObject({ requested_gpus: 2, managed_gpus: 2 });
  });

  it('answers a repeat as unchanged (200), a changed notice as configured, and a delete as gone', async () => {
    const spec = specFor('odc-000000000002', node(0), 1);
    await client.applyDeployment(spec);
    const again = await client.applyDeployment(spec);
    expect(new Set(again.objects.map((o) => o.action))).toEqual(new Set(['unchanged']));
    const renoticed = structuredClone(spec);
    renoticed.config_maps![0]!.data = { notice: 'Expires at: soon\n' };
    const changed = await client.applyDeployment(renoticed);
    expect(changed.objects.find((o) => o.kind === 'ConfigMap')?.action).toBe('configured');
    expect(changed.objects.find((o) => o.kind === 'Deployment')?.action).toBe('unchanged');

    await client.deleteDeployment('odc-000000000002');
    await client.deleteDeployment('odc-000000000002'); // gone already: fine
    expect(await client.listDeployments(['odc-000000000002'])).toEqual([]);
    const gone = await client.deploymentStatus('odc-000000000002');
    expect(gone.exists).toBe(false);
    expect(workloadProblem(gone)).toBe('its objects are gone from the cluster');
    expect((await client.capacity()).nodes[0]!.requested_gpus).toBe(0);
  });

  it('leaves a pod Pending on an overbooked node until its GPUs free up', async () => {
    await client.applyDeployment(specFor('odc-000000000003', node(2), 8));
    await client.applyDeployment(specFor('odc-000000000004', node(2), 1));
    clock += 1_000;
    const [first, second] = await client.listDeployments(['odc-000000000003', 'odc-000000000004']);
    expect(workloadReady(first)).toBe(true);
    expect(workloadReady(second)).toBe(false);
    expect(second!.pods[0]!.scheduling_message).toMatch(/Insufficient GPUs/);
    expect(stub.stats.unschedulable).toBe(1);

    await client.deleteDeployment('odc-000000000003');
    const [now] = await client.listDeployments(['odc-000000000004']);
    expect(now!.pods[0]).toMatchObject({ node: node(2) });
  });

  it('lists more external ids than one call takes, in the client’s chunks', async () => {
    const ids = Array.from({ length: MAX_EXTERNAL_IDS + 20 }, (_, i) => `odc-${String(i).padStart(12, '0')}`);
    for (const id of ids.slice(0, 5)) {
      await client.applyDeployment(specFor(id, node(0), 1));
    }
    const listed = await client.listDeployments(ids);
    expect(listed.map((s) => s.external_id)).toEqual(ids.slice(0, 5));
    expect(stub.stats.lists).toBe(2);
    expect((await client.listDeployments()).map((s) => s.external_id)).toEqual(ids.slice(0, 5));
  });

  it('refuses a spec without an external id as a bad request', async () => {
    const spec = specFor('odc-000000000005', node(0), 1);
    await expect(
      client.applyDeployment({ ...spec, metadata: { ...spec.metadata, external_id: '' } }),
    ).rejects.toBeInstanceOf(DeployerRequestRejected);
  });
});

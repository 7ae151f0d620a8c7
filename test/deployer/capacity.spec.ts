import request from 'supertest';
import type { V1Pod } from '@kubernetes/client-node';
import { startTestApp, type TestApp } from '../support/app';
import { eventually } from '../support/eventually';
import {
  FAST_TIMINGS,
  h100Pool,
  itSimulatorOnly,
  startKubeTarget,
  uniqueName,
  type KubeClients,
  type KubeTarget,
} from '../support/simulator';
import { NAMESPACE, reservationSpec } from './fixtures';

const OTHER_TEAM = uniqueName('other-team');

const gpuPod = (name: string, namespace: string, gpus: number, pool: string): V1Pod => ({
  metadata: { name, namespace },
  spec: {
    containers: [
      { name: 'main', image: 'cuda:12', resources: { limits: { 'nvidia.com/gpu': String(gpus) } } },
    ],
    nodeSelector: { 'odc.dev/node-pool': pool },
  },
});

describe('deployer /capacity and the batched /deployments', () => {
  let target: KubeTarget;
  let app: TestApp;
  let k: KubeClients;
  const api = () => request(app.runtime.deployer!.getHttpServer());

  beforeAll(async () => {
    target = await startKubeTarget(
      {
        name: 'mix',
        nodePools: [
          h100Pool(2),
          { name: 'a10g', count: 3, cpu: '32', memory: '128Gi', gpu: { product: 'NVIDIA-A10G', count: 4 } },
          { name: 'cpu', count: 1, cpu: '16', memory: '64Gi' },
        ],
        timings: FAST_TIMINGS,
      },
      [NAMESPACE, OTHER_TEAM],
    );
    k = target.k;
    app = await startTestApp({
      roles: 'deployer',
      env: { ODC_KUBECONFIG_BASE64: target.kubeconfigBase64, ODC_DEPLOYER_NAMESPACES: NAMESPACE },
    });
  });

  afterAll(async () => {
    await app?.close();
    await target?.close();
  });

  // Totals of a fleet of its own, and a pod's status set by hand.
  itSimulatorOnly('ownCluster')(
    'matches the nodes and the GPUs of running pods exactly, whoever runs them',
    async () => {
      await k.core.createNamespacedPod({
        namespace: OTHER_TEAM,
        body: gpuPod('h-a', OTHER_TEAM, 8, 'h100'),
      });
      // One of ODC's own (the deployer's label): counted as managed as well as requested.
      const managedPod = gpuPod('h-b', NAMESPACE, 3, 'h100');
      managedPod.metadata!.labels = { 'app.kubernetes.io/managed-by': 'odc-deployer' };
      await k.core.createNamespacedPod({ namespace: NAMESPACE, body: managedPod });
      await k.core.createNamespacedPod({ namespace: NAMESPACE, body: gpuPod('a-a', NAMESPACE, 2, 'a10g') });
      await k.core.createNamespacedPod({ namespace: NAMESPACE, body: gpuPod('done', NAMESPACE, 4, 'a10g') });
      await eventually(
        () => k.core.listPodForAllNamespaces(),
        (l) => l.items.filter((p) => p.status?.phase === 'Running').length === 4,
      );
      await fetch(`${target.url}/api/v1/namespaces/${NAMESPACE}/pods/done/status`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/merge-patch+json' },
        body: JSON.stringify({ status: { phase: 'Succeeded' } }),
      });

      const { body } = await api().get('/api/v1/capacity').expect(200);
      const pods = (await k.core.listPodForAllNamespaces()).items.filter(
        (p) => !['Succeeded', 'Failed'].includes(p.status?.phase ?? ''),
      );
      const gpusOn = (nodeName: string, managedBy?: string) =>
        pods
          .filter((p) => p.spec!.nodeName === nodeName)
          .filter((p) => !managedBy || p.metadata?.labels?.['app.kubernetes.io/managed-by'] === managedBy)
          .reduce((sum, p) => sum + Number(p.spec!.containers[0]!.resources!.limits!['nvidia.com/gpu']), 0);
      const expected = (await k.core.listNode()).items.map((node) => ({
        name: node.metadata!.name!,
        ...(node.metadata!.labels!['nvidia.com/gpu.product']
          ? { gpu_type: node.metadata!.labels!['nvidia.com/gpu.product'] }
          : {}),
        labels: node.metadata!.labels,
        allocatable_gpus: Number(node.status!.allocatable!['nvidia.com/gpu'] ?? 0),
        requested_gpus: gpusOn(node.metadata!.name!),
        managed_gpus: gpusOn(node.metadata!.name!, 'odc-deployer'),
        ready: true,
        schedulable: true,
      }));
      expect(body.nodes).toEqual(expected);
      expect(
        body.nodes
          .map((n: { managed_gpus: number }) => n.managed_gpus)
          .reduce((a: number, b: number) => a + b),
      ).toBe(3);
      expect(body.totals).toEqual([
        { gpu_type: 'NVIDIA-A10G', nodes: 3, allocatable_gpus: 12, requested_gpus: 2, free_gpus: 10 },
        {
          gpu_type: 'NVIDIA-H100-80GB-HBM3',
          nodes: 2,
          allocatable_gpus: 16,
          requested_gpus: 11,
          free_gpus: 5,
        },
      ]);
    },
  );

  it('lists every managed deployment with its status in one answer', async () => {
    for (const id of ['res-x', 'res-y']) {
      const spec = reservationSpec(id);
      delete spec.persistent_volume_claims;
      await api().post('/api/v1/deployments').send(spec).expect(201);
    }
    const listed = await eventually(
      async () =>
        (await api().get('/api/v1/deployments').expect(200)).body as {
          external_id: string;
          ready_replicas: number;
        }[],
      (list) => list.length === 2 && list.every((d) => d.ready_replicas === 1),
    );
    expect(listed.map((d) => d.external_id)).toEqual(['res-x', 'res-y']);
  });

  it('lists only the deployments named (one selector), and refuses a malformed or too long list', async () => {
    const only = (ids: string) => api().get(`/api/v1/deployments?external_id=${ids}`);
    const named = (await only('res-y,res-gone').expect(200)).body as { external_id: string }[];
    expect(named.map((d) => d.external_id)).toEqual(['res-y']);
    expect((await only('res-x').expect(200)).body).toHaveLength(1);
    const bad = await only('Res_X').expect(400);
    expect(bad.body).toMatchObject({ code: 'validation_failed' });
    const many = Array.from({ length: 101 }, (_, i) => `r${i}`).join(',');
    expect((await only(many).expect(400)).body.fields[0].problems[0]).toContain('at most 100');
  });
});

import type { V1Pod } from '@kubernetes/client-node';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { withDefaults } from '../../src/simulator/config';
import { SimulatedCluster } from '../../src/simulator/cluster';
import { eventually } from '../support/eventually';
import { h100Pool } from '../support/simulator';
import { kubeClients, statusOf } from './kube';

const gpuPod = (
  name: string,
  gpus: number,
  extra: Partial<V1Pod['spec']> = {},
  image = 'pytorch:2',
): V1Pod => ({
  metadata: { name, labels: { test: 'sched' } },
  spec: {
    containers: [{ name: 'main', image, resources: { limits: { 'nvidia.com/gpu': String(gpus) } } }],
    tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }],
    ...extra,
  },
});

describe('simulated cluster behaviour', () => {
  let cluster: SimulatedCluster;
  let k: ReturnType<typeof kubeClients>;

  beforeAll(async () => {
    cluster = await SimulatedCluster.start(
      withDefaults({
        name: 'sim',
        nodePools: [
          h100Pool(2, {
            zone: 'a',
            taints: [{ key: 'nvidia.com/gpu', value: 'present', effect: 'NoSchedule' }],
          }),
          { name: 'cpu', count: 1, cpu: '8', memory: '32Gi', zone: 'a' },
        ],
        timings: { startMs: 20, readyMs: 20, pvcBindMs: 20, snapshotReadyMs: 40, jobRunMs: 40 },
      }),
    );
    k = kubeClients(cluster.url);
  });

  afterAll(() => cluster.close());

  const read = (name: string) => k.core.readNamespacedPod({ namespace: 'default', name });
  const nodeOf = async (name: string) =>
    (
      await eventually(
        () => read(name),
        (p) => Boolean(p.spec?.nodeName),
      )
    ).spec!.nodeName!;
  const remove = (...names: string[]) =>
    Promise.all(names.map((name) => k.core.deleteNamespacedPod({ namespace: 'default', name })));

  it('registers nodes from the pools, with GPU labels and allocatable GPUs', async () => {
    const nodes = (await k.core.listNode()).items;
    expect(nodes.map((n) => n.metadata!.name)).toEqual(['sim-cpu-0', 'sim-h100-0', 'sim-h100-1']);
    const gpuNode = nodes.find((n) => n.metadata!.name === 'sim-h100-0')!;
    expect(gpuNode.metadata!.labels).toMatchObject({
      'nvidia.com/gpu.product': 'NVIDIA-H100-80GB-HBM3',
      'topology.kubernetes.io/zone': 'a',
    });
    expect(gpuNode.status!.allocatable).toMatchObject({ 'nvidia.com/gpu': '8', cpu: '96' });
    expect(gpuNode.spec!.taints).toEqual([{ key: 'nvidia.com/gpu', value: 'present', effect: 'NoSchedule' }]);
  });

  it('packs GPU pods: two 4-GPU pods share a node, keeping the other whole for an 8-GPU pod', async () => {
    await k.core.createNamespacedPod({ namespace: 'default', body: gpuPod('pack-a', 4) });
    const first = await nodeOf('pack-a');
    await k.core.createNamespacedPod({ namespace: 'default', body: gpuPod('pack-b', 4) });
    expect(await nodeOf('pack-b')).toBe(first);
    await k.core.createNamespacedPod({ namespace: 'default', body: gpuPod('pack-c', 8) });
    const third = await nodeOf('pack-c');
    expect(third).not.toBe(first);
    expect(third).toMatch(/^sim-h100-/);
    await remove('pack-a', 'pack-b', 'pack-c');
  });

  it('keeps a pod that fits nowhere Pending, with PodScheduled=False and one FailedScheduling event; schedules it once room frees up', async () => {
    await k.core.createNamespacedPod({ namespace: 'default', body: gpuPod('hog-1', 8) });
    await k.core.createNamespacedPod({ namespace: 'default', body: gpuPod('hog-2', 8) });
    await Promise.all([nodeOf('hog-1'), nodeOf('hog-2')]);
    await k.core.createNamespacedPod({ namespace: 'default', body: gpuPod('waiting', 2) });
    const pending = await eventually(
      () => read('waiting'),
      (p) => p.status?.conditions?.some((c) => c.type === 'PodScheduled' && c.status === 'False') === true,
    );
    const scheduled = pending.status!.conditions!.find((c) => c.type === 'PodScheduled')!;
    expect(pending.status!.phase).toBe('Pending');
    expect(scheduled).toMatchObject({ reason: 'Unschedulable' });
    expect(scheduled.message).toBe(
      '0/3 nodes are available: 3 Insufficient nvidia.com/gpu. preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, 2 No preemption victims found for incoming pod.',
    );
    const events = await k.core.listNamespacedEvent({
      namespace: 'default',
      fieldSelector: 'metadata.namespace=default',
    });
    const failed = events.items.filter(
      (e) => e.involvedObject.name === 'waiting' && e.reason === 'FailedScheduling',
    );
    expect(failed).toHaveLength(1);
    expect(failed[0]!.type).toBe('Warning');

    await remove('hog-1');
    expect(await nodeOf('waiting')).toMatch(/^sim-h100-/);
    await remove('hog-2', 'waiting');
  });

  it('honours taints: a GPU pod without the toleration does not land on a tainted node', async () => {
    await k.core.createNamespacedPod({
      namespace: 'default',
      body: gpuPod('intolerant', 1, { tolerations: [] }),
    });
    const pod = await eventually(
      () => read('intolerant'),
      (p) => p.status?.conditions?.some((c) => c.reason === 'Unschedulable') === true,
    );
    expect(pod.status!.conditions!.find((c) => c.type === 'PodScheduled')!.message).toBe(
      '0/3 nodes are available: 1 Insufficient nvidia.com/gpu, 2 node(s) had untolerated taint {nvidia.com/gpu: present}. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.',
    );
    await remove('intolerant');
  });

  it('honours nodeSelector and required node affinity', async () => {
    await k.core.createNamespacedPod({
      namespace: 'default',
      body: {
        metadata: { name: 'pinned' },
        spec: {
          containers: [{ name: 'main', image: 'busybox' }],
          tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists' }],
          affinity: {
            nodeAffinity: {
              requiredDuringSchedulingIgnoredDuringExecution: {
                nodeSelectorTerms: [
                  {
                    matchExpressions: [
                      { key: 'kubernetes.io/hostname', operator: 'In', values: ['sim-h100-1'] },
                    ],
                  },
                ],
              },
            },
          },
        },
      },
    });
    expect(await nodeOf('pinned')).toBe('sim-h100-1');
    await k.core.createNamespacedPod({
      namespace: 'default',
      body: {
        metadata: { name: 'nowhere' },
        spec: { containers: [{ name: 'main', image: 'busybox' }], nodeSelector: { pool: 'missing' } },
      },
    });
    const pod = await eventually(
      () => read('nowhere'),
      (p) => p.status?.conditions?.some((c) => c.reason === 'Unschedulable') === true,
    );
    expect(pod.status!.conditions![0]!.message).toContain(
      "node(s) didn't match Pod's node affinity/selector",
    );
    await remove('pinned', 'nowhere');
  });

  it('runs a pod: Pending → Running → Ready, and serves its log', async () => {
    await k.core.createNamespacedPod({
      namespace: 'default',
      body: { metadata: { name: 'lifecycle' }, spec: { containers: [{ name: 'main', image: 'busybox' }] } },
    });
    const ready = await eventually(
      () => read('lifecycle'),
      (p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true,
    );
    expect(ready.status).toMatchObject({ phase: 'Running', podIP: expect.any(String) });
    expect(ready.status!.containerStatuses![0]).toMatchObject({
      name: 'main',
      ready: true,
      state: { running: expect.any(Object) },
    });
    const log = await k.core.readNamespacedPodLog({ namespace: 'default', name: 'lifecycle' });
    expect(log).toContain('pod default/lifecycle container main image busybox');
    await remove('lifecycle');
  });

  it('runs a Deployment through a ReplicaSet, and its status follows the pods', async () => {
    await k.apps.createNamespacedDeployment({
      namespace: 'default',
      body: {
        metadata: { name: 'web' },
        spec: {
          replicas: 2,
          selector: { matchLabels: { app: 'web' } },
          template: {
            metadata: { labels: { app: 'web' } },
            spec: { containers: [{ name: 'app', image: 'nginx:1' }] },
          },
        },
      },
    });
    const ready = await eventually(
      () => k.apps.readNamespacedDeployment({ namespace: 'default', name: 'web' }),
      (d) => d.status?.readyReplicas === 2,
    );
    expect(ready.status).toMatchObject({ replicas: 2, availableReplicas: 2, observedGeneration: 1 });
    expect(ready.status!.conditions!.find((c) => c.type === 'Available')!.status).toBe('True');
    const pods = await k.core.listNamespacedPod({ namespace: 'default', labelSelector: 'app=web' });
    expect(pods.items).toHaveLength(2);
    expect(pods.items[0]!.metadata!.ownerReferences![0]).toMatchObject({
      kind: 'ReplicaSet',
      controller: true,
    });

    await k.apps.patchNamespacedDeployment(
      { namespace: 'default', name: 'web', body: { spec: { replicas: 1 } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    await eventually(
      () => k.core.listNamespacedPod({ namespace: 'default', labelSelector: 'app=web' }),
      (list) => list.items.length === 1,
    );
    await k.apps.deleteNamespacedDeployment({ namespace: 'default', name: 'web' });
    await eventually(
      () => k.core.listNamespacedPod({ namespace: 'default', labelSelector: 'app=web' }),
      (list) => list.items.length === 0,
    );
  });

  it('completes a Job', async () => {
    await k.objects.create({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'copy', namespace: 'default' },
      spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox' }] } } },
    } as never);
    const job = await eventually(
      () =>
        k.objects.read({
          apiVersion: 'batch/v1',
          kind: 'Job',
          metadata: { name: 'copy', namespace: 'default' },
        }),
      (j) => (j as { status?: { succeeded?: number } }).status?.succeeded === 1,
    );
    expect(
      (job as { status: { conditions: { type: string }[] } }).status.conditions.map((c) => c.type),
    ).toContain('Complete');
  });

  it('binds a PVC with a StorageClass, cuts a snapshot, and restores a PVC from it', async () => {
    await k.core.createNamespacedPersistentVolumeClaim({
      namespace: 'default',
      body: {
        metadata: { name: 'work' },
        spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '100Gi' } } },
      },
    });
    const bound = await eventually(
      () => k.core.readNamespacedPersistentVolumeClaim({ namespace: 'default', name: 'work' }),
      (c) => c.status?.phase === 'Bound',
    );
    expect(bound.spec!.volumeName).toMatch(/^pvc-/);
    expect(bound.spec!.storageClassName).toBe('standard');
    await k.core.readPersistentVolume({ name: bound.spec!.volumeName! });

    await k.core.createNamespacedPersistentVolumeClaim({
      namespace: 'default',
      body: {
        metadata: { name: 'classless' },
        spec: {
          storageClassName: 'missing',
          accessModes: ['ReadWriteOnce'],
          resources: { requests: { storage: '1Gi' } },
        },
      },
    });

    await k.objects.create({
      apiVersion: 'snapshot.storage.k8s.io/v1',
      kind: 'VolumeSnapshot',
      metadata: { name: 'work-snap', namespace: 'default' },
      spec: { volumeSnapshotClassName: 'standard-snapshots', source: { persistentVolumeClaimName: 'work' } },
    } as never);
    const snapshot = await eventually(
      () =>
        k.objects.read({
          apiVersion: 'snapshot.storage.k8s.io/v1',
          kind: 'VolumeSnapshot',
          metadata: { name: 'work-snap', namespace: 'default' },
        }),
      (s) => (s as { status?: { readyToUse?: boolean } }).status?.readyToUse === true,
    );
    expect((snapshot as { status: { restoreSize: string } }).status.restoreSize).toBe('100Gi');

    const restore = (name: string, storage: string) =>
      k.core.createNamespacedPersistentVolumeClaim({
        namespace: 'default',
        body: {
          metadata: { name },
          spec: {
            accessModes: ['ReadWriteOnce'],
            resources: { requests: { storage } },
            dataSource: { apiGroup: 'snapshot.storage.k8s.io', kind: 'VolumeSnapshot', name: 'work-snap' },
          },
        },
      });
    // A restore asks for at least the snapshot's size; a smaller one is refused, as csi-provisioner does.
    await restore('restored', '100Gi');
    await restore('too-small', '10Gi');
    const restored = await eventually(
      () => k.core.readNamespacedPersistentVolumeClaim({ namespace: 'default', name: 'restored' }),
      (c) => c.status?.phase === 'Bound',
    );
    expect(restored.status!.capacity).toEqual({ storage: '100Gi' });
    const refusal = await eventually(
      async () =>
        (
          await k.core.listNamespacedEvent({
            namespace: 'default',
            fieldSelector: 'involvedObject.name=too-small,reason=ProvisioningFailed',
          })
        ).items,
      (events) => events.length > 0,
    );
    expect(refusal.map((e) => [e.type, e.message])).toEqual([
      [
        'Warning',
        `error getting handle for DataSource Type VolumeSnapshot by Name work-snap: requested volume size ${10 * 2 ** 30} is less than the size ${100 * 2 ** 30} for the source snapshot work-snap`,
      ],
    ]);
    expect(
      (await k.core.readNamespacedPersistentVolumeClaim({ namespace: 'default', name: 'too-small' })).status,
    ).toEqual({ phase: 'Pending' });
    expect(
      (await k.core.readNamespacedPersistentVolumeClaim({ namespace: 'default', name: 'classless' })).status!
        .phase,
    ).toBe('Pending');
  });

  describe('fault injection', () => {
    afterEach(() =>
      cluster.setFaults({ latencyMs: 0, jitterMs: 0, errorRate: 0, imagePullFailure: undefined }),
    );

    it('fails image pulls that match the pattern', async () => {
      cluster.setFaults({ imagePullFailure: '^broken/' });
      await k.core.createNamespacedPod({
        namespace: 'default',
        body: {
          metadata: { name: 'bad-image' },
          spec: { containers: [{ name: 'main', image: 'broken/app:1' }] },
        },
      });
      const pod = await eventually(
        () => read('bad-image'),
        (p) => Boolean(p.status?.containerStatuses?.[0]?.state?.waiting),
      );
      expect(pod.status!.containerStatuses![0]!.state!.waiting!.reason).toBe('ErrImagePull');
      expect(pod.status!.phase).toBe('Pending');
      await remove('bad-image');
    });

    it('fails the pods of a node that goes NotReady, and schedules around it', async () => {
      await k.core.createNamespacedPod({
        namespace: 'default',
        body: {
          metadata: { name: 'on-cpu' },
          spec: {
            containers: [{ name: 'main', image: 'busybox' }],
            nodeSelector: { 'odc.dev/node-pool': 'cpu' },
          },
        },
      });
      await eventually(
        () => read('on-cpu'),
        (p) => p.status?.phase === 'Running',
      );
      cluster.setNodeReady('sim-cpu-0', false);
      const failed = await eventually(
        () => read('on-cpu'),
        (p) => p.status?.phase === 'Failed',
      );
      expect(failed.status!.reason).toBe('NodeLost');
      cluster.setNodeReady('sim-cpu-0', true);
      await remove('on-cpu');
    });

    it('adds latency and answers injected errors as 500 Status', async () => {
      cluster.setFaults({ latencyMs: 60 });
      const started = Date.now();
      await k.core.listNamespacedPod({ namespace: 'default' });
      expect(Date.now() - started).toBeGreaterThanOrEqual(55);
      cluster.setFaults({ latencyMs: 0, errorRate: 1 });
      expect(await statusOf(k.core.listNamespacedPod({ namespace: 'default' }))).toMatchObject({
        code: 500,
        reason: 'InternalError',
      });
    });
  });
});

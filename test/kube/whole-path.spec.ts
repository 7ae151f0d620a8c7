/**
 * The whole path against the real tier: a coordinator with every core role and two clusters, `real`
 * (the real API server of `npm run kube:up` behind a deployer, preferred) and `sim` (a simulated
 * one). On `real`: reserve → placed → active (the real scheduler binds the pod, kwok makes it
 * Running and Ready) → extend → cancel (the real garbage collector removes what the Deployment
 * owned); a disk held, snapshotted at the end by the real CSI snapshotter and mounted again by the
 * next reservation; and a reservation `real` refuses (its namespace's ResourceQuota allows no
 * NodePort) lands on `sim`.
 *
 * The real fleet is shared by every spec of the tier: this one takes two of its H100 nodes, labelled
 * for this run, and names that label in the cluster's profile.
 */
import { PatchStrategy, setHeaderOptions, type V1Node } from '@kubernetes/client-node';
import { SimulatedCluster } from '../../src/simulator/cluster';
import { withDefaults } from '../../src/simulator/config';
import {
  DEPLOYER_TOKEN,
  NAMESPACE,
  kubeconfigBase64,
  startDeployer,
  type DeployerUnderTest,
} from '../deployer/fixtures';
import { kubeClients } from '../simulator/kube';
import { FAST_CONTROL_PLANE_ENV, startTestApp, type TestApp } from '../support/app';
import { eventually } from '../support/eventually';
import { FAST_TIMINGS, KUBE_TARGET, NAMESPACE_LABELS, h100Pool, uniqueName } from '../support/simulator';
import { keyFor } from '../support/users';

const H100 = 'NVIDIA-H100-80GB-HBM3';
const PRODUCT_LABEL = 'nvidia.com/gpu.product';
const SLICE_LABEL = 'odc.dev/test-slice';
const RESERVATION_LABEL = 'odc.dev/reservation';
const SNAPSHOTS = 'snapshot.storage.k8s.io/v1';

interface Shown {
  id: string;
  status: string;
  cluster?: string;
  node?: string;
  expires_at?: string;
  ssh_command?: string;
  events: { from?: string; to?: string; message: string }[];
}

const describeReal = KUBE_TARGET === 'real' ? describe : describe.skip;

describeReal('the whole path on a real API server, and a second cluster when it refuses', () => {
  const slice = uniqueName('whole-path');
  let real: DeployerUnderTest;
  let simulated: SimulatedCluster;
  let simDeployer: TestApp;
  let app: TestApp;
  let admin: string;
  let alice: string;
  let sliced: string[] = [];
  let storage: { storageClass: string; snapshotClass: string } | undefined;

  beforeAll(async () => {
    real = await startDeployer();
    sliced = await takeNodes(real, 2);
    storage = await storageOf(real);

    simulated = await SimulatedCluster.start(
      withDefaults({ nodePools: [h100Pool(1)], timings: FAST_TIMINGS }),
    );
    const sim = kubeClients(simulated.url);
    await sim.core.createNamespace({
      body: { metadata: { name: NAMESPACE, labels: { ...NAMESPACE_LABELS } } },
    });
    simDeployer = await startTestApp({
      roles: 'deployer',
      env: {
        ODC_KUBECONFIG_BASE64: kubeconfigBase64(simulated.url),
        ODC_DEPLOYER_NAMESPACES: NAMESPACE,
        ODC_DEPLOYER_TOKEN: DEPLOYER_TOKEN,
      },
    });

    app = await startTestApp({
      roles: 'coordinator,worker,cron',
      env: {
        ...FAST_CONTROL_PLANE_ENV,
        ODC_STORAGE_INTERVAL_SECONDS: '1',
        ODC_MAX_GPUS_PER_USER: '64',
        ODC_MAX_QUEUED_PER_USER: '32',
      },
    });
    admin = await keyFor(app, 'ops', ['clusters:admin'], { admin: true });
    await register('real', real.app, 10, {
      node_selector: { [PRODUCT_LABEL]: H100, [SLICE_LABEL]: slice },
      ...(storage
        ? { storage_class: storage.storageClass, volume_snapshot_class: storage.snapshotClass }
        : {}),
    });
    await register('sim', simDeployer, 100, { node_selector: { [PRODUCT_LABEL]: H100 } });
    alice = await keyFor(app, 'alice', [
      'reservations:read',
      'reservations:write',
      'disks:read',
      'disks:write',
    ]);
  }, 120_000);

  afterAll(async () => {
    await app?.close();
    await simDeployer?.close();
    await simulated?.close();
    for (const name of sliced) {
      await real.k.core.patchNode(
        { name, body: { metadata: { labels: { [SLICE_LABEL]: null } } } },
        mergePatch,
      );
    }
    await real?.close();
  }, 120_000);

  async function register(
    name: string,
    deployer: TestApp,
    priority: number,
    profile: {
      node_selector: Record<string, string>;
      storage_class?: string;
      volume_snapshot_class?: string;
    },
  ) {
    const { node_selector, ...rest } = profile;
    await app
      .http()
      .post('/api/v1/clusters')
      .set('authorization', `Bearer ${admin}`)
      .send({
        name,
        priority,
        deployer_url: deployer.runtime.listeners.find((l) => l.name === 'deployer')!.url,
        token: DEPLOYER_TOKEN,
        profile: {
          namespace: NAMESPACE,
          storage_domain: `${name}-${slice}`,
          ...rest,
          gpu_types: [{ name: 'h100', node_selector, gpus_per_node: 8 }],
        },
      })
      .expect(201);
  }

  const api = () => app.http();
  const as = (call: ReturnType<ReturnType<typeof api>['get']>) =>
    call.set('authorization', `Bearer ${alice}`);
  const reserve = async (body: object): Promise<Shown> =>
    (await as(api().post('/api/v1/reservations')).send(body).expect(202)).body as Shown;
  const show = async (id: string): Promise<Shown> =>
    (await as(api().get(`/api/v1/reservations/${id}`)).expect(200)).body as Shown;
  const until = (id: string, status: string, timeout = 60_000) =>
    eventually(
      () => show(id),
      (r) => r.status === status,
      timeout,
    );
  const objectsOf = async (id: string) => {
    const selector = { namespace: NAMESPACE, labelSelector: `${RESERVATION_LABEL}=${id}` };
    const [deployments, replicaSets, pods, services] = await Promise.all([
      real.k.apps.listNamespacedDeployment(selector),
      real.k.apps.listNamespacedReplicaSet(selector),
      real.k.core.listNamespacedPod(selector),
      real.k.core.listNamespacedService(selector),
    ]);
    return {
      deployments: deployments.items,
      replicaSets: replicaSets.items,
      pods: pods.items,
      services: services.items,
    };
  };

  it('reserve → active on a node the real scheduler bound → extend → cancel, everything it made deleted', async () => {
    const made = await reserve({ gpu_type: 'h100', gpu_count: 4, hours: 2, name: 'train' });
    const active = await until(made.id, 'active');
    expect(active.cluster).toBe('real');
    expect(sliced).toContain(active.node);
    expect(active.ssh_command).toMatch(/^ssh -p 3\d{4} dev@\S+$/);
    expect(active.events.map((e) => e.to)).toEqual(['queued', 'placing', 'provisioning', 'active']);

    // What a client of the real API server sees: the Deployment's ReplicaSet made the pod, the
    // scheduler bound it to the chosen node, kwok runs it; its GPUs and its NodePort are real.
    const objects = await objectsOf(made.id);
    expect(objects.deployments).toHaveLength(1);
    expect(objects.deployments[0]!.status?.readyReplicas).toBe(1);
    const [pod] = objects.pods;
    expect(pod!.spec?.nodeName).toBe(active.node);
    expect(pod!.status?.phase).toBe('Running');
    expect(pod!.spec?.containers[0]!.resources?.limits?.['nvidia.com/gpu']).toBe('4');
    const nodePort = objects.services.flatMap((s) => s.spec?.ports ?? []).find((p) => p.nodePort)?.nodePort;
    expect(active.ssh_command).toContain(`-p ${nodePort} `);

    const before = Date.parse(active.expires_at!);
    const extended = (
      await as(api().post(`/api/v1/reservations/${made.id}/extend`))
        .send({ hours: 1 })
        .expect(200)
    ).body as Shown;
    expect(Date.parse(extended.expires_at!) - before).toBe(3600_000);

    await as(api().post(`/api/v1/reservations/${made.id}/cancel`)).expect(200);
    await until(made.id, 'cancelled');
    // The deployer deletes the Deployment and Service; the real garbage collector the rest.
    await eventually(
      () => objectsOf(made.id),
      (left) => Object.values(left).every((items) => items.length === 0),
      60_000,
    );
  });

  it('holds a disk: a claim the CSI provisioner binds, one snapshot at the end, the same volume mounted next time', async () => {
    if (!storage) {
      throw new Error(
        'the real tier has no default StorageClass and VolumeSnapshotClass (docs/kube-tier.md)',
      );
    }
    await as(api().post('/api/v1/disks')).send({ name: 'work', size_gb: 10 }).expect(201);
    const first = await reserve({ gpu_type: 'h100', gpu_count: 1, hours: 1, disk: 'work' });
    await until(first.id, 'active');
    const claims = async () =>
      (await real.k.core.listNamespacedPersistentVolumeClaim({ namespace: NAMESPACE })).items.filter(
        (claim) => claim.metadata?.labels?.['odc.dev/disk'] !== undefined,
      );
    const [claim] = await claims();
    expect(claim!.status?.phase).toBe('Bound');
    expect(claim!.spec?.storageClassName).toBe(storage.storageClass);
    const claimName = claim!.metadata!.name!;
    expect(await homeClaimOf(first.id)).toBe(claimName);

    await as(api().post(`/api/v1/reservations/${first.id}/cancel`)).expect(200);
    const freed = await eventually(
      async () => (await as(api().get('/api/v1/disks/work')).expect(200)).body as Record<string, unknown>,
      (disk) => disk.status === 'free',
      60_000,
    );
    expect(freed).toMatchObject({ has_volume: true, cluster: 'real', snapshot_count: 1 });
    const snapshots = (await as(api().get('/api/v1/disks/work/snapshots')).expect(200)).body.items as {
      status: string;
    }[];
    expect(snapshots).toEqual([expect.objectContaining({ status: 'ready', reason: 'cancelled' })]);
    const taken = (await real.k.objects.list(SNAPSHOTS, 'VolumeSnapshot', NAMESPACE)).items as {
      spec?: { source?: { persistentVolumeClaimName?: string } };
      status?: { readyToUse?: boolean };
    }[];
    expect(taken).toEqual([
      expect.objectContaining({
        spec: expect.objectContaining({ source: { persistentVolumeClaimName: claimName } }),
        status: expect.objectContaining({ readyToUse: true }),
      }),
    ]);

    const second = await reserve({ gpu_type: 'h100', gpu_count: 1, hours: 1, disk: 'work' });
    expect((await until(second.id, 'active')).cluster).toBe('real');
    expect(await homeClaimOf(second.id)).toBe(claimName);
    await as(api().post(`/api/v1/reservations/${second.id}/cancel`)).expect(200);
    await eventually(
      async () => (await as(api().get('/api/v1/disks/work')).expect(200)).body as Record<string, unknown>,
      (disk) => disk.status === 'free',
      60_000,
    );
  });

  it('a reservation the real cluster refuses (its quota allows no NodePort) lands on the other cluster', async () => {
    const quota = 'no-node-ports';
    await real.k.core.createNamespacedResourceQuota({
      namespace: NAMESPACE,
      body: { metadata: { name: quota }, spec: { hard: { 'services.nodeports': '0' } } },
    });
    try {
      // The quota controller fills in what is used before the quota admits or refuses anything.
      await eventually(
        () => real.k.core.readNamespacedResourceQuota({ namespace: NAMESPACE, name: quota }),
        (q) => q.status?.hard !== undefined,
        30_000,
      );
      const made = await reserve({ gpu_type: 'h100', gpu_count: 8, hours: 1 });
      const active = await until(made.id, 'active');
      expect(active.cluster).toBe('sim');
      const messages = active.events.map((e) => e.message);
      // The deployer tells a quota's refusal (403 from admission) as "cannot take it" (409), not as
      // its credentials failing.
      expect(messages).toContainEqual(
        expect.stringMatching(
          /^Back to the queue: real could not take it: .*cannot take the spec.*exceeded quota/,
        ),
      );
      // Whatever part of it was made on the refusing cluster was removed again.
      expect(await objectsOf(made.id)).toEqual({ deployments: [], replicaSets: [], pods: [], services: [] });
      await as(api().post(`/api/v1/reservations/${made.id}/cancel`)).expect(200);
    } finally {
      await real.k.core.deleteNamespacedResourceQuota({ namespace: NAMESPACE, name: quota });
    }
  });

  /** The claim a reservation's pod mounts at its home. */
  async function homeClaimOf(id: string): Promise<string | undefined> {
    const { pods } = await objectsOf(id);
    return pods[0]?.spec?.volumes?.find((v) => v.name === 'home')?.persistentVolumeClaim?.claimName;
  }

  /** Labels `count` H100 nodes that run no GPU pod for this spec alone; their names. */
  async function takeNodes(deployer: DeployerUnderTest, count: number): Promise<string[]> {
    const nodes = (await deployer.k.core.listNode({ labelSelector: `${PRODUCT_LABEL}=${H100}` })).items;
    const busy = new Set(
      (await deployer.k.core.listPodForAllNamespaces({ fieldSelector: 'status.phase=Running' })).items
        .filter((pod) => pod.spec?.containers.some((c) => c.resources?.limits?.['nvidia.com/gpu']))
        .map((pod) => pod.spec?.nodeName),
    );
    const free = nodes.filter((node: V1Node) => !node.spec?.taints?.length && !busy.has(node.metadata!.name));
    if (free.length < count) {
      throw new Error(`the real tier has ${free.length} idle H100 nodes, this spec needs ${count}`);
    }
    const names = free.slice(0, count).map((node) => node.metadata!.name!);
    for (const name of names) {
      await deployer.k.core.patchNode(
        { name, body: { metadata: { labels: { [SLICE_LABEL]: slice } } } },
        mergePatch,
      );
    }
    return names;
  }
});

/** The default StorageClass and VolumeSnapshotClass of the real tier, when it has both. */
async function storageOf(
  deployer: DeployerUnderTest,
): Promise<{ storageClass: string; snapshotClass: string } | undefined> {
  const isDefault = (annotations: Record<string, string> | undefined, key: string) =>
    annotations?.[key] === 'true';
  const storageClasses = await deployer.k.objects.list('storage.k8s.io/v1', 'StorageClass');
  const storageClass = storageClasses.items.find((c) =>
    isDefault(c.metadata?.annotations, 'storageclass.kubernetes.io/is-default-class'),
  );
  const snapshotClasses = await deployer.k.objects
    .list(SNAPSHOTS, 'VolumeSnapshotClass')
    .catch(() => ({ items: [] as { metadata?: { name?: string; annotations?: Record<string, string> } }[] }));
  const snapshotClass = snapshotClasses.items.find((c) =>
    isDefault(c.metadata?.annotations, 'snapshot.storage.kubernetes.io/is-default-class'),
  );
  return storageClass && snapshotClass
    ? { storageClass: storageClass.metadata!.name!, snapshotClass: snapshotClass.metadata!.name! }
    : undefined;
}

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

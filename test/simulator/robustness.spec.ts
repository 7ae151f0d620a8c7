import { PatchStrategy, setHeaderOptions, type KubernetesObject, type V1Pod } from '@kubernetes/client-node';
import { SimulatedCluster } from '../../src/simulator/cluster';
import { withDefaults } from '../../src/simulator/config';
import { eventually } from '../support/eventually';
import { FAST_TIMINGS } from '../support/simulator';
import { kubeClients, statusOf } from './kube';

const pod = (name: string, labels: Record<string, string> = {}, limits?: Record<string, string>): V1Pod => ({
  metadata: { name, labels },
  spec: { containers: [{ name: 'main', image: 'busybox', ...(limits ? { resources: { limits } } : {}) }] },
});

const deployment = (name: string, image = 'nginx:1', env = '1'): KubernetesObject =>
  ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'default' },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'app', image, env: [{ name: 'A', value: env }] }] },
      },
    },
  }) as KubernetesObject;

describe('the simulator stays up and answers like a real server when clients misbehave', () => {
  let cluster: SimulatedCluster;
  let k: ReturnType<typeof kubeClients>;

  beforeAll(async () => {
    cluster = await SimulatedCluster.start(
      withDefaults({
        nodePools: [{ name: 'cpu', count: 2, cpu: '8', memory: '32Gi' }],
        timings: FAST_TIMINGS,
      }),
    );
    k = kubeClients(cluster.url);
  });

  afterAll(() => cluster.close());

  it('rejects quantities it cannot read with 400, and reads every form Kubernetes accepts', async () => {
    const bad = await statusOf(
      k.core.createNamespacedPod({ namespace: 'default', body: pod('bad-cpu', {}, { cpu: 'lots' }) }),
    );
    // Not decodable into a Pod: kube-apiserver's BadRequest, before validation.
    expect(bad).toMatchObject({
      code: 400,
      reason: 'BadRequest',
      message: expect.stringContaining(
        'Pod in version "v1" cannot be handled as a Pod: quantities must match',
      ),
    });
    await k.core.createNamespacedPod({
      namespace: 'default',
      body: pod('odd-cpu', {}, { cpu: '.5', memory: '1e9' }),
    });
    await eventually(
      () => k.core.readNamespacedPod({ namespace: 'default', name: 'odd-cpu' }),
      (p) => p.status?.phase === 'Running',
    );
    await k.core.createNamespacedPersistentVolumeClaim({
      namespace: 'default',
      body: {
        metadata: { name: 'exp' },
        spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1e9' } } },
      },
    });
    await eventually(
      () => k.core.readNamespacedPersistentVolumeClaim({ namespace: 'default', name: 'exp' }),
      (c) => c.status?.phase === 'Bound',
    );
  });

  it('answers 400, not 500, to a malformed URL and a malformed JSON patch', async () => {
    const res = await fetch(`${cluster.url}/api/v1/namespaces/%E0%A4%A/pods`);
    expect(res.status).toBe(400);
    await k.core.createNamespacedConfigMap({
      namespace: 'default',
      body: { metadata: { name: 'patch-me' } },
    });
    const patch = await fetch(`${cluster.url}/api/v1/namespaces/default/configmaps/patch-me`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json-patch+json' },
      body: JSON.stringify([{ op: 'add' }]),
    });
    expect(patch.status).toBe(400);
  });

  it('does not store anything for dryRun=All', async () => {
    const res = await fetch(`${cluster.url}/api/v1/namespaces/default/configmaps?dryRun=All`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'dry' } }),
    });
    expect(res.status).toBe(201);
    expect(
      await statusOf(k.core.readNamespacedConfigMap({ namespace: 'default', name: 'dry' })),
    ).toMatchObject({ code: 404 });
  });

  it('deletes everything in a deleted namespace, and refuses to delete the system ones', async () => {
    await k.core.createNamespace({ body: { metadata: { name: 'team-x' } } });
    await k.core.createNamespacedConfigMap({ namespace: 'team-x', body: { metadata: { name: 'left' } } });
    await k.core.deleteNamespace({ name: 'team-x' });
    await k.core.createNamespace({ body: { metadata: { name: 'team-x' } } });
    expect((await k.core.listNamespacedConfigMap({ namespace: 'team-x' })).items).toEqual([]);
    expect(await statusOf(k.core.deleteNamespace({ name: 'default' }))).toMatchObject({
      code: 403,
      reason: 'Forbidden',
    });
  });

  it('keeps a pod spec immutable but for images, and a workload selector immutable', async () => {
    await k.core.createNamespacedPod({ namespace: 'default', body: pod('fixed') });
    // Once Ready, the kubelet writes no more: the replaces below cannot race it (409).
    const latest = await eventually(
      () => k.core.readNamespacedPod({ namespace: 'default', name: 'fixed' }),
      (p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true,
    );
    const changed = await statusOf(
      k.core.replaceNamespacedPod({
        namespace: 'default',
        name: 'fixed',
        body: { ...latest, spec: { ...latest.spec!, restartPolicy: 'Never' } },
      }),
    );
    expect(changed).toMatchObject({ code: 422 });
    const bumped = await k.core.replaceNamespacedPod({
      namespace: 'default',
      name: 'fixed',
      body: {
        ...latest,
        spec: { ...latest.spec!, containers: [{ ...latest.spec!.containers[0]!, image: 'busybox:2' }] },
      },
    });
    expect(bumped.spec!.containers[0]!.image).toBe('busybox:2');
    const mismatch = await statusOf(
      k.objects.create({
        ...deployment('mismatch'),
        spec: {
          ...(deployment('mismatch') as { spec: object }).spec,
          selector: { matchLabels: { app: 'other' } },
        },
      } as KubernetesObject),
    );
    expect(mismatch.details?.causes?.[0]!.field).toBe('spec.template.metadata.labels');
  });

  it('server-side apply: status is not applied through the main resource; an image bump by someone else does not make a later apply conflict', async () => {
    const apply = (object: KubernetesObject, force = false) =>
      k.objects.patch(object, undefined, undefined, 'odc-deployer', force, PatchStrategy.ServerSideApply);
    const withStatus = {
      ...pod('applied-pod'),
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'applied-pod', namespace: 'default' },
      status: { phase: 'Succeeded' },
    };
    const applied = (await apply(withStatus)) as V1Pod;
    expect(applied.status?.phase).toBe('Pending');
    expect(JSON.stringify(applied.metadata?.managedFields)).not.toContain('f:status');

    await apply(deployment('bumped'));
    await k.apps.patchNamespacedDeployment(
      {
        namespace: 'default',
        name: 'bumped',
        body: { spec: { template: { spec: { containers: [{ name: 'app', image: 'nginx:2' }] } } } },
        fieldManager: 'kubectl-set',
      },
      setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
    );
    const reapplied = (await apply(deployment('bumped', 'nginx:2', '2'))) as {
      spec: { template: { spec: { containers: { env: { value: string }[] }[] } } };
    };
    expect(reapplied.spec.template.spec.containers[0]!.env[0]!.value).toBe('2');
  });

  it('re-adopts the ReplicaSet an orphaning delete left, instead of crashing', async () => {
    await k.objects.create(deployment('orphaned'));
    await eventually(
      () => k.apps.listNamespacedReplicaSet({ namespace: 'default', labelSelector: 'app=orphaned' }),
      (l) => l.items.length === 1,
    );
    await k.apps.deleteNamespacedDeployment({
      namespace: 'default',
      name: 'orphaned',
      propagationPolicy: 'Orphan',
    });
    await k.objects.create(deployment('orphaned'));
    const sets = await eventually(
      () => k.apps.listNamespacedReplicaSet({ namespace: 'default', labelSelector: 'app=orphaned' }),
      (l) => l.items.length === 1 && (l.items[0]!.metadata?.ownerReferences?.length ?? 0) === 1,
    );
    expect(sets.items[0]!.metadata!.ownerReferences![0]!.kind).toBe('Deployment');
    expect((await fetch(`${cluster.url}/healthz`)).status).toBe(200);
  });

  it('watch: an object leaving a label selector is DELETED, one entering is ADDED; resuming replays history', async () => {
    await k.core.createNamespacedConfigMap({
      namespace: 'default',
      body: { metadata: { name: 'mover', labels: { watched: 'no' } } },
    });
    const { metadata } = await k.core.listNamespacedConfigMap({ namespace: 'default' });
    const relabel = (value: string) =>
      k.core.patchNamespacedConfigMap(
        { namespace: 'default', name: 'mover', body: { metadata: { labels: { watched: value } } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
    await relabel('yes');
    await relabel('no');
    // Started after the changes, from the earlier resourceVersion: the history is replayed.
    const seen: string[] = [];
    const request = await k.watch.watch(
      '/api/v1/namespaces/default/configmaps',
      { resourceVersion: metadata!.resourceVersion, labelSelector: 'watched=yes' },
      (type) => seen.push(type),
      () => undefined,
    );
    await eventually(
      () => seen,
      (s) => s.length >= 2,
    );
    request.abort();
    expect(seen).toEqual(['ADDED', 'DELETED']);
  });
});

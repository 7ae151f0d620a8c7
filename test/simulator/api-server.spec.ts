import {
  PatchStrategy,
  setHeaderOptions,
  type KubernetesObject,
  type V1Deployment,
  type V1Pod,
} from '@kubernetes/client-node';
import { SimulatedApiServer } from '../../src/simulator/api-server';
import { kubeClients, statusOf } from './kube';

const pod = (name: string, labels: Record<string, string> = {}, image = 'busybox'): V1Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, labels },
  spec: { containers: [{ name: 'main', image }] },
});

const deployment = (name: string, replicas = 1): V1Deployment => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace: 'default', labels: { app: name } },
  spec: {
    replicas,
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name } },
      spec: { containers: [{ name: 'app', image: 'nginx:1' }] },
    },
  },
});

describe('simulated API server through @kubernetes/client-node', () => {
  let server: SimulatedApiServer;
  let k: ReturnType<typeof kubeClients>;

  beforeAll(async () => {
    server = await SimulatedApiServer.start();
    k = kubeClients(server.url);
  });

  afterAll(() => server.close());

  describe('discovery', () => {
    it('answers /version and the resource lists', async () => {
      expect((await k.version.getCode()).gitVersion).toBe('v1.32.0-odc-sim');
      const core = await k.core.getAPIResources();
      expect(core.resources.map((r) => r.name)).toEqual(
        expect.arrayContaining(['pods', 'pods/log', 'pods/status', 'nodes']),
      );
      const apps = await k.apps.getAPIResources();
      expect(apps.resources.find((r) => r.name === 'deployments')).toMatchObject({
        kind: 'Deployment',
        namespaced: true,
      });
    });
  });

  describe('every kind we use: create, read, list, delete', () => {
    const fixtures: KubernetesObject[] = [
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'cm', namespace: 'default' },
        data: { a: 'b' },
      } as KubernetesObject,
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'sec', namespace: 'default' },
        stringData: { k: 'v' },
      } as KubernetesObject,
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'svc', namespace: 'default' },
        spec: { ports: [{ port: 22 }], selector: { app: 'x' } },
      } as KubernetesObject,
      {
        apiVersion: 'v1',
        kind: 'Endpoints',
        metadata: { name: 'svc', namespace: 'default' },
        subsets: [],
      } as KubernetesObject,
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a' } },
      { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-x' } },
      {
        apiVersion: 'v1',
        kind: 'PersistentVolume',
        metadata: { name: 'pv-1' },
        spec: { capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'], hostPath: { path: '/x' } },
      } as KubernetesObject,
      {
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: { name: 'pvc-1', namespace: 'default' },
        spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
      } as KubernetesObject,
      {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name: 'ev-1', namespace: 'default' },
        involvedObject: { kind: 'Pod', name: 'p' },
        reason: 'Test',
        message: 'hello',
      } as KubernetesObject,
      {
        apiVersion: 'storage.k8s.io/v1',
        kind: 'StorageClass',
        metadata: { name: 'fast' },
        provisioner: 'sim.odc.dev',
      } as KubernetesObject,
      deployment('web'),
      {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'Ingress',
        metadata: { name: 'ing', namespace: 'default' },
        spec: { rules: [{ host: 'x.example.com' }] },
      } as KubernetesObject,
      {
        apiVersion: 'policy/v1',
        kind: 'PodDisruptionBudget',
        metadata: { name: 'pdb', namespace: 'default' },
        spec: { maxUnavailable: 0, selector: { matchLabels: { app: 'x' } } },
      } as KubernetesObject,
      {
        apiVersion: 'batch/v1',
        kind: 'Job',
        metadata: { name: 'job', namespace: 'default' },
        spec: {
          template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox' }] } },
        },
      } as KubernetesObject,
      {
        apiVersion: 'snapshot.storage.k8s.io/v1',
        kind: 'VolumeSnapshotClass',
        metadata: { name: 'snap' },
        driver: 'sim.odc.dev',
        deletionPolicy: 'Delete',
      } as KubernetesObject,
      {
        apiVersion: 'snapshot.storage.k8s.io/v1',
        kind: 'VolumeSnapshot',
        metadata: { name: 'snap-1', namespace: 'default' },
        spec: { source: { persistentVolumeClaimName: 'pvc-1' } },
      } as KubernetesObject,
      pod('plain'),
    ];

    it.each(fixtures.map((f) => [f.kind, f]))('%s', async (_kind, fixture) => {
      const created = await k.objects.create(fixture);
      expect(created.metadata?.uid).toEqual(expect.any(String));
      expect(created.metadata?.resourceVersion).toEqual(expect.any(String));
      const read = await k.objects.read({
        apiVersion: fixture.apiVersion,
        kind: fixture.kind,
        metadata: { name: created.metadata!.name!, namespace: created.metadata?.namespace },
      });
      expect(read.metadata?.uid).toBe(created.metadata?.uid);
      const listed = await k.objects.list(fixture.apiVersion!, fixture.kind!, created.metadata?.namespace);
      expect(listed.items.map((item) => item.metadata?.name)).toContain(created.metadata?.name);
      await k.objects.delete(read);
      const gone = await statusOf(k.objects.read(read as never));
      expect(gone).toMatchObject({ kind: 'Status', status: 'Failure', reason: 'NotFound', code: 404 });
    });
  });

  describe('Status errors', () => {
    it('AlreadyExists 409', async () => {
      await k.core.createNamespacedPod({ namespace: 'default', body: pod('dup') });
      const status = await statusOf(k.core.createNamespacedPod({ namespace: 'default', body: pod('dup') }));
      expect(status).toMatchObject({
        reason: 'AlreadyExists',
        code: 409,
        message: 'pods "dup" already exists',
      });
    });

    it('NotFound 404 for an object and for a namespace that does not exist', async () => {
      expect(await statusOf(k.core.readNamespacedPod({ namespace: 'default', name: 'nope' }))).toMatchObject({
        reason: 'NotFound',
        code: 404,
        message: 'pods "nope" not found',
      });
      expect(
        await statusOf(k.core.createNamespacedPod({ namespace: 'ghost', body: pod('p') })),
      ).toMatchObject({ reason: 'NotFound', code: 404, message: 'namespaces "ghost" not found' });
    });

    it('Invalid 422 with causes: missing image, bad name; 400 for a value of the wrong type', async () => {
      const noImage = await statusOf(
        k.core.createNamespacedPod({ namespace: 'default', body: pod('no-image', {}, '') }),
      );
      expect(noImage).toMatchObject({ reason: 'Invalid', code: 422 });
      expect(noImage.details?.causes).toEqual([
        { reason: 'FieldValueRequired', message: 'Required value', field: 'spec.containers[0].image' },
      ]);

      const badName = await statusOf(
        k.core.createNamespacedPod({ namespace: 'default', body: pod('Bad_Name') }),
      );
      expect(badName).toMatchObject({ reason: 'Invalid', code: 422 });
      expect(badName.details?.causes?.[0]).toMatchObject({
        field: 'metadata.name',
        reason: 'FieldValueInvalid',
      });

      const wrongType = await statusOf(
        k.objects.create({
          ...deployment('typo'),
          spec: { ...deployment('typo').spec!, replicas: 'three' },
        } as never),
      );
      // kube-apiserver cannot decode it into its Go type: a BadRequest, before any validation.
      expect(wrongType).toMatchObject({
        reason: 'BadRequest',
        code: 400,
        message:
          'Deployment in version "v1" cannot be handled as a Deployment: json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32',
      });
    });

    it('Conflict 409 on a stale resourceVersion', async () => {
      const created = await k.core.createNamespacedConfigMap({
        namespace: 'default',
        body: { metadata: { name: 'versioned' }, data: { v: '1' } },
      });
      await k.core.replaceNamespacedConfigMap({
        namespace: 'default',
        name: 'versioned',
        body: { ...created, data: { v: '2' } },
      });
      const stale = await statusOf(
        k.core.replaceNamespacedConfigMap({
          namespace: 'default',
          name: 'versioned',
          body: { ...created, data: { v: '3' } },
        }),
      );
      expect(stale).toMatchObject({ reason: 'Conflict', code: 409 });
      expect(
        (await k.core.readNamespacedConfigMap({ namespace: 'default', name: 'versioned' })).data,
      ).toEqual({ v: '2' });
    });
  });

  describe('selectors', () => {
    beforeAll(async () => {
      for (const [name, labels] of [
        ['sel-a', { app: 'gpu', tier: 'h100' }],
        ['sel-b', { app: 'gpu', tier: 'a100' }],
        ['sel-c', { app: 'cpu' }],
      ] as const) {
        await k.core.createNamespacedPod({ namespace: 'default', body: pod(name, labels) });
      }
    });

    const names = async (params: { labelSelector?: string; fieldSelector?: string }) =>
      (await k.core.listNamespacedPod({ namespace: 'default', ...params })).items
        .map((p) => p.metadata!.name)
        .filter((n) => n!.startsWith('sel-'));

    it('filters by equality, set-based and existence label selectors', async () => {
      expect(await names({ labelSelector: 'app=gpu' })).toEqual(['sel-a', 'sel-b']);
      expect(await names({ labelSelector: 'tier in (h100),app==gpu' })).toEqual(['sel-a']);
      expect(await names({ labelSelector: 'app,!tier' })).toEqual(['sel-c']);
      expect(await names({ labelSelector: 'tier notin (a100)' })).toEqual(['sel-a', 'sel-c']);
    });

    it('filters by field selector and rejects unknown fields, per kind', async () => {
      expect(await names({ fieldSelector: 'metadata.name=sel-b' })).toEqual(['sel-b']);
      expect(
        await statusOf(k.core.listNamespacedPod({ namespace: 'default', fieldSelector: 'spec.image=x' })),
      ).toMatchObject({ reason: 'BadRequest', code: 400 });
      // Events select on their own fields (what the deployer reads: only warnings); pods do not.
      for (const [type, reason] of [
        ['Warning', 'FailedMount'],
        ['Normal', 'Pulled'],
      ]) {
        await k.core.createNamespacedEvent({
          namespace: 'default',
          body: {
            metadata: { name: `sel-${reason!.toLowerCase()}` },
            involvedObject: { kind: 'Pod', name: 'sel-a', namespace: 'default' },
            type,
            reason,
          },
        });
      }
      const warnings = await k.core.listNamespacedEvent({
        namespace: 'default',
        fieldSelector: 'type=Warning',
      });
      expect(warnings.items.map((e) => e.reason)).toEqual(['FailedMount']);
      expect(
        await statusOf(k.core.listNamespacedPod({ namespace: 'default', fieldSelector: 'type=Warning' })),
      ).toMatchObject({ reason: 'BadRequest', code: 400 });
    });

    it('deletes a collection by selector', async () => {
      await k.core.deleteCollectionNamespacedPod({ namespace: 'default', labelSelector: 'app=gpu' });
      expect(await names({})).toEqual(['sel-c']);
    });
  });

  describe('patches', () => {
    it('merge patch, and strategic merge patch merging containers by name', async () => {
      await k.objects.create(deployment('patched'));
      await k.apps.patchNamespacedDeployment(
        { name: 'patched', namespace: 'default', body: { spec: { replicas: 3 } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      const patched = await k.apps.patchNamespacedDeployment(
        {
          name: 'patched',
          namespace: 'default',
          body: { spec: { template: { spec: { containers: [{ name: 'sidecar', image: 'envoy:1' }] } } } },
        },
        setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
      );
      expect(patched.spec?.replicas).toBe(3);
      expect(patched.spec?.template.spec?.containers.map((c) => c.name)).toEqual(['app', 'sidecar']);
      expect(patched.metadata?.generation).toBe(3);
    });

    it('JSON patch', async () => {
      const patched = await k.apps.patchNamespacedDeployment(
        {
          name: 'patched',
          namespace: 'default',
          body: [{ op: 'replace', path: '/spec/replicas', value: 1 }],
        },
        setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
      );
      expect(patched.spec?.replicas).toBe(1);
    });
  });

  describe('status subresource', () => {
    it('writes status only through /status, and ignores status sent to the main resource', async () => {
      await k.core.createNamespacedPod({ namespace: 'default', body: pod('with-status') });
      const patched = await k.core.patchNamespacedPodStatus(
        {
          namespace: 'default',
          name: 'with-status',
          body: { status: { phase: 'Running' }, spec: { nodeName: 'ignored' } },
        },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      expect(patched.status?.phase).toBe('Running');
      expect(patched.spec?.nodeName).toBeUndefined();
      const replaced = await k.core.replaceNamespacedPod({
        namespace: 'default',
        name: 'with-status',
        body: { ...patched, status: { phase: 'Failed' } },
      });
      expect(replaced.status?.phase).toBe('Running');
    });
  });

  describe('server-side apply', () => {
    const apply = (object: KubernetesObject, manager: string, force = false) =>
      k.objects.patch(object, undefined, undefined, manager, force, PatchStrategy.ServerSideApply);

    it('creates, and a repeated identical apply changes nothing (same resourceVersion)', async () => {
      const first = await apply(deployment('applied', 2), 'odc-deployer');
      const second = await apply(deployment('applied', 2), 'odc-deployer');
      expect(second.metadata?.resourceVersion).toBe(first.metadata?.resourceVersion);
      expect(second.metadata?.managedFields).toEqual(first.metadata?.managedFields);
      expect(first.metadata?.managedFields?.[0]).toMatchObject({
        manager: 'odc-deployer',
        operation: 'Apply',
        fieldsType: 'FieldsV1',
      });
    });

    it('conflicts (409) on a field another manager owns with another value, unless forced', async () => {
      await k.apps.patchNamespacedDeployment(
        {
          name: 'applied',
          namespace: 'default',
          body: { spec: { replicas: 5 } },
          fieldManager: 'kubectl-edit',
        },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      const conflict = await statusOf(apply(deployment('applied', 2), 'odc-deployer'));
      expect(conflict).toMatchObject({ reason: 'Conflict', code: 409 });
      expect(conflict.details?.causes).toEqual([
        {
          reason: 'FieldManagerConflict',
          message: 'conflict with "kubectl-edit" using apps/v1',
          field: '.spec.replicas',
        },
      ]);

      const forced = await apply(deployment('applied', 2), 'odc-deployer', true);
      expect((forced as { spec: { replicas: number } }).spec.replicas).toBe(2);
    });

    it('removes fields a manager stops applying', async () => {
      const withLabel = deployment('pruned');
      withLabel.metadata!.labels = { app: 'pruned', extra: 'yes' };
      await apply(withLabel, 'odc-deployer');
      const pruned = await apply(deployment('pruned'), 'odc-deployer');
      expect(pruned.metadata?.labels).toEqual({ app: 'pruned' });
    });
  });

  describe('cascading deletes', () => {
    async function family(name: string) {
      const owner = await k.objects.create(deployment(name));
      const rs = await k.objects.create({
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        metadata: {
          name: `${name}-rs`,
          namespace: 'default',
          ownerReferences: [
            { apiVersion: 'apps/v1', kind: 'Deployment', name, uid: owner.metadata!.uid!, controller: true },
          ],
        },
        spec: {
          selector: { matchLabels: { app: name } },
          template: {
            metadata: { labels: { app: name } },
            spec: { containers: [{ name: 'app', image: 'nginx:1' }] },
          },
        },
      } as KubernetesObject);
      await k.core.createNamespacedPod({
        namespace: 'default',
        body: {
          ...pod(`${name}-pod`, { app: name }),
          metadata: {
            name: `${name}-pod`,
            labels: { app: name },
            ownerReferences: [
              {
                apiVersion: 'apps/v1',
                kind: 'ReplicaSet',
                name: `${name}-rs`,
                uid: rs.metadata!.uid!,
                controller: true,
              },
            ],
          },
        },
      });
    }
    const exists = async (kind: 'Deployment' | 'ReplicaSet' | 'Pod', name: string) =>
      k.objects
        .read({
          apiVersion: kind === 'Pod' ? 'v1' : 'apps/v1',
          kind,
          metadata: { name, namespace: 'default' },
        })
        .then(
          () => true,
          () => false,
        );

    it('background: the owner goes at once, its dependents right after', async () => {
      await family('bg');
      await k.apps.deleteNamespacedDeployment({
        name: 'bg',
        namespace: 'default',
        propagationPolicy: 'Background',
      });
      await server.garbageCollector.settled();
      expect([
        await exists('Deployment', 'bg'),
        await exists('ReplicaSet', 'bg-rs'),
        await exists('Pod', 'bg-pod'),
      ]).toEqual([false, false, false]);
    });

    /** The order in which objects of a family disappear, from the server's own event stream. */
    async function deletionOrder(
      name: string,
      propagationPolicy: 'Background' | 'Foreground',
    ): Promise<string[]> {
      await family(name);
      const order: string[] = [];
      const stop = server.store.subscribe((event) => {
        if (event.type === 'DELETED') {
          order.push(event.object.kind);
        }
      });
      await k.apps.deleteNamespacedDeployment({ name, namespace: 'default', propagationPolicy });
      await server.garbageCollector.settled();
      stop();
      return order;
    }

    it('background deletes the owner first; foreground deletes the dependents first', async () => {
      expect(await deletionOrder('bg2', 'Background')).toEqual(['Deployment', 'ReplicaSet', 'Pod']);
      expect(await deletionOrder('fg', 'Foreground')).toEqual(['Pod', 'ReplicaSet', 'Deployment']);
      expect([
        await exists('Deployment', 'fg'),
        await exists('ReplicaSet', 'fg-rs'),
        await exists('Pod', 'fg-pod'),
      ]).toEqual([false, false, false]);
    });

    it('orphan: dependents stay, without the owner reference', async () => {
      await family('or');
      await k.apps.deleteNamespacedDeployment({
        name: 'or',
        namespace: 'default',
        propagationPolicy: 'Orphan',
      });
      await server.garbageCollector.settled();
      expect(await exists('Deployment', 'or')).toBe(false);
      const rs = await k.apps.readNamespacedReplicaSet({ name: 'or-rs', namespace: 'default' });
      expect(rs.metadata?.ownerReferences).toBeUndefined();
    });
  });

  describe('watch', () => {
    it('streams changes after a resourceVersion, filtered by label', async () => {
      const { metadata } = await k.core.listNamespacedPod({ namespace: 'default' });
      const seen: { type: string; name?: string }[] = [];
      const request = await k.watch.watch(
        '/api/v1/namespaces/default/pods',
        { resourceVersion: metadata!.resourceVersion, labelSelector: 'watched=yes' },
        (type, object: V1Pod) => seen.push({ type, name: object.metadata?.name }),
        () => undefined,
      );
      await k.core.createNamespacedPod({ namespace: 'default', body: pod('w-ignored') });
      await k.core.createNamespacedPod({ namespace: 'default', body: pod('w-1', { watched: 'yes' }) });
      await k.core.deleteNamespacedPod({ namespace: 'default', name: 'w-1' });
      for (let i = 0; i < 50 && seen.length < 2; i += 1) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      request.abort();
      expect(seen).toEqual([
        { type: 'ADDED', name: 'w-1' },
        { type: 'DELETED', name: 'w-1' },
      ]);
    });
  });
});

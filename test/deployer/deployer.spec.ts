import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { projectRoot } from '../../src/app/version';
import type { Manifest } from '../../src/deployer/contract';
import { NAMESPACE, reservationSpec, startDeployer, type DeployerUnderTest } from './fixtures';
import { eventually } from '../support/eventually';
import { itSimulatorOnly, uniqueName } from '../support/simulator';

describe('deployer against a cluster', () => {
  let deployer: DeployerUnderTest;
  let k: DeployerUnderTest['k'];
  const api = () => deployer.api();
  const authed = (req: request.Test) => deployer.authed(req);

  beforeAll(async () => {
    deployer = await startDeployer();
    k = deployer.k;
  });

  afterAll(() => deployer.close());

  it('refuses calls without the right bearer token (401), but lets probes through', async () => {
    expect((await api().get('/api/v1/health').expect(401)).body.code).toBe('unauthorized');
    await api().get('/api/v1/health').set('authorization', 'Bearer wrong').expect(401);
    await api().get('/livez').expect(200);
    const health = await authed(api().get('/api/v1/health')).expect(200);
    expect(health.body).toMatchObject({
      status: 'ok',
      namespaces: [NAMESPACE],
      kubernetes: { reachable: true },
    });
  });

  it('create → status → url-ready → delete; POST twice is 200 with nothing new; DELETE twice is 204', async () => {
    const created = await authed(api().post('/api/v1/deployments'))
      .send(reservationSpec('res-a'))
      .expect(201);
    expect(
      created.body.objects.map((o: { kind: string; action: string }) => `${o.kind}:${o.action}`),
    ).toEqual([
      'ConfigMap:created',
      'PersistentVolumeClaim:created',
      'Service:created',
      'Ingress:created',
      'PodDisruptionBudget:created',
      'Deployment:created',
    ]);
    const deployment = await k.apps.readNamespacedDeployment({ namespace: NAMESPACE, name: 'res-a' });
    expect(deployment.metadata!.labels).toMatchObject({
      'odc.dev/external-id': 'res-a',
      'app.kubernetes.io/managed-by': 'odc-deployer',
    });
    expect(deployment.metadata!.managedFields!.map((f) => f.manager)).toContain('odc-deployer');
    // A dev pod has no business with the cluster's API: no token is mounted, whatever was sent.
    expect(deployment.spec!.template.spec!.automountServiceAccountToken).toBe(false);

    const again = await authed(api().post('/api/v1/deployments')).send(reservationSpec('res-a')).expect(200);
    expect(again.body.objects.every((o: { action: string }) => o.action === 'unchanged')).toBe(true);
    expect((await k.apps.listNamespacedDeployment({ namespace: NAMESPACE })).items).toHaveLength(1);

    const ready = await eventually(
      async () => (await authed(api().get('/api/v1/deployments/res-a/url-ready'))).body as { ready: boolean },
      (body) => body.ready,
    );
    expect(ready).toEqual({ ready: true, checks: { workload: true, service: true, ingress: true } });
    const status = await authed(api().get('/api/v1/deployments/res-a/status')).expect(200);
    expect(status.body).toMatchObject({
      external_id: 'res-a',
      exists: true,
      ready_replicas: 1,
      // `<cluster>-h100-<n>`: the simulator's test cluster is `sim`, the real tier's fleet `sim-local`.
      pods: [{ phase: 'Running', ready: true, restarts: 0, node: expect.stringMatching(/-h100-\d+$/) }],
    });
    const badQuery = await authed(
      api().get('/api/v1/deployments/res-a/logs?tailLines=many&follow=true'),
    ).expect(400);
    expect(badQuery.body.fields.map((f: { field: string }) => f.field).sort()).toEqual([
      'follow',
      'tailLines',
    ]);

    await authed(api().delete('/api/v1/deployments/res-a')).expect(204);
    await authed(api().delete('/api/v1/deployments/res-a')).expect(204);
    await eventually(
      () => k.core.listNamespacedPod({ namespace: NAMESPACE, labelSelector: 'odc.dev/external-id=res-a' }),
      (l) => l.items.length === 0,
    );
    // Of the deployment's: a real cluster publishes its own ConfigMap (kube-root-ca.crt) in every namespace.
    const ofResA = { namespace: NAMESPACE, labelSelector: 'odc.dev/external-id=res-a' };
    for (const list of [
      await k.apps.listNamespacedDeployment(ofResA),
      await k.core.listNamespacedService(ofResA),
      await k.core.listNamespacedConfigMap(ofResA),
      await k.core.listNamespacedPersistentVolumeClaim(ofResA),
    ]) {
      expect(list.items).toEqual([]);
    }
    expect((await authed(api().get('/api/v1/deployments/res-a/status'))).body).toMatchObject({
      exists: false,
      pods: [],
    });
  });

  itSimulatorOnly('logs')(
    'serves the logs of the deployment’s pod, the last lines and with timestamps',
    async () => {
      await authed(api().post('/api/v1/deployments')).send(reservationSpec('res-logs')).expect(201);
      await eventually(
        async () =>
          (await authed(api().get('/api/v1/deployments/res-logs/url-ready'))).body as { ready: boolean },
        (body) => body.ready,
      );
      const logs = await authed(api().get('/api/v1/deployments/res-logs/logs?tailLines=2')).expect(200);
      expect(logs.text.trim().split('\n')).toHaveLength(2);
      const stamped = await authed(
        api().get('/api/v1/deployments/res-logs/logs?tailLines=1&timestamps=true'),
      );
      expect(stamped.text).toMatch(/^\d{4}-\d{2}-\d{2}T/);
      await authed(api().delete('/api/v1/deployments/res-logs')).expect(204);
    },
  );

  it('leaves the volume of a persistent disk when the deployment goes', async () => {
    await authed(api().post('/api/v1/volumes')).send({ name: 'alice-work', size: '100Gi' }).expect(201);
    const spec = reservationSpec('res-b');
    spec.metadata.disk_claim = 'alice-work';
    (spec.deployment!.spec as { template: { spec: Record<string, unknown> } }).template.spec.volumes = [
      { name: 'home', persistentVolumeClaim: { claimName: 'alice-work' } },
    ];
    await authed(api().post('/api/v1/deployments')).send(spec).expect(201);
    await authed(api().delete('/api/v1/deployments/res-b')).expect(204);
    await k.core.readNamespacedPersistentVolumeClaim({ namespace: NAMESPACE, name: 'alice-work' });
  });

  type Spec = ReturnType<typeof reservationSpec>;
  const podSpec = (spec: Spec) =>
    (spec.deployment!.spec as { template: { spec: Record<string, unknown> } }).template.spec;
  const container = (spec: Spec) => (podSpec(spec).containers as Record<string, unknown>[])[0]!;
  const POD = 'deployment.spec.template.spec';
  const volume = (spec: Record<string, unknown>): Manifest => ({
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name: 'pv-policy' },
    spec: { capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'], ...spec },
  });

  it.each<[string, (spec: Spec) => void, string]>([
    [
      'a namespace the deployer does not manage',
      (spec) => (spec.config_maps![0]!.metadata.namespace = 'kube-system'),
      'config_maps[0].metadata.namespace',
    ],
    [
      'a kind that does not belong in its field',
      (spec) => Object.assign(spec.service!, { kind: 'Secret' }),
      'service.kind',
    ],
    [
      'a privileged container',
      (spec) => (container(spec).securityContext = { privileged: true }),
      `${POD}.containers[0].securityContext.privileged`,
    ],
    [
      'an added capability outside the allowlist',
      (spec) => (container(spec).securityContext = { capabilities: { add: ['SYS_ADMIN'] } }),
      `${POD}.containers[0].securityContext.capabilities.add`,
    ],
    [
      'a hostPath volume',
      (spec) => (podSpec(spec).volumes = [{ name: 'root', hostPath: { path: '/' } }]),
      `${POD}.volumes[0].hostPath`,
    ],
    ['hostNetwork', (spec) => (podSpec(spec).hostNetwork = true), `${POD}.hostNetwork`],
    ['hostPID', (spec) => (podSpec(spec).hostPID = true), `${POD}.hostPID`],
    ['hostIPC', (spec) => (podSpec(spec).hostIPC = true), `${POD}.hostIPC`],
    [
      'a LoadBalancer Service',
      (spec) => Object.assign(spec.service!.spec as object, { type: 'LoadBalancer' }),
      'service.spec.type',
    ],
    [
      'more GPUs than allowed',
      (spec) => (container(spec).resources = { limits: { 'nvidia.com/gpu': '16' } }),
      `${POD}.containers[0].resources`,
    ],
    [
      'more cpu than allowed',
      (spec) => (container(spec).resources = { requests: { cpu: '500' } }),
      `${POD}.containers[0].resources`,
    ],
    [
      'more memory than allowed',
      (spec) => (container(spec).resources = { limits: { memory: '9Ti' } }),
      `${POD}.containers[0].resources`,
    ],
    [
      'a quantity the policy cannot read',
      (spec) => (container(spec).resources = { requests: { cpu: 'lots' } }),
      `${POD}.containers[0].resources`,
    ],
    [
      'a hostPath PersistentVolume',
      (spec) => (spec.persistent_volumes = [volume({ hostPath: { path: '/etc' } })]),
      'persistent_volumes[0].spec.hostPath',
    ],
    [
      'a static PersistentVolume of a CSI driver not allowed',
      (spec) =>
        (spec.persistent_volumes = [volume({ csi: { driver: 'nfs.csi.k8s.io', volumeHandle: 'x' } })]),
      'persistent_volumes[0].spec.csi.driver',
    ],
    [
      'a local PersistentVolume (the host’s filesystem by another name)',
      (spec) => (spec.persistent_volumes = [volume({ local: { path: '/' } })]),
      'persistent_volumes[0].spec.local',
    ],
    [
      'an NFS PersistentVolume',
      (spec) => (spec.persistent_volumes = [volume({ nfs: { server: '10.0.0.1', path: '/' } })]),
      'persistent_volumes[0].spec.nfs',
    ],
    [
      'a PersistentVolume bound to a claim in another namespace',
      (spec) =>
        (spec.persistent_volumes = [
          volume({
            csi: { driver: 'ebs.csi.aws.com', volumeHandle: 'vol-1' },
            claimRef: { namespace: 'other-team', name: 'theirs' },
          }),
        ]),
      'persistent_volumes[0].spec.claimRef.namespace',
    ],
    [
      'a CSI PersistentVolume reading a secret from another namespace',
      (spec) =>
        (spec.persistent_volumes = [
          volume({
            csi: {
              driver: 'ebs.csi.aws.com',
              volumeHandle: 'vol-1',
              nodePublishSecretRef: { name: 's', namespace: 'kube-system' },
            },
          }),
        ]),
      'persistent_volumes[0].spec.csi.nodePublishSecretRef.namespace',
    ],
    [
      'a claim that picks its volume by name',
      (spec) =>
        Object.assign(spec.persistent_volume_claims![0]!.spec as object, { volumeName: 'someone-elses-pv' }),
      'persistent_volume_claims[0].spec.volumeName',
    ],
    [
      'an inline NFS volume in the pod',
      (spec) => (podSpec(spec).volumes = [{ name: 'n', nfs: { server: '10.0.0.1', path: '/' } }]),
      `${POD}.volumes[0].nfs`,
    ],
    [
      'a Secret volume (the namespace’s secrets are not the caller’s)',
      (spec) => (podSpec(spec).volumes = [{ name: 's', secret: { secretName: 'deployer-token' } }]),
      `${POD}.volumes[0].secret`,
    ],
    [
      'a projected service account token',
      (spec) =>
        (podSpec(spec).volumes = [
          { name: 't', projected: { sources: [{ serviceAccountToken: { path: 't' } }] } },
        ]),
      `${POD}.volumes[0].projected.sources[0].serviceAccountToken`,
    ],
    [
      'another service account',
      (spec) => (podSpec(spec).serviceAccountName = 'odc-deployer'),
      `${POD}.serviceAccountName`,
    ],
    ['a node chosen by name', (spec) => (podSpec(spec).nodeName = 'sim-h100-0'), `${POD}.nodeName`],
    [
      'an unconfined seccomp profile',
      (spec) => (container(spec).securityContext = { seccompProfile: { type: 'Unconfined' } }),
      `${POD}.containers[0].securityContext.seccompProfile.type`,
    ],
    [
      'an unmasked /proc',
      (spec) => (container(spec).securityContext = { procMount: 'Unmasked' }),
      `${POD}.containers[0].securityContext.procMount`,
    ],
    [
      'ephemeral containers',
      (spec) => (podSpec(spec).ephemeralContainers = []),
      `${POD}.ephemeralContainers`,
    ],
    [
      'a host port',
      (spec) => (container(spec).ports = [{ containerPort: 22, hostPort: 2222 }]),
      `${POD}.containers[0].ports[0].hostPort`,
    ],
    [
      'an unconfined AppArmor profile',
      (spec) => (podSpec(spec).securityContext = { appArmorProfile: { type: 'Unconfined' } }),
      `${POD}.securityContext.appArmorProfile.type`,
    ],
    [
      'a custom SELinux type',
      (spec) => (container(spec).securityContext = { seLinuxOptions: { type: 'spc_t' } }),
      `${POD}.containers[0].securityContext.seLinuxOptions.type`,
    ],
    [
      'a sysctl outside Pod Security baseline’s safe set',
      (spec) => (podSpec(spec).securityContext = { sysctls: [{ name: 'kernel.msgmax', value: '65536' }] }),
      `${POD}.securityContext.sysctls[0].name`,
    ],
    [
      'more GPUs in the pod than allowed, spread over containers',
      (spec) =>
        (podSpec(spec).containers = [
          { name: 'a', image: 'x', resources: { limits: { 'nvidia.com/gpu': '6' } } },
          { name: 'b', image: 'x', resources: { limits: { 'nvidia.com/gpu': '6' } } },
        ]),
      `${POD}.containers[1].resources`,
    ],
    [
      'more MIG slices than allowed',
      (spec) => (container(spec).resources = { limits: { 'nvidia.com/mig-1g.10gb': '9' } }),
      `${POD}.containers[0].resources`,
    ],
    [
      'more replicas than allowed',
      (spec) => Object.assign(spec.deployment!.spec as object, { replicas: 3 }),
      'deployment.spec.replicas',
    ],
    [
      'a Service with external IPs',
      (spec) => Object.assign(spec.service!.spec as object, { externalIPs: ['8.8.8.8'] }),
      'service.spec.externalIPs',
    ],
    [
      'an ExternalName Service',
      (spec) =>
        Object.assign(spec.service!.spec as object, { type: 'ExternalName', externalName: 'example.com' }),
      'service.spec.type',
    ],
    [
      'an Ingress configuration snippet',
      (spec) =>
        (spec.ingress!.metadata.annotations = {
          'nginx.ingress.kubernetes.io/server-snippet': 'location / {}',
        }),
      'ingress.metadata.annotations.nginx.ingress.kubernetes.io/server-snippet',
    ],
    [
      'a claim over the maximum volume size',
      (spec) =>
        Object.assign(spec.persistent_volume_claims![0]!.spec as object, {
          resources: { requests: { storage: '100Ti' } },
        }),
      'persistent_volume_claims[0].spec.resources.requests.storage',
    ],
  ])('refuses %s with 422 naming the path, and creates nothing', async (_rule, breakIt, path) => {
    const spec = reservationSpec('res-policy');
    breakIt(spec);
    const res = await authed(api().post('/api/v1/deployments')).send(spec).expect(422);
    expect(res.body.code).toBe('POLICY_VIOLATION');
    expect(res.body.details.violations).toEqual([{ path, rule: expect.any(String) }]);
    const selector = { labelSelector: 'odc.dev/external-id=res-policy' };
    const lists = await Promise.all([
      k.core.listNamespacedConfigMap({ namespace: NAMESPACE, ...selector }),
      k.core.listNamespacedService({ namespace: NAMESPACE, ...selector }),
      k.core.listNamespacedPersistentVolumeClaim({ namespace: NAMESPACE, ...selector }),
      k.core.listPersistentVolume(selector),
      k.apps.listNamespacedDeployment({ namespace: NAMESPACE, ...selector }),
      k.core.listNamespacedPod({ namespace: NAMESPACE, ...selector }),
      ...[
        ['networking.k8s.io/v1', 'Ingress'],
        ['policy/v1', 'PodDisruptionBudget'],
      ].map(([apiVersion, kind]) =>
        k.objects.list(
          apiVersion!,
          kind!,
          NAMESPACE,
          undefined,
          undefined,
          undefined,
          undefined,
          selector.labelSelector,
        ),
      ),
      k.core.listNamespacedConfigMap({ namespace: 'kube-system', ...selector }),
    ]);
    expect(lists.flatMap((list): unknown[] => list.items)).toEqual([]);
  });

  it('never takes over an object it did not create, nor another deployment’s (409, nothing applied)', async () => {
    const victimPv = uniqueName('victim-pv'); // cluster-scoped: other spec files share a real cluster
    await k.core.createNamespacedConfigMap({
      namespace: NAMESPACE,
      body: { metadata: { name: 'res-own-keys', labels: { team: 'theirs' } }, data: { a: 'b' } },
    });
    await k.core.createPersistentVolume({
      body: {
        metadata: { name: victimPv },
        spec: {
          capacity: { storage: '1Gi' },
          accessModes: ['ReadWriteOnce'],
          persistentVolumeReclaimPolicy: 'Delete',
          csi: { driver: 'ebs.csi.aws.com', volumeHandle: 'vol-victim' },
        },
      },
    });
    const takeover = await authed(api().post('/api/v1/deployments'))
      .send(
        reservationSpec('res-own', {
          persistent_volumes: [
            {
              apiVersion: 'v1',
              kind: 'PersistentVolume',
              metadata: { name: victimPv },
              spec: {
                capacity: { storage: '1Gi' },
                accessModes: ['ReadWriteOnce'],
                csi: { driver: 'ebs.csi.aws.com', volumeHandle: 'vol-victim' },
                claimRef: { namespace: NAMESPACE, name: 'mine' },
              },
            },
          ],
        }),
      )
      .expect(409);
    expect(takeover.body.details.conflicts).toEqual([
      {
        field: 'config_maps[0]',
        kind: 'ConfigMap',
        name: 'res-own-keys',
        owner: 'not managed by the deployer',
      },
      {
        field: 'persistent_volumes[0]',
        kind: 'PersistentVolume',
        name: victimPv,
        owner: 'not managed by the deployer',
      },
    ]);
    const untouched = await k.core.readNamespacedConfigMap({ namespace: NAMESPACE, name: 'res-own-keys' });
    expect(untouched.metadata!.labels).toEqual({ team: 'theirs' });
    expect((await k.core.readPersistentVolume({ name: victimPv })).spec!.claimRef).toBeUndefined();
    const created = await k.apps.listNamespacedDeployment({
      namespace: NAMESPACE,
      labelSelector: 'odc.dev/external-id=res-own',
    });
    expect(created.items).toEqual([]);

    // Another deployment's objects, sent under a second external id.
    await authed(api().post('/api/v1/deployments')).send(reservationSpec('res-first')).expect(201);
    const borrowed = reservationSpec('res-first');
    borrowed.metadata.external_id = 'res-second';
    const res = await authed(api().post('/api/v1/deployments')).send(borrowed).expect(409);
    expect(res.body.details.conflicts.map((c: { owner: string }) => c.owner)).toContain(
      'deployment res-first',
    );
    const first = await k.apps.readNamespacedDeployment({ namespace: NAMESPACE, name: 'res-first' });
    expect(first.metadata!.labels!['odc.dev/external-id']).toBe('res-first');
    await authed(api().delete('/api/v1/deployments/res-first')).expect(204);
    await authed(api().delete('/api/v1/deployments/res-second')).expect(204);
    await k.core.readNamespacedConfigMap({ namespace: NAMESPACE, name: 'res-own-keys' });
    await k.core.deletePersistentVolume({ name: victimPv });
  });

  it('answers 400 to ids and names that are not DNS labels, in paths and in specs', async () => {
    for (const path of [
      '/api/v1/deployments/a%20b/status',
      '/api/v1/deployments/%2E%2E/logs',
      '/api/v1/deployments/Res-A/url-ready',
      '/api/v1/volumes/%2E%2E',
      '/api/v1/snapshots/a%2Fb',
    ]) {
      const res = await authed(api().get(path));
      expect([path, res.status, res.body.code]).toEqual([path, 400, 'validation_failed']);
    }
    await authed(api().delete('/api/v1/volumes/%2E%2E')).expect(400);
    const spec = reservationSpec('res-names');
    spec.config_maps![0]!.metadata.name = '..';
    const res = await authed(api().post('/api/v1/deployments')).send(spec).expect(400);
    expect(res.body.fields).toEqual([
      {
        field: 'config_maps[0]',
        problems: ['metadata.name must be a DNS-1123 subdomain (lower case, digits, - and .)'],
      },
    ]);
  });

  it('prunes what an earlier spec of the deployment had and this one has not', async () => {
    await authed(api().post('/api/v1/deployments')).send(reservationSpec('res-prune')).expect(201);
    const withoutJupyter = reservationSpec('res-prune');
    delete withoutJupyter.ingress;
    const res = await authed(api().post('/api/v1/deployments')).send(withoutJupyter).expect(200);
    expect(res.body.objects.filter((o: { action: string }) => o.action === 'pruned')).toEqual([
      { kind: 'Ingress', name: 'res-prune', namespace: NAMESPACE, action: 'pruned' },
    ]);
    const ingresses = await k.objects.list('networking.k8s.io/v1', 'Ingress', NAMESPACE);
    expect(ingresses.items.map((i) => i.metadata!.name)).not.toContain('res-prune');

    // From a Deployment to a bare Pod: the Deployment (and with it its pods) goes; nothing else does.
    const asPod = reservationSpec('res-prune');
    delete asPod.ingress;
    const template = (asPod.deployment!.spec as { template: { spec: Record<string, unknown> } }).template;
    asPod.pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'res-prune-pod', namespace: NAMESPACE },
      spec: template.spec,
    };
    delete asPod.deployment;
    const switched = await authed(api().post('/api/v1/deployments')).send(asPod).expect(201);
    expect(
      switched.body.objects
        .filter((o: { action: string }) => o.action !== 'unchanged')
        .map((o: { kind: string; action: string }) => `${o.kind}:${o.action}`),
    ).toEqual(['Pod:created', 'Deployment:pruned']);
    await authed(api().delete('/api/v1/deployments/res-prune')).expect(204);
  });

  it('reports the recent warnings of the deployment’s Deployment, ReplicaSets and pods, oldest first', async () => {
    await authed(api().post('/api/v1/deployments')).send(reservationSpec('res-warn')).expect(201);
    const replicaSets = await eventually(
      () =>
        k.apps.listNamespacedReplicaSet({
          namespace: NAMESPACE,
          labelSelector: 'odc.dev/external-id=res-warn',
        }),
      (list) => list.items.length === 1,
    );
    const warning = (name: string, kind: string, objectName: string, at: string) =>
      k.core.createNamespacedEvent({
        namespace: NAMESPACE,
        body: {
          metadata: { name },
          involvedObject: { kind, name: objectName, namespace: NAMESPACE },
          type: 'Warning',
          reason: name,
          message: `${name} happened`,
          lastTimestamp: new Date(at),
        },
      });
    await warning('late', 'ReplicaSet', replicaSets.items[0]!.metadata!.name!, '2026-11-23T10:05:00Z');
    await warning('early', 'Deployment', 'res-warn', '2026-11-23T10:00:00Z');
    await warning('other-kind', 'Service', 'res-warn', '2026-11-23T10:01:00Z'); // not a workload of it
    const status = await authed(api().get('/api/v1/deployments/res-warn/status')).expect(200);
    expect(status.body.warnings.map((w: { reason: string }) => w.reason)).toEqual(['early', 'late']);
    expect(status.body.warnings[1]).toEqual({
      reason: 'late',
      message: 'late happened',
      object: `ReplicaSet/${replicaSets.items[0]!.metadata!.name}`,
      at: '2026-11-23T10:05:00.000Z',
    });
    await authed(api().delete('/api/v1/deployments/res-warn')).expect(204);
  });

  it('answers 400 with the offending fields for a malformed spec', async () => {
    const res = await authed(api().post('/api/v1/deployments'))
      .send({ metadata: { external_id: 'Not Valid', spec_version: 99 }, surprise: 1 })
      .expect(400);
    expect(res.body.code).toBe('invalid_spec');
    expect(res.body.fields.map((f: { field: string }) => f.field)).toEqual(
      expect.arrayContaining(['metadata.external_id', 'metadata.spec_version', 'surprise', 'deployment']),
    );
  });

  it('names the object that Kubernetes rejected, and a corrected retry completes', async () => {
    const broken = reservationSpec('res-d');
    (
      broken.deployment!.spec as { template: { spec: { containers: { image?: string }[] } } }
    ).template.spec.containers[0]!.image = '';
    const res = await authed(api().post('/api/v1/deployments')).send(broken).expect(422);
    expect(res.body).toMatchObject({
      code: 'kube_rejected',
      details: { failed_object: { field: 'deployment', kind: 'Deployment', name: 'res-d' } },
    });
    // What the workload needs went first; the rejected workload is all that is missing.
    expect(res.body.details.applied.map((o: { kind: string }) => o.kind)).toEqual([
      'ConfigMap',
      'PersistentVolumeClaim',
      'Service',
      'Ingress',
      'PodDisruptionBudget',
    ]);
    const fixed = await authed(api().post('/api/v1/deployments')).send(reservationSpec('res-d')).expect(201);
    expect(
      fixed.body.objects
        .filter((o: { action: string }) => o.action === 'created')
        .map((o: { kind: string }) => o.kind),
    ).toEqual(['Deployment']);
    await authed(api().delete('/api/v1/deployments/res-d')).expect(204);
  });

  it('does not start the workload when something it needs was rejected', async () => {
    const broken = reservationSpec('res-e');
    (broken.service!.spec as { ports: unknown[] }).ports = [{ name: 'ssh', port: 'twenty-two' }];
    const res = await authed(api().post('/api/v1/deployments')).send(broken).expect(422);
    expect(res.body).toMatchObject({
      code: 'kube_rejected',
      details: { failed_object: { field: 'service', kind: 'Service', name: 'res-e' } },
    });
    expect(res.body.details.applied.map((o: { kind: string }) => o.kind)).not.toContain('Deployment');
    const deployments = await k.apps.listNamespacedDeployment({
      namespace: NAMESPACE,
      labelSelector: 'odc.dev/external-id=res-e',
    });
    expect(deployments.items).toEqual([]);
    await authed(api().delete('/api/v1/deployments/res-e')).expect(204);
  });

  it('serves its OpenAPI document on its own listener, exactly as committed', async () => {
    const served = await api().get('/openapi.json').expect(200);
    const committed = JSON.parse(
      readFileSync(join(projectRoot(), 'openapi.deployer.json'), 'utf8'),
    ) as unknown;
    expect(served.body).toEqual(committed);
    expect(served.body.paths['/api/v1/deployments'].post.operationId).toBe('applyDeployment');
  });
});

/**
 * What the simulator answers where it once differed from a real API server (found by
 * test/kube/fidelity.spec.ts against the real tier; docs/simulator.md, "Known differences
 * from a real API server"): kept here so the ordinary tier holds the simulator to it.
 */
import { SimulatedCluster } from '../../src/simulator/cluster';
import { withDefaults } from '../../src/simulator/config';
import { SIMULATED_CSI_DRIVER } from '../../src/simulator/csi-driver';
import { eventually } from '../support/eventually';
import { FAST_TIMINGS, h100Pool } from '../support/simulator';

const NS = 'default';

/** An API server's JSON answer, read freely (each case looks at a few fields of a different kind). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

describe('the simulator answers what a real API server answers', () => {
  let cluster: SimulatedCluster;

  async function call(method: string, path: string, body?: unknown, contentType = 'application/json') {
    const response = await fetch(`${cluster.url}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': contentType },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Json };
  }

  const pod = (name: string, extra: object = {}) => ({
    metadata: { name },
    spec: {
      containers: [{ name: 'dev', image: 'pytorch:2', resources: { limits: { 'nvidia.com/gpu': '1' } } }],
      ...extra,
    },
  });

  beforeAll(async () => {
    cluster = await SimulatedCluster.start(
      withDefaults({ nodePools: [h100Pool(2, { zone: 'zone-a' })], timings: FAST_TIMINGS }),
    );
  });

  afterAll(() => cluster.close());

  it('refuses a claim without access modes or a size, as a null spec, naming both fields', async () => {
    const claim = { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'bare' }, spec: null };
    const { status, body } = await call('POST', `/api/v1/namespaces/${NS}/persistentvolumeclaims`, claim);
    expect(status).toBe(422);
    expect(body.details.causes).toEqual([
      {
        reason: 'FieldValueRequired',
        message: 'Required value: at least 1 access mode is required',
        field: 'spec.accessModes',
      },
      { reason: 'FieldValueRequired', message: 'Required value', field: 'spec.resources[storage]' },
    ]);
  });

  it('fills in defaults and what admission adds to a pod, owning only what the client wrote', async () => {
    const { status, body } = await call('POST', `/api/v1/namespaces/${NS}/pods`, pod('defaulted'));
    expect(status).toBe(201);
    expect(body.metadata.generation).toBe(1);
    expect(body.spec).toMatchObject({
      restartPolicy: 'Always',
      dnsPolicy: 'ClusterFirst',
      schedulerName: 'default-scheduler',
      terminationGracePeriodSeconds: 30,
      enableServiceLinks: true,
      priority: 0,
      serviceAccountName: 'default',
      containers: [
        expect.objectContaining({
          imagePullPolicy: 'IfNotPresent',
          resources: { limits: { 'nvidia.com/gpu': '1' }, requests: { 'nvidia.com/gpu': '1' } },
        }),
      ],
      tolerations: [
        expect.objectContaining({ key: 'node.kubernetes.io/not-ready', tolerationSeconds: 300 }),
        expect.objectContaining({ key: 'node.kubernetes.io/unreachable', tolerationSeconds: 300 }),
      ],
    });
    const owned = body.metadata.managedFields[0].fieldsV1['f:spec'];
    expect(owned['f:enableServiceLinks']).toEqual({});
    expect(owned['f:priority']).toBeUndefined(); // admission's, nobody's
    // A map the create added is owned itself ("."); a container's resources too.
    expect(owned['f:containers']['k:{"name":"dev"}']['f:resources']['.']).toEqual({});
  });

  it('binds without bumping the generation, copies the zone, and answers a delete as a graceful one', async () => {
    await call('POST', `/api/v1/namespaces/${NS}/pods`, pod('bound'));
    const bound = await eventually(
      async () => (await call('GET', `/api/v1/namespaces/${NS}/pods/bound`)).body,
      (p) => p.spec.nodeName !== undefined,
    );
    expect(bound.metadata.generation).toBe(1);
    expect(bound.metadata.labels).toEqual({ 'topology.kubernetes.io/zone': 'zone-a' });
    const deleted = await call('DELETE', `/api/v1/namespaces/${NS}/pods/bound`);
    expect(deleted.body.metadata).toMatchObject({ deletionGracePeriodSeconds: 30, generation: 2 });
  });

  it('says why a pod fits nowhere, preemption included', async () => {
    await call('POST', `/api/v1/namespaces/${NS}/pods`, {
      ...pod('too-big'),
      spec: { containers: [{ name: 'c', image: 'x:1', resources: { limits: { 'nvidia.com/gpu': '9' } } }] },
    });
    const refused = await eventually(
      async () => (await call('GET', `/api/v1/namespaces/${NS}/pods/too-big`)).body,
      (p) => p.status.conditions !== undefined,
    );
    expect(refused.status.conditions[0]).toMatchObject({
      reason: 'Unschedulable',
      observedGeneration: 1,
      message:
        '0/2 nodes are available: 2 Insufficient nvidia.com/gpu. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.',
    });
    const events = await call(
      'GET',
      `/api/v1/namespaces/${NS}/events?fieldSelector=${encodeURIComponent('involvedObject.name=too-big')}`,
    );
    expect(events.body.items[0]).toMatchObject({
      reason: 'FailedScheduling',
      action: 'Scheduling',
      source: {},
      firstTimestamp: null,
      reportingComponent: 'default-scheduler',
    });
  });

  it('answers DELETE as each registry does, and orphans a Job’s pods by default', async () => {
    await call('POST', `/api/v1/namespaces/${NS}/configmaps`, { metadata: { name: 'gone' } });
    const configMap = await call('DELETE', `/api/v1/namespaces/${NS}/configmaps/gone`);
    expect(configMap.body).toMatchObject({
      kind: 'Status',
      status: 'Success',
      details: { name: 'gone', kind: 'configmaps' },
    });
    expect(configMap.body.details.group).toBeUndefined();
    expect(configMap.body.metadata).toEqual({});

    await call('POST', `/apis/batch/v1/namespaces/${NS}/jobs`, {
      metadata: { name: 'orphaner' },
      spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'x:1' }] } } },
    });
    await eventually(
      async () => (await call('GET', `/api/v1/namespaces/${NS}/pods?labelSelector=job-name%3Dorphaner`)).body,
      (list) => list.items.length === 1,
    );
    const job = await call('DELETE', `/apis/batch/v1/namespaces/${NS}/jobs/orphaner`);
    expect(job.body.metadata).toMatchObject({ finalizers: ['orphan'], deletionGracePeriodSeconds: 0 });
    const left = await eventually(
      async () => (await call('GET', `/api/v1/namespaces/${NS}/pods?labelSelector=job-name%3Dorphaner`)).body,
      (list) => list.items.length === 1 && !list.items[0].metadata.ownerReferences,
    );
    expect(left.items[0].metadata.generateName).toBe('orphaner-');
  });

  it('owns label selectors whole and keys ports by port and protocol', async () => {
    const applied = await call(
      'PATCH',
      `/api/v1/namespaces/${NS}/services/ssh?fieldManager=odc&force=true`,
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'ssh' },
        spec: { selector: { app: 'a' }, ports: [{ name: 'ssh', port: 22 }] },
      },
      'application/apply-patch+yaml',
    );
    expect(applied.body.metadata.generation).toBeUndefined();
    expect(applied.body.metadata.managedFields[0].fieldsV1['f:spec']).toEqual({
      'f:selector': {},
      'f:ports': { 'k:{"port":22,"protocol":"TCP"}': { '.': {}, 'f:name': {}, 'f:port': {} } },
    });
    expect(applied.body.spec.ports[0]).toMatchObject({ protocol: 'TCP', targetPort: 22 });
  });

  it('refuses what it cannot decode with 400, and field selectors it does not know', async () => {
    const wrongType = await call('POST', `/api/v1/namespaces/${NS}/services`, {
      metadata: { name: 'typo' },
      spec: { ports: [{ port: 'twenty-two' }] },
    });
    expect(wrongType).toMatchObject({
      status: 400,
      body: {
        message:
          'Service in version "v1" cannot be handled as a Service: json: cannot unmarshal string into Go struct field ServicePort.spec.ports.port of type int32',
      },
    });
    const unknownPodField = await call('GET', `/api/v1/namespaces/${NS}/pods?fieldSelector=spec.foo%3D1`);
    expect(unknownPodField.body.message).toBe('field label not supported: spec.foo');
    const setOperator = await call(
      'GET',
      `/api/v1/namespaces/${NS}/configmaps?fieldSelector=${encodeURIComponent('metadata.name in (a)')}`,
    );
    expect(setOperator.body.message).toBe(
      "invalid selector: 'metadata.name in (a)'; can't understand 'metadata.name in (a)'",
    );
  });

  it('gives a new claim the default StorageClass, and a disruption budget its status', async () => {
    const claim = await call('POST', `/api/v1/namespaces/${NS}/persistentvolumeclaims`, {
      metadata: { name: 'scratch' },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
    });
    expect(claim.body.spec).toMatchObject({ storageClassName: 'standard', volumeMode: 'Filesystem' });

    await call('POST', `/apis/apps/v1/namespaces/${NS}/deployments`, {
      metadata: { name: 'guarded' },
      spec: {
        selector: { matchLabels: { app: 'guarded' } },
        template: { metadata: { labels: { app: 'guarded' } }, spec: pod('x').spec },
      },
    });
    await call('POST', `/apis/policy/v1/namespaces/${NS}/poddisruptionbudgets`, {
      metadata: { name: 'guarded' },
      spec: { maxUnavailable: 0, selector: { matchLabels: { app: 'guarded' } } },
    });
    const budget = await eventually(
      async () => (await call('GET', `/apis/policy/v1/namespaces/${NS}/poddisruptionbudgets/guarded`)).body,
      (b) => b.status.currentHealthy === 1,
    );
    expect(budget.status).toMatchObject({
      disruptionsAllowed: 0,
      currentHealthy: 1,
      desiredHealthy: 1,
      expectedPods: 1,
      observedGeneration: 1,
      conditions: [
        expect.objectContaining({ type: 'DisruptionAllowed', status: 'False', reason: 'InsufficientPods' }),
      ],
    });
  });

  describe('storage, as the real controllers leave it', () => {
    const SNAPSHOTS = `/apis/snapshot.storage.k8s.io/v1/namespaces/${NS}/volumesnapshots`;
    const CLAIMS = `/api/v1/namespaces/${NS}/persistentvolumeclaims`;
    const claim = (name: string, storage = '1Gi', extra: object = {}) => ({
      metadata: { name },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage } }, ...extra },
    });
    const fromSnapshot = (snapshot: string) => ({
      dataSource: { apiGroup: 'snapshot.storage.k8s.io', kind: 'VolumeSnapshot', name: snapshot },
    });
    const snapshotOf = (name: string, claimName: string) => ({
      apiVersion: 'snapshot.storage.k8s.io/v1',
      kind: 'VolumeSnapshot',
      metadata: { name },
      spec: { source: { persistentVolumeClaimName: claimName } },
    });
    const read = async (path: string) => (await call('GET', path)).body;
    const bound = (name: string) =>
      eventually(
        () => read(`${CLAIMS}/${name}`),
        (c) => c.status?.phase === 'Bound',
      );
    const ready = (name: string) =>
      eventually(
        () => read(`${SNAPSHOTS}/${name}`),
        (s) => s.status?.readyToUse === true,
      );
    const eventsOf = async (name: string) =>
      (
        await read(
          `/api/v1/namespaces/${NS}/events?fieldSelector=${encodeURIComponent(`involvedObject.name=${name}`)}`,
        )
      ).items
        .map((e: Json) => [e.type, e.reason, e.source.component, e.message])
        .sort((a: string[], b: string[]) => a.join().localeCompare(b.join()));

    it('binds a claim: capacity as the provisioner writes it, the volume’s annotations and phase time, the Unused condition following its pods', async () => {
      await call('POST', CLAIMS, claim('used', '1024Mi'));
      const claimed = await bound('used');
      expect(claimed.spec.resources.requests.storage).toBe('1Gi'); // canonical, as stored
      expect(claimed.status.capacity).toEqual({ storage: '1Gi' });
      expect(claimed.status.conditions).toEqual([
        {
          type: 'Unused',
          status: 'True',
          lastProbeTime: null,
          lastTransitionTime: expect.any(String),
          reason: 'NoPodsUsingPVC',
          message: 'No pods are currently referencing this PVC',
        },
      ]);
      const volume = await read(`/api/v1/persistentvolumes/${claimed.spec.volumeName}`);
      expect(volume.metadata.annotations).toEqual({
        'pv.kubernetes.io/provisioned-by': SIMULATED_CSI_DRIVER,
        'volume.kubernetes.io/provisioner-deletion-secret-name': '',
        'volume.kubernetes.io/provisioner-deletion-secret-namespace': '',
      });
      expect(volume.spec.claimRef).toMatchObject({ name: 'used', uid: claimed.metadata.uid });
      expect(volume.spec.claimRef.resourceVersion).toEqual(expect.any(String));
      expect(volume.status).toEqual({ phase: 'Bound', lastPhaseTransitionTime: expect.any(String) });
      const events = await eventsOf('used');
      expect(events.map(([type, reason]: string[]) => `${type} ${reason}`)).toEqual([
        'Normal ExternalProvisioning',
        'Normal Provisioning',
        'Normal ProvisioningSucceeded',
      ]);
      expect(events[0][2]).toBe('persistentvolume-controller');
      expect(events[1][2]).toMatch(new RegExp(`^${SIMULATED_CSI_DRIVER}_.+_[0-9a-f-]{36}$`));

      await call(
        'POST',
        `/api/v1/namespaces/${NS}/pods`,
        pod('user', { volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'used' } }] }),
      );
      const inUse = await eventually(
        () => read(`${CLAIMS}/used`),
        (c) => c.status.conditions[0].status === 'False',
      );
      expect(inUse.status.conditions[0]).toMatchObject({
        reason: 'PodUsingPVC',
        message: 'A pod is currently referencing this PVC',
      });
      await call('DELETE', `/api/v1/namespaces/${NS}/pods/user`);
      await eventually(
        () => read(`${CLAIMS}/used`),
        (c) => c.status.conditions[0].reason === 'NoPodsUsingPVC',
      );

      // Deleting the claim deletes its volume (the class's Delete policy).
      await call('DELETE', `${CLAIMS}/used`);
      await eventually(
        async () => (await call('GET', `/api/v1/persistentvolumes/${claimed.spec.volumeName}`)).status,
        (status) => status === 404,
      );
    });

    it('releases a static volume whose claim is gone, and binds no new claim of that name to it', async () => {
      const createdVolume = await call('POST', '/api/v1/persistentvolumes', {
        metadata: { name: 'static-released' },
        spec: {
          capacity: { storage: '2Gi' },
          accessModes: ['ReadWriteOnce'],
          csi: { driver: SIMULATED_CSI_DRIVER, volumeHandle: 'vol-1' },
        },
      });
      // Stored Pending with its phase's time, as the API server's strategy does; then Available.
      expect(createdVolume.body.status).toEqual({
        phase: 'Pending',
        lastPhaseTransitionTime: expect.any(String),
      });
      await eventually(
        () => read('/api/v1/persistentvolumes/static-released'),
        (v) => v.status.phase === 'Available',
      );
      const named = claim('static', '2Gi', { volumeName: 'static-released', storageClassName: '' });
      await call('POST', CLAIMS, named);
      const staticClaim = await bound('static');
      expect(staticClaim.status.capacity).toEqual({ storage: '2Gi' });
      expect(staticClaim.metadata.annotations).toEqual({ 'pv.kubernetes.io/bind-completed': 'yes' });
      const staticVolume = await read('/api/v1/persistentvolumes/static-released');
      expect(staticVolume.metadata.annotations).toEqual({ 'pv.kubernetes.io/bound-by-controller': 'yes' });
      expect(staticVolume.spec.claimRef).toMatchObject({ name: 'static', uid: staticClaim.metadata.uid });
      await call('DELETE', `${CLAIMS}/static`);
      const released = await eventually(
        () => read('/api/v1/persistentvolumes/static-released'),
        (v) => v.status.phase === 'Released',
      );
      expect(released.status.lastPhaseTransitionTime).toEqual(expect.any(String));
      await call('POST', CLAIMS, named);
      expect(
        await eventually(
          () => eventsOf('static'),
          (e) => e.length > 0,
        ),
      ).toEqual([
        [
          'Warning',
          'FailedBinding',
          'persistentvolume-controller',
          'volume "static-released" already bound to a different claim.',
        ],
      ]);
      expect((await read(`${CLAIMS}/static`)).status.phase).toBe('Pending');
    });

    it('gives a snapshot the default class and the controller’s events; restores only as large a claim, naming the source in dataSourceRef', async () => {
      await call('POST', CLAIMS, claim('origin', '2Gi'));
      await bound('origin');
      await call('POST', SNAPSHOTS, snapshotOf('origin-snap', 'origin'));
      const snapshot = await ready('origin-snap');
      expect(snapshot.spec.volumeSnapshotClassName).toBe('standard-snapshots');
      expect(snapshot.metadata.generation).toBe(2);
      expect(snapshot.status.restoreSize).toBe('2Gi');
      const content = await read(
        `/apis/snapshot.storage.k8s.io/v1/volumesnapshotcontents/${snapshot.status.boundVolumeSnapshotContentName}`,
      );
      expect(content.spec.sourceVolumeMode).toBe('Filesystem');
      expect(content.spec.volumeSnapshotRef.resourceVersion).toEqual(expect.any(String));
      expect(await eventsOf('origin-snap')).toEqual([
        [
          'Normal',
          'CreatingSnapshot',
          'snapshot-controller',
          `Waiting for a snapshot ${NS}/origin-snap to be created by the CSI driver.`,
        ],
        [
          'Normal',
          'SnapshotCreated',
          'snapshot-controller',
          `Snapshot ${NS}/origin-snap was successfully created by the CSI driver.`,
        ],
        ['Normal', 'SnapshotReady', 'snapshot-controller', `Snapshot ${NS}/origin-snap is ready to use.`],
      ]);

      const restored = await call('POST', CLAIMS, claim('origin-copy', '2Gi', fromSnapshot('origin-snap')));
      expect(restored.body.spec.dataSourceRef).toEqual(fromSnapshot('origin-snap').dataSource);
      expect((await bound('origin-copy')).status.capacity).toEqual({ storage: '2Gi' });

      await call('POST', CLAIMS, claim('origin-small', '1Gi', fromSnapshot('origin-snap')));
      await call('POST', CLAIMS, claim('from-nothing', '1Gi', fromSnapshot('nothing')));
      const failures = async (name: string) =>
        (await eventsOf(name)).filter(([type]: string[]) => type === 'Warning').map((e: string[]) => e[3]);
      const handle = 'error getting handle for DataSource Type VolumeSnapshot by Name';
      expect(
        await eventually(
          () => failures('origin-small'),
          (f) => f.length > 0,
        ),
      ).toEqual([
        `${handle} origin-snap: requested volume size ${2 ** 30} is less than the size ${2 * 2 ** 30} for the source snapshot origin-snap`,
      ]);
      expect(
        await eventually(
          () => failures('from-nothing'),
          (f) => f.length > 0,
        ),
      ).toEqual([
        `${handle} nothing: error getting snapshot nothing from api server: volumesnapshots.snapshot.storage.k8s.io "nothing" not found`,
      ]);
      expect((await read(`${CLAIMS}/origin-small`)).status).toEqual({ phase: 'Pending' });

      // A snapshot a pending restore uses is kept (snapshot-controller's finalizers) until it is not.
      expect(snapshot.metadata.finalizers).toEqual([
        'snapshot.storage.kubernetes.io/volumesnapshot-as-source-protection',
        'snapshot.storage.kubernetes.io/volumesnapshot-bound-protection',
      ]);
      const deleting = await call('DELETE', `${SNAPSHOTS}/origin-snap`);
      expect(deleting.status).toBe(200);
      expect(deleting.body.metadata.deletionTimestamp).toEqual(expect.any(String));
      expect(
        await eventually(
          () => eventsOf('origin-snap'),
          (e) => e.length > 3,
        ),
      ).toContainEqual([
        'Warning',
        'SnapshotDeletePending',
        'snapshot-controller',
        'Snapshot is being used to restore a PVC',
      ]);
      expect((await call('GET', `${SNAPSHOTS}/origin-snap`)).status).toBe(200);
      await call('DELETE', `${CLAIMS}/origin-small`);
      await eventually(
        async () => (await call('GET', `${SNAPSHOTS}/origin-snap`)).status,
        (status) => status === 404,
      );
      const contentPath = `/apis/snapshot.storage.k8s.io/v1/volumesnapshotcontents/${content.metadata.name}`;
      await eventually(
        async () => (await call('GET', contentPath)).status,
        (status) => status === 404,
      );
    });

    it('holds a snapshot of a claim that is not bound yet with the controller’s error, then cuts it once it is', async () => {
      await call('POST', CLAIMS, claim('late', '1Gi', { storageClassName: 'later' }));
      await call('POST', SNAPSHOTS, snapshotOf('late-snap', 'late'));
      await call('POST', SNAPSHOTS, {
        ...snapshotOf('late-named', 'late'),
        spec: {
          volumeSnapshotClassName: 'standard-snapshots',
          source: { persistentVolumeClaimName: 'late' },
        },
      });
      const unbound = 'the PVC late is not yet bound to a PV, will not attempt to take a snapshot';
      const waiting = await eventually(
        () => read(`${SNAPSHOTS}/late-snap`),
        (s) => s.status?.error !== undefined,
      );
      expect(waiting.status).toEqual({
        error: {
          message: `Failed to set default snapshot class with error ${unbound}`,
          time: expect.any(String),
        },
      });
      const named = await eventually(
        () => read(`${SNAPSHOTS}/late-named`),
        (s) => s.status?.error !== undefined,
      );
      expect(named.status).toEqual({
        readyToUse: false,
        error: {
          message: `Failed to create snapshot content with error failed to get input parameters to create snapshot late-named: "${unbound}"`,
          time: expect.any(String),
        },
      });
      expect(await eventsOf('late')).toEqual([
        [
          'Warning',
          'ProvisioningFailed',
          'persistentvolume-controller',
          'storageclass.storage.k8s.io "later" not found',
        ],
      ]);

      await call('POST', '/apis/storage.k8s.io/v1/storageclasses', {
        metadata: { name: 'later' },
        provisioner: SIMULATED_CSI_DRIVER,
      });
      await bound('late');
      for (const name of ['late-snap', 'late-named']) {
        const cut = await ready(name);
        expect(cut.status.error).toBeUndefined();
      }
      expect(await eventsOf('late-snap')).toContainEqual([
        'Warning',
        'SetDefaultSnapshotClassFailed',
        'snapshot-controller',
        `Failed to set default snapshot class with error ${unbound}`,
      ]);
    });
  });

  it('refuses a custom resource without its kind or version, and an apply of another type', async () => {
    const snapshots = `/apis/snapshot.storage.k8s.io/v1/namespaces/${NS}/volumesnapshots`;
    const body = { metadata: { name: 's' }, spec: { source: { persistentVolumeClaimName: 'c' } } };
    const text = JSON.stringify(body);
    const noKind = await call('POST', snapshots, body);
    expect(noKind.status).toBe(400);
    expect(noKind.body.message).toBe(
      `the object provided is unrecognized (must be of type VolumeSnapshot): Object 'Kind' is missing in '${text}' (${text.slice(0, 30)} ...)`,
    );
    const noVersion = await call('POST', snapshots, { kind: 'VolumeSnapshot', ...body });
    expect(noVersion.body.message).toBe(
      'the API version in the data () does not match the expected API version (snapshot.storage.k8s.io/v1)',
    );
    const otherKind = await call('POST', snapshots, {
      apiVersion: 'snapshot.storage.k8s.io/v1',
      kind: 'Pod',
      ...body,
    });
    expect(otherKind.status).toBe(422);
    expect(otherKind.body.message).toBe(
      'Pod.snapshot.storage.k8s.io "s" is invalid: kind: Invalid value: "Pod": must be VolumeSnapshot',
    );

    const apply = (path: string, sent: object) =>
      call('PATCH', `${path}?fieldManager=fidelity`, sent, 'application/apply-patch+yaml');
    const bare = await apply(`/api/v1/namespaces/${NS}/configmaps/applied`, {
      metadata: { name: 'applied' },
    });
    expect(bare).toMatchObject({ status: 400, body: { message: 'invalid object type: /, Kind=' } });
    const wrongVersion = await apply(`/apis/apps/v1/namespaces/${NS}/deployments/d`, {
      apiVersion: 'v1',
      kind: 'Deployment',
      metadata: { name: 'd' },
    });
    expect(wrongVersion.body.message).toBe('invalid object type: /v1, Kind=Deployment');
  });

  it('writes quantities back in their canonical form', async () => {
    const { body } = await call('POST', `/api/v1/namespaces/${NS}/pods`, {
      metadata: { name: 'quantities' },
      spec: {
        containers: [
          {
            name: 'c',
            image: 'x:1',
            resources: { requests: { cpu: '0.5', memory: '1000M' }, limits: { cpu: 2, memory: '1.5Gi' } },
          },
        ],
      },
    });
    expect(body.spec.containers[0].resources).toEqual({
      requests: { cpu: '500m', memory: '1G' },
      limits: { cpu: '2', memory: '1536Mi' },
    });
  });
});

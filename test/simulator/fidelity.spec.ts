/**
 * What the simulator answers where it once differed from a real API server (found by
 * test/kube/fidelity.spec.ts against the real tier; docs/simulator.md, "Known differences
 * from a real API server"): kept here so the ordinary tier holds the simulator to it.
 */
import { SimulatedCluster } from '../../src/simulator/cluster';
import { withDefaults } from '../../src/simulator/config';
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
});

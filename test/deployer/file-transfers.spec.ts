import request from 'supertest';
import type { DeploymentSpec } from '../../src/deployer/contract';
import { NO_FAULTS } from '../../src/simulator/config';
import { eventually } from '../support/eventually';
import { h100Pool, itSimulatorOnly } from '../support/simulator';
import { NAMESPACE, reservationSpec, startDeployer, type DeployerUnderTest } from './fixtures';

/** A reservation whose pod mounts its scratch claim at /home/dev. */
function specWithVolume(externalId: string): DeploymentSpec {
  const spec = reservationSpec(externalId);
  const template = (spec.deployment!.spec as { template: { spec: Record<string, unknown> } }).template;
  template.spec.volumes = [{ name: 'home', persistentVolumeClaim: { claimName: `${externalId}-scratch` } }];
  return spec;
}

// Every test here needs the deployment's pod Running with its claim bound.
describe('deployer file transfers against a cluster', () => {
  let deployer: DeployerUnderTest;
  let k: DeployerUnderTest['k'];
  const api = () => deployer.api();
  const authed = (req: request.Test) => deployer.authed(req);
  const transfer = {
    image: 'amazon/aws-cli:2.22.0',
    args: ['s3', 'cp', '--recursive', 's3://b/data', '/data'],
  };

  beforeAll(async () => {
    deployer = await startDeployer({
      cluster: {
        nodePools: [h100Pool(1, { taints: [{ key: 'nvidia.com/gpu', effect: 'NoSchedule' }] })],
        faults: { ...NO_FAULTS, imagePullFailure: '^broken/' },
      },
    });
    k = deployer.k;
    await k.core.createNamespacedPersistentVolumeClaim({
      namespace: NAMESPACE,
      body: {
        metadata: { name: 'unmanaged' },
        spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
      },
    });
    for (const spec of [specWithVolume('res-ft'), reservationSpec('res-novol')]) {
      await authed(api().post('/api/v1/deployments')).send(spec).expect(201);
    }
    // A pod of another deployment that mounts res-ft's claim: the policy refuses such a spec now,
    // but one may have been applied before it did.
    await k.core.createNamespacedPod({
      namespace: NAMESPACE,
      body: {
        metadata: {
          name: 'res-sneak',
          labels: { 'odc.dev/external-id': 'res-sneak', 'app.kubernetes.io/managed-by': 'odc-deployer' },
        },
        spec: {
          containers: [{ name: 'dev', image: 'pytorch:2' }],
          volumes: [{ name: 'home', persistentVolumeClaim: { claimName: 'res-ft-scratch' } }],
        },
      },
    });
    await eventually(
      async () => (await authed(api().get('/api/v1/deployments/res-ft/status'))).body,
      (status) => status.pods?.[0]?.phase === 'Running',
    );
  });

  afterAll(() => deployer.close());

  it('runs an upload Job on the pod’s node with its volume, and reports it until it succeeds', async () => {
    const started = await authed(api().post('/api/v1/deployments/res-ft/file-transfers/upload'))
      .send({ ...transfer, env: [{ name: 'SOURCE', value: 's3://b/data' }] })
      .expect(201);
    expect(started.body).toMatchObject({
      external_id: 'res-ft',
      direction: 'upload',
      volume: 'res-ft-scratch',
      state: expect.stringMatching(/^(pending|running)$/),
    });
    const id = started.body.id as string;
    expect(id).toMatch(/^res-ft-up-[0-9a-f]{6}$/);

    const job = await k.objects.read({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: id, namespace: NAMESPACE },
    });
    const devPod = (await authed(api().get('/api/v1/deployments/res-ft/status'))).body.pods[0];
    const podSpec = (job as { spec: { template: { spec: Record<string, unknown> } } }).spec.template.spec;
    expect(podSpec).toMatchObject({
      affinity: {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [
              { matchFields: [{ key: 'metadata.name', operator: 'In', values: [devPod.node] }] },
            ],
          },
        },
      },
      // The dev pod's tolerations (a real API server adds DefaultTolerationSeconds' two as well).
      tolerations: expect.arrayContaining([{ key: 'nvidia.com/gpu', operator: 'Exists' }]),
      automountServiceAccountToken: false,
      volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'res-ft-scratch' } }],
      containers: [
        expect.objectContaining({
          image: transfer.image,
          args: transfer.args,
          volumeMounts: [{ name: 'data', mountPath: '/data' }],
          env: expect.arrayContaining([{ name: 'SOURCE', value: 's3://b/data' }]),
        }),
      ],
    });

    const done = await eventually(
      async () =>
        (await authed(api().get(`/api/v1/deployments/res-ft/file-transfers/${id}`)).expect(200)).body,
      (info) => info.state === 'succeeded',
    );
    expect(done.completed_at).toEqual(expect.any(String));
    // The transfer's pod is not one of the deployment's pods.
    const status = (await authed(api().get('/api/v1/deployments/res-ft/status'))).body;
    expect(status.pods.map((p: { name: string }) => p.name)).toEqual([devPod.name]);
  });

  itSimulatorOnly('kubelet')('reports why a transfer waits (an image that cannot be pulled)', async () => {
    const started = await authed(api().post('/api/v1/deployments/res-ft/file-transfers/download'))
      .send({ image: 'broken/uploader:1', volume: 'res-ft-scratch', mount_path: '/mnt/home' })
      .expect(201);
    expect(started.body.direction).toBe('download');
    const waiting = await eventually(
      async () =>
        (await authed(api().get(`/api/v1/deployments/res-ft/file-transfers/${started.body.id}`)).expect(200))
          .body,
      (info) => typeof info.message === 'string',
    );
    expect(waiting).toMatchObject({ state: 'pending', message: expect.stringContaining('ErrImagePull') });
  });

  it.each([
    ['a deployment that mounts no volume', 'res-novol', 'upload', transfer, 422, 'no_volume'],
    ['a volume that does not exist', 'res-ft', 'upload', { ...transfer, volume: 'nope' }, 404, 'not_found'],
    ['a deployment that does not exist', 'res-none', 'upload', transfer, 404, 'not_found'],
    [
      'another deployment’s volume',
      'res-novol',
      'upload',
      { ...transfer, volume: 'res-ft-scratch' },
      404,
      'not_found',
    ],
    [
      'another deployment’s volume, even when its pod mounts it',
      'res-sneak',
      'upload',
      transfer,
      404,
      'not_found',
    ],
    [
      'a volume the deployer does not manage',
      'res-ft',
      'upload',
      { ...transfer, volume: 'unmanaged' },
      404,
      'not_found',
    ],
    ['a direction that does not exist', 'res-ft', 'sideways', transfer, 404, 'not_found'],
    ['a request without an image', 'res-ft', 'upload', { args: ['x'] }, 400, 'validation_failed'],
    [
      'a relative mount path',
      'res-ft',
      'upload',
      { ...transfer, mount_path: 'data' },
      400,
      'validation_failed',
    ],
  ])('refuses %s', async (_case, externalId, direction, body, status, code) => {
    const before = (await k.objects.list('batch/v1', 'Job', NAMESPACE)).items.length;
    const res = await authed(api().post(`/api/v1/deployments/${externalId}/file-transfers/${direction}`))
      .send(body)
      .expect(status);
    expect(res.body.code).toBe(code);
    expect((await k.objects.list('batch/v1', 'Job', NAMESPACE)).items.length).toBe(before);
  });

  it('answers 404 for a transfer of another deployment or none, and DELETE /deployments removes its transfers', async () => {
    const jobs = (await k.objects.list('batch/v1', 'Job', NAMESPACE)).items;
    expect(jobs.length).toBeGreaterThan(0); // the upload, and on the simulator the download that waits
    await authed(api().get(`/api/v1/deployments/res-novol/file-transfers/${jobs[0]!.metadata!.name}`)).expect(
      404,
    );
    await authed(api().get('/api/v1/deployments/res-ft/file-transfers/res-ft-up-000000')).expect(404);

    await authed(api().delete('/api/v1/deployments/res-ft')).expect(204);
    expect((await k.objects.list('batch/v1', 'Job', NAMESPACE)).items).toEqual([]);
  });
});

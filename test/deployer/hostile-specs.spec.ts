import request from 'supertest';
import type { DeploymentSpec } from '../../src/deployer/contract';
import { NAMESPACE, reservationSpec, startDeployer, type DeployerUnderTest } from './fixtures';

const podSpecOf = (spec: DeploymentSpec) =>
  (spec.deployment!.spec as { template: { spec: Record<string, unknown> } }).template.spec;

/** Requests built to break the deployer: each is a 4xx with a code, and nothing is applied. */
describe('deployer: hostile requests', () => {
  let deployer: DeployerUnderTest;
  let k: DeployerUnderTest['k'];
  const api = () => deployer.api();
  const authed = (req: request.Test) => deployer.authed(req);
  const services = async () =>
    (await k.core.listNamespacedService({ namespace: NAMESPACE })).items.map((s) => s.metadata!.name);

  beforeAll(async () => {
    deployer = await startDeployer();
    k = deployer.k;
    await authed(api().post('/api/v1/volumes')).send({ name: 'odc-disk-theirs', size: '1Gi' }).expect(201);
  });

  afterAll(() => deployer.close());

  it.each([
    ['/api/v1/deployments?external_id=res-a,res-b&external_id=res-c', 'external_id'],
    ['/api/v1/volumes?namespace=gpu-dev&namespace=kube-system', 'namespace'],
    ['/api/v1/snapshots?volume=a&volume=b', 'volume'],
    ['/api/v1/volumes/odc-disk-theirs?namespace=gpu-dev&namespace=gpu-dev', 'namespace'],
    ['/api/v1/deployments/res-none/logs?tailLines=1&tailLines=2', 'tailLines'],
    ['/api/v1/deployments/res-none/logs?container=a&container=b', 'container'],
    ['/api/v1/deployments/res-none/logs?previous=true&previous=false', 'previous'],
  ])('answers a repeated query parameter with 400 naming it: %s', async (url, field) => {
    const res = await authed(api().get(url)).expect(400);
    expect(res.body.code).toBe('validation_failed');
    expect(res.body.fields.map((f: { field: string }) => f.field)).toEqual([field]);
  });

  it.each([
    // Within the HTTP layer's bound for any body: the deployer's own bound for a spec refuses it.
    [40, ['invalid_spec']],
    // Past it: whichever refuses first (a 20,000 deep value applied once answered 502, the Service applied).
    [20_000, ['invalid_spec', 'body_too_deep']],
  ])('refuses ConfigMap data nested %i deep with a 400 before anything is applied', async (depth, codes) => {
    const spec = reservationSpec(`res-deep-${depth}`);
    const deep = '{"a":'.repeat(depth) + '"x"' + '}'.repeat(depth);
    // JSON.stringify itself would overflow on it: the body is written as text.
    const body = JSON.stringify(spec).replace('{"authorized_keys":"ssh-ed25519 AAAA alice"}', deep);
    expect(body).toContain(deep);
    const res = await authed(api().post('/api/v1/deployments'))
      .set('content-type', 'application/json')
      .send(body)
      .expect(400);
    expect(codes).toContain(res.body.code);
    if (res.body.code === 'invalid_spec') {
      expect(res.body.fields).toEqual([
        { field: 'config_maps[0]', problems: ['nests deeper than 32 levels'] },
      ]);
    }
    expect(await services()).not.toContain(`res-deep-${depth}`);
  });

  it('refuses ConfigMap data that is not text (422, naming the key) before the Service is applied', async () => {
    const spec = reservationSpec('res-notext');
    spec.config_maps![0] = { ...spec.config_maps![0]!, data: { keys: { nested: 'x' } } };
    const res = await authed(api().post('/api/v1/deployments')).send(spec).expect(422);
    expect(res.body.details.violations).toEqual([
      { path: 'config_maps[0].data.keys', rule: 'ConfigMap values must be strings' },
    ]);
    expect(await services()).not.toContain('res-notext');
  });

  it('refuses a list where the contract has one object ("deployment": [ … ]) with 400', async () => {
    const spec = reservationSpec('res-list');
    const body = {
      ...spec,
      deployment: [
        spec.deployment,
        { ...spec.deployment, metadata: { name: 'res-list-2', namespace: NAMESPACE } },
      ],
    };
    const res = await authed(api().post('/api/v1/deployments')).send(body).expect(400);
    expect(res.body).toMatchObject({ code: 'invalid_spec', fields: [{ field: 'deployment' }] });
    expect(await services()).not.toContain('res-list');
    const deployments = (await k.apps.listNamespacedDeployment({ namespace: NAMESPACE })).items;
    expect(deployments.map((d) => d.metadata!.name)).not.toContain('res-list');
  });

  it('refuses a pod mounting another reservation’s disk (422 POLICY_VIOLATION naming the rule)', async () => {
    const spec = reservationSpec('res-thief');
    podSpecOf(spec).volumes = [{ name: 'home', persistentVolumeClaim: { claimName: 'odc-disk-theirs' } }];
    const res = await authed(api().post('/api/v1/deployments')).send(spec).expect(422);
    expect(res.body.code).toBe('POLICY_VIOLATION');
    expect(res.body.details.violations).toEqual([
      {
        path: 'deployment.spec.template.spec.volumes[0].persistentVolumeClaim.claimName',
        rule: expect.stringContaining('metadata.disk_claim'),
      },
    ]);
    expect(await services()).not.toContain('res-thief');
  });

  it('refuses a spec object carrying the persistent-disk label (it would survive DELETE /deployments)', async () => {
    const spec = reservationSpec('res-sticky');
    spec.deployment!.metadata.labels = { 'odc.dev/persistent-disk': 'res-sticky' };
    const res = await authed(api().post('/api/v1/deployments')).send(spec).expect(422);
    expect(res.body.details.violations).toEqual([
      {
        path: 'deployment.metadata.labels.odc.dev/persistent-disk',
        rule: expect.stringContaining('odc.dev/persistent-disk'),
      },
    ]);
  });

  it('refuses an ephemeral volume and GPUs in a sidecar beyond the cap', async () => {
    const spec = reservationSpec('res-sly');
    podSpecOf(spec).volumes = [
      { name: 'big', ephemeral: { volumeClaimTemplate: { spec: { volumeName: 'pv-of-someone-else' } } } },
    ];
    podSpecOf(spec).initContainers = [
      {
        name: 'side',
        image: 'x',
        restartPolicy: 'Always',
        resources: { limits: { 'nvidia.com/gpu.shared': '7' } },
      },
    ];
    const res = await authed(api().post('/api/v1/deployments')).send(spec).expect(422);
    expect(res.body.details.violations.map((v: { path: string }) => v.path)).toEqual([
      'deployment.spec.template.spec.volumes[0].ephemeral',
      'deployment.spec.template.spec.containers[0].resources',
    ]);
  });
});

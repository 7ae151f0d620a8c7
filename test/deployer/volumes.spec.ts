import request from 'supertest';
import { eventually } from '../support/eventually';
import { h100Pool } from '../support/simulator';
import { staticVolumeName } from '../../src/deployer/volumes.service';
import { NAMESPACE, reservationSpec, startDeployer, type DeployerUnderTest } from './fixtures';

describe('deployer volumes and snapshots against a simulated cluster', () => {
  let deployer: DeployerUnderTest;
  let k: DeployerUnderTest['k'];
  const api = () => deployer.api();
  const authed = (req: request.Test) => deployer.authed(req);
  const claimNames = async () =>
    (await k.core.listNamespacedPersistentVolumeClaim({ namespace: NAMESPACE })).items.map(
      (c) => c.metadata!.name,
    );

  beforeAll(async () => {
    deployer = await startDeployer({
      cluster: { nodePools: [h100Pool(1)] },
      env: { ODC_DEPLOYER_MAX_VOLUME_SIZE: '2Ti', ODC_DEPLOYER_NAMESPACES: `${NAMESPACE},not-created-yet` },
    });
    k = deployer.k;
  });

  afterAll(() => deployer.close());

  it('creates a claim (201), a repeat is 200, it binds, and it is listed with its labels', async () => {
    const body = { name: 'alice-work', size: '100Gi', labels: { 'odc.dev/disk-owner': 'alice' } };
    const created = await authed(api().post('/api/v1/volumes')).send(body).expect(201);
    expect(created.body).toMatchObject({ name: 'alice-work', namespace: NAMESPACE, requested_size: '100Gi' });
    await authed(api().post('/api/v1/volumes')).send(body).expect(200);
    expect(await claimNames()).toEqual(['alice-work']);

    const bound = await eventually(
      async () => (await authed(api().get('/api/v1/volumes/alice-work')).expect(200)).body,
      (volume) => volume.phase === 'Bound',
    );
    expect(bound).toMatchObject({ capacity: '100Gi', storage_class: 'standard', used_by: [] });
    expect(bound.labels).toMatchObject({
      'odc.dev/disk-owner': 'alice',
      'odc.dev/persistent-disk': 'alice-work',
      'app.kubernetes.io/managed-by': 'odc-deployer',
    });
    const listed = await authed(api().get('/api/v1/volumes')).expect(200);
    expect(listed.body.map((v: { name: string }) => v.name)).toEqual(['alice-work']);
  });

  it('snapshots a claim (ready with its restore size) and restores it into a new claim', async () => {
    const snap = { name: 'alice-work-s1', volume: 'alice-work' };
    await authed(api().post('/api/v1/snapshots')).send(snap).expect(201);
    await authed(api().post('/api/v1/snapshots')).send(snap).expect(200);
    const ready = await eventually(
      async () => (await authed(api().get('/api/v1/snapshots/alice-work-s1')).expect(200)).body,
      (snapshot) => snapshot.ready_to_use === true,
    );
    expect(ready).toMatchObject({ volume: 'alice-work', restore_size: '100Gi' });
    const ofVolume = await authed(api().get('/api/v1/snapshots').query({ volume: 'alice-work' })).expect(200);
    expect(ofVolume.body.map((s: { name: string }) => s.name)).toEqual(['alice-work-s1']);
    expect(
      (await authed(api().get('/api/v1/snapshots').query({ volume: 'other' })).expect(200)).body,
    ).toEqual([]);

    await authed(api().post('/api/v1/volumes'))
      .send({ name: 'alice-work-restored', size: '50Gi', from_snapshot: 'alice-work-s1' })
      .expect(201);
    const restored = await eventually(
      async () => (await authed(api().get('/api/v1/volumes/alice-work-restored')).expect(200)).body,
      (volume) => volume.phase === 'Bound',
    );
    // A claim restored from a snapshot is at least the snapshot's size.
    expect(restored).toMatchObject({ from_snapshot: 'alice-work-s1', capacity: String(100 * 2 ** 30) });
  });

  it('refuses a restore from a snapshot that does not exist (404), and creates nothing', async () => {
    const res = await authed(api().post('/api/v1/volumes'))
      .send({ name: 'from-nowhere', size: '10Gi', from_snapshot: 'nope' })
      .expect(404);
    expect(res.body.code).toBe('not_found');
    expect(await claimNames()).not.toContain('from-nowhere');
  });

  it('binds an existing volume through a static PV it creates (Retain, CSI handle, zone)', async () => {
    await authed(api().post('/api/v1/volumes'))
      .send({
        name: 'bob-adopted',
        size: '500Gi',
        storage_class: 'gp3',
        static_volume: {
          driver: 'ebs.csi.aws.com',
          volume_handle: 'vol-0abc',
          fs_type: 'xfs',
          zone: 'us-east-1a',
        },
      })
      .expect(201);
    const pv = await k.core.readPersistentVolume({ name: staticVolumeName(NAMESPACE, 'bob-adopted') });
    expect(pv.spec).toMatchObject({
      persistentVolumeReclaimPolicy: 'Retain',
      csi: { driver: 'ebs.csi.aws.com', volumeHandle: 'vol-0abc', fsType: 'xfs' },
      claimRef: { name: 'bob-adopted', namespace: NAMESPACE },
    });
    expect(JSON.stringify(pv.spec!.nodeAffinity)).toContain('us-east-1a');
    const bound = await eventually(
      async () => (await authed(api().get('/api/v1/volumes/bob-adopted')).expect(200)).body,
      (volume) => volume.phase === 'Bound',
    );
    expect(bound).toMatchObject({
      volume_name: staticVolumeName(NAMESPACE, 'bob-adopted'),
      capacity: '500Gi',
    });

    await authed(api().delete('/api/v1/volumes/bob-adopted')).expect(204);
    await eventually(
      async () => (await k.core.listPersistentVolume()).items.map((v) => v.metadata!.name),
      (names) => !names.includes(staticVolumeName(NAMESPACE, 'bob-adopted')),
    );
  });

  it('names static volumes so that no two namespace/name pairs meet, and never takes over a volume of that name', async () => {
    expect(staticVolumeName('gpu-dev', 'x-data')).not.toBe(staticVolumeName('gpu-dev-x', 'data'));
    await k.core.createPersistentVolume({
      body: {
        metadata: { name: staticVolumeName(NAMESPACE, 'squatted') },
        spec: {
          capacity: { storage: '1Gi' },
          accessModes: ['ReadWriteOnce'],
          csi: { driver: 'ebs.csi.aws.com', volumeHandle: 'vol-theirs' },
        },
      },
    });
    const res = await authed(api().post('/api/v1/volumes'))
      .send({
        name: 'squatted',
        size: '1Gi',
        static_volume: { driver: 'ebs.csi.aws.com', volume_handle: 'vol-mine' },
      })
      .expect(409);
    expect(res.body.code).toBe('conflict');
    expect(await claimNames()).not.toContain('squatted');
    const pv = await k.core.readPersistentVolume({ name: staticVolumeName(NAMESPACE, 'squatted') });
    expect(pv.spec!.csi!.volumeHandle).toBe('vol-theirs');
  });

  it('shows and deletes persistent disks only, not a deployment’s own claims', async () => {
    await authed(api().post('/api/v1/deployments')).send(reservationSpec('res-scratch')).expect(201);
    await authed(api().get('/api/v1/volumes/res-scratch-scratch')).expect(404);
    await authed(api().delete('/api/v1/volumes/res-scratch-scratch')).expect(204);
    await authed(api().post('/api/v1/snapshots'))
      .send({ name: 's-scratch', volume: 'res-scratch-scratch' })
      .expect(404);
    expect(await claimNames()).toContain('res-scratch-scratch');
    await authed(api().delete('/api/v1/deployments/res-scratch')).expect(204);
  });

  it.each([
    [
      'a CSI driver that is not allowed',
      { name: 'x1', size: '1Gi', static_volume: { driver: 'nfs.csi.k8s.io', volume_handle: 'h' } },
      'static_volume.spec.csi.driver',
    ],
    ['a volume over the maximum size', { name: 'x2', size: '3Ti' }, 'volume.spec.resources.requests.storage'],
    [
      'a namespace the deployer does not manage',
      { name: 'x3', size: '1Gi', namespace: 'kube-system' },
      'namespace',
    ],
  ])('refuses %s with 422 POLICY_VIOLATION and creates nothing', async (_rule, body, path) => {
    const res = await authed(api().post('/api/v1/volumes')).send(body).expect(422);
    expect(res.body.code).toBe('POLICY_VIOLATION');
    expect(res.body.details.violations.map((v: { path: string }) => v.path)).toEqual([path]);
    expect(await claimNames()).not.toContain(body.name);
  });

  it('reports what Kubernetes refuses as 422 kube_rejected (an allowed namespace that does not exist)', async () => {
    const res = await authed(api().post('/api/v1/volumes'))
      .send({ name: 'nowhere', size: '1Gi', namespace: 'not-created-yet' })
      .expect(422);
    expect(res.body).toMatchObject({
      code: 'kube_rejected',
      message: expect.stringContaining('not-created-yet'),
    });
  });

  it('answers malformed requests with 400 naming the fields', async () => {
    const res = await authed(api().post('/api/v1/volumes'))
      .send({ name: 'Bad_Name', size: 'lots', access_mode: 'Sometimes', labels: { ok: 'no spaces allowed' } })
      .expect(400);
    expect(res.body.code).toBe('validation_failed');
    expect(res.body.fields.map((f: { field: string }) => f.field).sort()).toEqual([
      'access_mode',
      'labels',
      'name',
      'size',
    ]);
    await authed(api().post('/api/v1/snapshots')).send({ name: 's' }).expect(400);
  });

  it('never takes over a claim it does not manage (409), nor shows one (404)', async () => {
    await k.core.createNamespacedPersistentVolumeClaim({
      namespace: NAMESPACE,
      body: {
        metadata: { name: 'someone-elses' },
        spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
      },
    });
    const res = await authed(api().post('/api/v1/volumes'))
      .send({ name: 'someone-elses', size: '2Gi' })
      .expect(409);
    expect(res.body.code).toBe('conflict');
    await authed(api().get('/api/v1/volumes/someone-elses')).expect(404);
    await authed(api().delete('/api/v1/volumes/someone-elses')).expect(204);
    await k.core.readNamespacedPersistentVolumeClaim({ namespace: NAMESPACE, name: 'someone-elses' });
  });

  it('refuses to delete a volume a pod mounts (409); once the deployment is gone it deletes (204, twice)', async () => {
    const spec = reservationSpec('res-disk');
    const template = (spec.deployment!.spec as { template: { spec: Record<string, unknown> } }).template;
    template.spec.volumes = [{ name: 'home', persistentVolumeClaim: { claimName: 'alice-work' } }];
    await authed(api().post('/api/v1/deployments')).send(spec).expect(201);
    const used = await eventually(
      async () => (await authed(api().get('/api/v1/volumes/alice-work')).expect(200)).body,
      (volume) => volume.used_by.length === 1,
    );
    expect(used.used_by[0]).toMatch(/^res-disk-/);
    const refused = await authed(api().delete('/api/v1/volumes/alice-work')).expect(409);
    expect(refused.body.details.used_by).toEqual(used.used_by);

    await authed(api().delete('/api/v1/deployments/res-disk')).expect(204);
    expect(await claimNames()).toContain('alice-work'); // the disk outlives the deployment
    await eventually(
      async () => (await authed(api().get('/api/v1/volumes/alice-work')).expect(200)).body,
      (volume) => volume.used_by.length === 0,
    );
    await authed(api().delete('/api/v1/volumes/alice-work')).expect(204);
    await authed(api().delete('/api/v1/volumes/alice-work')).expect(204);
    await authed(api().get('/api/v1/volumes/alice-work')).expect(404);
  });

  it('deletes a snapshot (204, twice) and then no longer finds it', async () => {
    await authed(api().delete('/api/v1/snapshots/alice-work-s1')).expect(204);
    await eventually(
      async () => (await authed(api().get('/api/v1/snapshots/alice-work-s1'))).status,
      (status) => status === 404,
    );
    await authed(api().delete('/api/v1/snapshots/alice-work-s1')).expect(204);
  });
});

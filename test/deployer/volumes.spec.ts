import request from 'supertest';
import { eventually } from '../support/eventually';
import { describeSimulatorOnly, h100Pool } from '../support/simulator';
import { importedContentName, staticVolumeName } from '../../src/deployer/volumes/volume-manifests';
import { NAMESPACE, reservationSpec, startDeployer, type DeployerUnderTest } from './fixtures';

describe('deployer volumes and snapshots against a cluster', () => {
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
    expect(created.body).toMatchObject({
      name: 'alice-work',
      namespace: NAMESPACE,
      requested_size: '100Gi',
    });
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
    // A claim restored from a snapshot asks for at least the snapshot's size: the external-provisioner
    // refuses a smaller one (the claim would stay Pending).
    expect(restored).toMatchObject({
      from_snapshot: 'alice-work-s1',
      requested_size: '100Gi',
      capacity: '100Gi',
    });
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
    expect(await claimNames()).toContain('res-scratch-scratch');
    await authed(api().delete('/api/v1/deployments/res-scratch')).expect(204);
  });

  it('snapshots persistent disks only, not a deployment’s own claims', async () => {
    await authed(api().post('/api/v1/deployments')).send(reservationSpec('res-scratch-2')).expect(201);
    await authed(api().post('/api/v1/snapshots'))
      .send({ name: 's-scratch', volume: 'res-scratch-2-scratch' })
      .expect(404);
    expect(await claimNames()).toContain('res-scratch-2-scratch');
    await authed(api().delete('/api/v1/deployments/res-scratch-2')).expect(204);
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
    // A spec's pods mount only its own claims and the disk its metadata names.
    await authed(api().post('/api/v1/deployments')).send(spec).expect(422);
    spec.metadata.disk_claim = 'alice-work';
    await authed(api().post('/api/v1/deployments')).send(spec).expect(201);
    // A file transfer reaches the disk its pod mounts.
    await eventually(
      async () => (await authed(api().get('/api/v1/deployments/res-disk/status'))).body,
      (status) => status.pods?.length > 0,
    );
    await authed(api().post('/api/v1/deployments/res-disk/file-transfers/upload'))
      .send({ image: 'amazon/aws-cli:2.22.0' })
      .expect(201);
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
    // A real claim goes once the protection controller has seen that no pod uses it.
    await eventually(
      async () => (await authed(api().get('/api/v1/volumes/alice-work'))).status,
      (status) => status === 404,
    );
  });

  it('deletes a snapshot (204, twice) and then no longer finds it', async () => {
    await authed(api().delete('/api/v1/snapshots/alice-work-s1')).expect(204);
    await eventually(
      async () => (await authed(api().get('/api/v1/snapshots/alice-work-s1'))).status,
      (status) => status === 404,
    );
    await authed(api().delete('/api/v1/snapshots/alice-work-s1')).expect(204);
  });

  /** Label changes (PATCH /volumes, /snapshots) and the refusals of a snapshot request. */
  describe('labels and refusals of a disk and its snapshot', () => {
    const DRIVER = 'ebs.csi.aws.com'; // the policy allows it
    let handle: string;
    const importInto = (name: string, source: Record<string, string>) =>
      authed(api().post('/api/v1/snapshots')).send({ name, source });
    const contentNames = async () =>
      (await k.objects.list('snapshot.storage.k8s.io/v1', 'VolumeSnapshotContent')).items.map(
        (c) => c.metadata!.name!,
      );

    beforeAll(async () => {
      await authed(api().post('/api/v1/volumes')).send({ name: 'data', size: '20Gi' }).expect(201);
      // Bound first: the real snapshot controller retries a snapshot of an unbound claim with backoff.
      await eventually(
        async () => (await authed(api().get('/api/v1/volumes/data')).expect(200)).body,
        (volume) => volume.phase === 'Bound',
      );
      await authed(api().post('/api/v1/snapshots')).send({ name: 'data-s1', volume: 'data' }).expect(201);
      const snapshot = await eventually(
        async () => (await authed(api().get('/api/v1/snapshots/data-s1')).expect(200)).body,
        (s) => s.ready_to_use === true && typeof s.snapshot_handle === 'string',
      );
      handle = snapshot.snapshot_handle;
    });

    it('refuses an import of a CSI driver the policy does not allow with 422, and creates nothing', async () => {
      const res = await importInto('nfs-import', {
        snapshot_handle: handle,
        driver: 'nfs.csi.k8s.io',
      }).expect(422);
      expect(res.body.code).toBe('POLICY_VIOLATION');
      expect(res.body.details.violations).toEqual([
        { path: 'source.spec.driver', rule: 'CSI driver nfs.csi.k8s.io is not allowed' },
      ]);
      expect(await contentNames()).not.toContain(importedContentName(NAMESPACE, 'nfs-import'));
      await authed(api().get('/api/v1/snapshots/nfs-import')).expect(404);
    });

    it.each([
      [
        'both a volume and a source',
        { volume: 'data', source: { snapshot_handle: 'snap-1', driver: DRIVER } },
        ['source'],
      ],
      ['neither a volume nor a source', {}, ['source']],
      [
        'a source without a handle',
        { source: { snapshot_handle: '', driver: DRIVER } },
        ['source.snapshot_handle'],
      ],
    ])('answers a snapshot request with %s with 400 naming the field', async (_case, body, fields) => {
      const res = await authed(api().post('/api/v1/snapshots'))
        .send({ name: 'bad', ...body })
        .expect(400);
      expect(res.body.code).toBe('validation_failed');
      expect(res.body.fields.map((f: { field: string }) => f.field)).toEqual(fields);
      expect(res.body.fields[0].problems.join()).toMatch(
        fields[0] === 'source' ? /exactly one of volume .* and source/ : /empty/,
      );
    });

    it('merges labels onto a disk (PATCH /volumes), which a repeated POST keeps', async () => {
      const patched = await authed(api().patch('/api/v1/volumes/data'))
        .send({ labels: { 'odc.dev/quarantined': 'true', 'odc.dev/persistent-disk': 'data' } })
        .expect(200);
      expect(patched.body).toMatchObject({ name: 'data', phase: 'Bound' });
      expect(patched.body.labels).toEqual({
        'odc.dev/quarantined': 'true',
        'odc.dev/persistent-disk': 'data',
        'app.kubernetes.io/managed-by': 'odc-deployer',
      });
      await authed(api().post('/api/v1/volumes')).send({ name: 'data', size: '20Gi' }).expect(200);
      const claim = await k.core.readNamespacedPersistentVolumeClaim({
        namespace: NAMESPACE,
        name: 'data',
      });
      expect(claim.metadata!.labels).toMatchObject({ 'odc.dev/quarantined': 'true' });
      expect(claim.spec!.resources!.requests!.storage).toBe('20Gi');
    });

    it('merges labels onto a snapshot (PATCH /snapshots)', async () => {
      const patched = await authed(api().patch('/api/v1/snapshots/data-s1'))
        .send({ labels: { 'odc.dev/quarantined': 'true' } })
        .expect(200);
      expect(patched.body).toMatchObject({ name: 'data-s1', snapshot_handle: handle, ready_to_use: true });
      expect(patched.body.labels).toMatchObject({ 'odc.dev/quarantined': 'true' });
      const listed = (await authed(api().get('/api/v1/snapshots')).expect(200)).body;
      const dataS1 = listed.find((snapshot: { name: string }) => snapshot.name === 'data-s1');
      expect(dataS1.labels).toMatchObject({ 'odc.dev/quarantined': 'true' });
    });

    it.each([
      ['volumes/data', 'app.kubernetes.io/managed-by', 'someone-else'],
      ['volumes/data', 'odc.dev/persistent-disk', 'other'],
      ['volumes/data', 'odc.dev/external-id', 'res-1'],
      ['snapshots/data-s1', 'app.kubernetes.io/managed-by', 'someone-else'],
      ['snapshots/data-s1', 'odc.dev/external-id', 'res-1'],
    ])(
      'refuses to change the deployer’s own label on %s: %s (422), and changes nothing',
      async (path, key, value) => {
        const res = await authed(api().patch(`/api/v1/${path}`))
          .send({ labels: { 'odc.dev/quarantined': 'false', [key]: value } })
          .expect(422);
        expect(res.body.code).toBe('POLICY_VIOLATION');
        expect(res.body.details.violations.map((v: { path: string }) => v.path)).toEqual([`labels.${key}`]);
        const after = (await authed(api().get(`/api/v1/${path}`)).expect(200)).body;
        expect(after.labels[key]).not.toBe(value);
        expect(after.labels['odc.dev/quarantined']).toBe('true');
      },
    );

    it('answers 404 for a label change of what it does not manage, 400 for labels that are not labels', async () => {
      await k.core.createNamespacedPersistentVolumeClaim({
        namespace: NAMESPACE,
        body: {
          metadata: { name: 'not-ours' },
          spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
        },
      });
      const labels = { 'odc.dev/quarantined': 'true' };
      for (const path of ['volumes/not-ours', 'volumes/missing', 'snapshots/missing']) {
        const res = await authed(api().patch(`/api/v1/${path}`))
          .send({ labels })
          .expect(404);
        expect(res.body.code).toBe('not_found');
      }
      const claim = await k.core.readNamespacedPersistentVolumeClaim({
        namespace: NAMESPACE,
        name: 'not-ours',
      });
      expect(claim.metadata!.labels ?? {}).not.toHaveProperty('odc.dev/quarantined');
      const bad = await authed(api().patch('/api/v1/volumes/data'))
        .send({ labels: { 'odc.dev/quarantined': 'not a label value' } })
        .expect(400);
      expect(bad.body.fields.map((f: { field: string }) => f.field)).toEqual(['labels']);
    });
  });
});

/**
 * Two deployers on two clusters that share a storage backend (a cloud region): a snapshot taken in
 * one is imported by its handle into the other and restored there; a third cluster on another
 * backend cannot import it.
 */
describeSimulatorOnly(
  'storageBackend',
  'deployer snapshots across clusters that share a storage backend',
  () => {
    const DRIVER = 'ebs.csi.aws.com'; // the storage classes provision with it, and the policy allows it
    const onBackend = (storageBackend: string) =>
      startDeployer({
        cluster: {
          nodePools: [h100Pool(1)],
          storageBackend,
          storageClasses: [{ name: 'gp3', default: true, provisioner: DRIVER }],
        },
      });
    let a: DeployerUnderTest;
    let b: DeployerUnderTest;
    let elsewhere: DeployerUnderTest;
    let handle: string;

    const snapshotIn = (deployer: DeployerUnderTest, name: string) =>
      eventually(
        async () => (await deployer.authed(deployer.api().get(`/api/v1/snapshots/${name}`)).expect(200)).body,
        (snapshot) => snapshot.ready_to_use === true || snapshot.error !== undefined,
      );
    const importInto = (deployer: DeployerUnderTest, name: string, source: Record<string, string>) =>
      deployer.authed(deployer.api().post('/api/v1/snapshots')).send({ name, source });
    const contentNames = async (deployer: DeployerUnderTest) =>
      (await deployer.k.objects.list('snapshot.storage.k8s.io/v1', 'VolumeSnapshotContent')).items.map(
        (c) => c.metadata!.name!,
      );

    beforeAll(async () => {
      [a, b, elsewhere] = await Promise.all([
        onBackend('region-1'),
        onBackend('region-1'),
        onBackend('region-2'),
      ]);
      await a.authed(a.api().post('/api/v1/volumes')).send({ name: 'data', size: '20Gi' }).expect(201);
      await a.authed(a.api().post('/api/v1/snapshots')).send({ name: 'data-s1', volume: 'data' }).expect(201);
    });

    afterAll(() => Promise.all([a, b, elsewhere].map((deployer) => deployer?.close())));

    it('tells the handle and driver of a snapshot it took, with which another cluster imports it', async () => {
      const taken = await snapshotIn(a, 'data-s1');
      expect(taken).toMatchObject({
        volume: 'data',
        ready_to_use: true,
        restore_size: '20Gi',
        driver: DRIVER,
      });
      expect(taken.snapshot_handle).toMatch(/^snap-/);
      expect(taken.imported).toBeUndefined();
      handle = taken.snapshot_handle;
      const listed = (await a.authed(a.api().get('/api/v1/snapshots')).expect(200)).body;
      expect(listed).toEqual([
        expect.objectContaining({ name: 'data-s1', snapshot_handle: handle, driver: DRIVER }),
      ]);
    });

    it('imports it into a cluster on the same backend (201, then 200) and restores a disk from it', async () => {
      await importInto(b, 'data-s1', { snapshot_handle: handle, driver: DRIVER }).expect(201);
      await importInto(b, 'data-s1', { snapshot_handle: handle, driver: DRIVER }).expect(200);
      const imported = await snapshotIn(b, 'data-s1');
      expect(imported).toMatchObject({
        volume: '',
        imported: true,
        ready_to_use: true,
        restore_size: '20Gi',
        snapshot_handle: handle,
        driver: DRIVER,
      });
      expect(imported.error).toBeUndefined();
      const content = await b.k.objects.read({
        apiVersion: 'snapshot.storage.k8s.io/v1',
        kind: 'VolumeSnapshotContent',
        metadata: { name: importedContentName(NAMESPACE, 'data-s1') },
      });
      expect(content.metadata!.labels).toMatchObject({ 'app.kubernetes.io/managed-by': 'odc-deployer' });
      expect((content as { spec?: unknown }).spec).toMatchObject({
        deletionPolicy: 'Retain',
        driver: DRIVER,
        source: { snapshotHandle: handle },
        volumeSnapshotRef: { name: 'data-s1', namespace: NAMESPACE },
      });
      const listed = (await b.authed(b.api().get('/api/v1/snapshots')).expect(200)).body;
      expect(listed).toEqual([
        expect.objectContaining({ name: 'data-s1', imported: true, snapshot_handle: handle }),
      ]);

      await b
        .authed(b.api().post('/api/v1/volumes'))
        .send({ name: 'data-copy', size: '10Gi', from_snapshot: 'data-s1' })
        .expect(201);
      const restored = await eventually(
        async () => (await b.authed(b.api().get('/api/v1/volumes/data-copy')).expect(200)).body,
        (volume) => volume.phase === 'Bound',
      );
      // Asked for 10Gi: at least the snapshot's size, as above.
      expect(restored).toMatchObject({ from_snapshot: 'data-s1', requested_size: '20Gi', capacity: '20Gi' });
    });

    it('refuses to import another handle under a name already imported (409)', async () => {
      const res = await importInto(b, 'data-s1', { snapshot_handle: 'snap-other', driver: DRIVER }).expect(
        409,
      );
      expect(res.body.code).toBe('conflict');
      const refused = await b
        .authed(b.api().post('/api/v1/snapshots'))
        .send({ name: 'data-s1', volume: 'data-copy' });
      expect(refused.status).toBe(409); // a snapshot's source never changes
    });

    it('deletes an import with its content; the snapshot it came from and the backend’s copy stay', async () => {
      await b.authed(b.api().delete('/api/v1/snapshots/data-s1')).expect(204);
      await eventually(
        () => contentNames(b),
        (names) => !names.includes(importedContentName(NAMESPACE, 'data-s1')),
      );
      await b.authed(b.api().get('/api/v1/snapshots/data-s1')).expect(404);
      await b.authed(b.api().delete('/api/v1/snapshots/data-s1')).expect(204);
      expect(await snapshotIn(a, 'data-s1')).toMatchObject({ ready_to_use: true, snapshot_handle: handle });
      expect(b.cluster.storageBackend.has(handle)).toBe(true);
      // …so it can be imported again.
      await importInto(b, 'data-s1-again', { snapshot_handle: handle, driver: DRIVER }).expect(201);
      expect((await snapshotIn(b, 'data-s1-again')).ready_to_use).toBe(true);
    });

    it('reports why an import fails on a cluster with another storage backend', async () => {
      await importInto(elsewhere, 'data-s1', { snapshot_handle: handle, driver: DRIVER }).expect(201);
      expect(await snapshotIn(elsewhere, 'data-s1')).toMatchObject({
        imported: true,
        ready_to_use: false,
        error: `snapshot handle ${handle} not found in the storage backend`,
      });
    });
  },
);

import {
  AttachVolumeCommand,
  CreateVolumeCommand,
  DescribeSnapshotsCommand,
  DeleteVolumeCommand,
  DescribeVolumesCommand,
  DetachVolumeCommand,
  EC2Client,
  RunInstancesCommand,
  type Volume,
} from '@aws-sdk/client-ec2';
import { DataSource } from 'typeorm';
import { ReconcilerTask, SETTLE_MS } from '../../src/storage/lifecycle/reconciler.task';
import { EBS_VOLUME_LABEL } from '../../src/storage/providers/aws-ebs-mapping';
import { AwsEbsProvider } from '../../src/storage/providers/aws-ebs.provider';
import {
  STORAGE_PROVIDER,
  STORAGE_TAGS,
  type ProviderVolume,
  type StorageProvider,
} from '../../src/storage/providers/storage-provider';
import type { StorageProviderError } from '../../src/storage/providers/storage-provider.errors';
import { NAMESPACE, registerDeployer, startDeployer, type DeployerUnderTest } from '../deployer/fixtures';
import { FAST_CONTROL_PLANE_ENV, startTestApp, type TestApp } from '../support/app';
import { eventually } from '../support/eventually';
import { FAST_TIMINGS, h100Pool } from '../support/simulator';
import { keyFor } from '../support/users';
import { createUserWithKey } from './support/aws-query';
import { MOTO_CREDENTIALS, startMoto, type Moto } from './support/moto';

const REGION = 'us-east-2';
const ZONE_A = 'us-east-2a';
const ZONE_B = 'us-east-2b';
const H100 = 'NVIDIA-H100-80GB-HBM3';
/** A whole node: two of them cannot share one. */
const EIGHT_H100 = { gpu_type: 'h100', gpu_count: 8, hours: 1 };

/** The rejection of a call, which must be a StorageProviderError. */
async function failureOf(call: Promise<unknown>): Promise<StorageProviderError> {
  const error = await call.then(
    () => undefined,
    (rejection: unknown) => rejection,
  );
  expect(error).toMatchObject({ name: 'StorageProviderError' });
  return error as StorageProviderError;
}

function deployerNeverAsked(): never {
  throw new Error('the deployer was asked');
}

const tagsOf = (volume: Volume) => Object.fromEntries((volume.Tags ?? []).map((t) => [t.Key, t.Value]));

/**
 * The aws-ebs provider against moto's EC2, as the app builds it (ODC_STORAGE_PROVIDER=aws-ebs: an
 * EC2Client of ODC_AWS_REGION, which reaches moto through AWS_ENDPOINT_URL), its claims made by a
 * deployer on a simulated cluster with one 8-GPU node in each of two zones. What moto holds is read
 * back with an EC2 client of the test's own. The tests tell one story, in order: the provider's
 * lifecycle, adoption, the same through the API and the jobs, the reconciler, and refused keys last.
 */
describe('aws-ebs against moto’s EC2', () => {
  let moto: Moto;
  let restoreEnv: () => void;
  let ec2: EC2Client;
  let deployer: DeployerUnderTest;
  let app: TestApp;
  let provider: AwsEbsProvider;
  let clusterId: string;
  let instanceInZoneA: string;

  beforeAll(async () => {
    // No public AMIs (and their 1,300 snapshots of other owners, which moto lists as the account's).
    moto = await startMoto({ env: { MOTO_EC2_LOAD_DEFAULT_AMIS: 'false' } });
    restoreEnv = moto.useForAwsSdk(REGION);
    ec2 = new EC2Client({ region: REGION });
    deployer = await startDeployer({
      cluster: {
        nodePools: [
          h100Pool(1, { name: 'h100-a', zone: ZONE_A }),
          h100Pool(1, { name: 'h100-b', zone: ZONE_B }),
        ],
        timings: FAST_TIMINGS,
      },
    });
    app = await startTestApp({
      roles: 'coordinator,worker,cron',
      env: {
        ...FAST_CONTROL_PLANE_ENV,
        ODC_STORAGE_PROVIDER: 'aws-ebs',
        ODC_AWS_REGION: REGION,
        ODC_STORAGE_INTERVAL_SECONDS: '1',
      },
    });
    const admin = await keyFor(app, 'ops', ['clusters:admin'], { admin: true });
    await registerDeployer(app, admin, deployer, { name: 'east', gpuType: 'h100', product: H100 });
    [{ id: clusterId }] = await app
      .core()
      .get(DataSource)
      .query<[{ id: string }]>(`SELECT id FROM clusters WHERE name = 'east'`);
    const built = app.core().get<StorageProvider>(STORAGE_PROVIDER, { strict: false });
    if (!(built instanceof AwsEbsProvider)) {
      throw new Error(`the app built the ${built.name} storage provider, not aws-ebs`);
    }
    provider = built;
    const { Instances } = await ec2.send(
      new RunInstancesCommand({
        ImageId: 'ami-0123456789abcdef0',
        MinCount: 1,
        MaxCount: 1,
        Placement: { AvailabilityZone: ZONE_A },
      }),
    );
    instanceInZoneA = Instances![0]!.InstanceId!;
  });

  afterAll(async () => {
    ec2?.destroy();
    await app?.close();
    await deployer?.close();
    restoreEnv?.();
    await moto?.stop();
  });

  /** The volume as moto holds it. */
  const inEc2 = async (volumeId: string): Promise<Volume> =>
    (await ec2.send(new DescribeVolumesCommand({ VolumeIds: [volumeId] }))).Volumes![0]!;
  /** A volume made outside ODC, as the platform ODC replaces made them. */
  const seedVolume = async (zone: string, sizeGb: number, name: string): Promise<string> =>
    (
      await ec2.send(
        new CreateVolumeCommand({
          AvailabilityZone: zone,
          Size: sizeGb,
          VolumeType: 'gp3',
          TagSpecifications: [{ ResourceType: 'volume', Tags: [{ Key: 'Name', Value: name }] }],
        }),
      )
    ).VolumeId!;
  const attachToInstance = (volumeId: string) =>
    ec2.send(
      new AttachVolumeCommand({ VolumeId: volumeId, InstanceId: instanceInZoneA, Device: '/dev/sdf' }),
    );
  const detachFromInstance = (volumeId: string) =>
    // moto answers a 500 to a DetachVolume without the instance id (EC2 does not need it).
    ec2.send(new DetachVolumeCommand({ VolumeId: volumeId, InstanceId: instanceInZoneA }));

  describe('the provider’s lifecycle', () => {
    const diskTags = { [STORAGE_TAGS.disk]: 'disk-peer-1', [STORAGE_TAGS.owner]: 'u-peer' };
    let first: ProviderVolume;

    it('creates a volume in the zone asked, of the configured type, tagged, and describes it', async () => {
      first = await provider.createVolume({
        name: 'odc-peer-g1',
        sizeGb: 10,
        clusterId,
        zone: ZONE_A,
        tags: diskTags,
      });
      expect(first).toMatchObject({
        volumeId: expect.stringMatching(/^vol-[0-9a-f]+$/),
        zone: ZONE_A,
        sizeGb: 10,
        state: 'available', // moto's volumes skip `creating`
      });
      expect(await provider.describeVolume(first)).toEqual({
        ...first,
        tags: { Name: 'odc-peer-g1', ...diskTags },
        createdAt: expect.any(Date),
      });
      expect(await inEc2(first.volumeId)).toMatchObject({ VolumeType: 'gp3', Size: 10, Encrypted: false });
    });

    it('tags it, attaches it as a static PV pinned to its zone with a claim bound to it, and detaches it', async () => {
      await provider.tagVolume(first, { team: 'ml-infra' });
      expect(tagsOf(await inEc2(first.volumeId))).toMatchObject({ team: 'ml-infra', ...diskTags });

      const target = { clusterId, claimName: 'odc-peer-claim-1', zone: ZONE_A };
      expect(await provider.attachVolume(first, target)).toEqual({ claimName: 'odc-peer-claim-1' });
      const claim = await deployer.k.core.readNamespacedPersistentVolumeClaim({
        name: 'odc-peer-claim-1',
        namespace: NAMESPACE,
      });
      expect(claim.metadata!.labels).toMatchObject({
        [EBS_VOLUME_LABEL]: first.volumeId,
        [STORAGE_TAGS.disk]: 'disk-peer-1',
      });
      const pv = await deployer.k.core.readPersistentVolume({ name: claim.spec!.volumeName! });
      expect(pv.spec).toMatchObject({
        csi: { driver: 'ebs.csi.aws.com', volumeHandle: first.volumeId, fsType: 'ext4' },
        persistentVolumeReclaimPolicy: 'Retain',
        capacity: { storage: '10Gi' },
      });
      expect(pv.spec!.nodeAffinity!.required!.nodeSelectorTerms[0]!.matchExpressions).toEqual([
        { key: 'topology.kubernetes.io/zone', operator: 'In', values: [ZONE_A] },
      ]);

      const elsewhere = await failureOf(provider.attachVolume(first, { ...target, zone: ZONE_B }));
      expect(elsewhere).toMatchObject({ kind: 'invalid' });
      expect(elsewhere.message).toContain(`lives in zone ${ZONE_A}, not ${ZONE_B}`);

      await provider.detachVolume(first, target);
      await eventually(
        async () =>
          (await deployer.k.core.listNamespacedPersistentVolumeClaim({ namespace: NAMESPACE })).items,
        (claims) => claims.every((c) => c.metadata!.name !== 'odc-peer-claim-1'),
      );
      expect(await provider.describeVolume(first)).toMatchObject({ state: 'available' });
    });

    it('snapshots it once per name, waits for it, and restores it into another zone', async () => {
      const input = { name: 'odc-peer-snap-1', volume: first, description: 'alice/work', tags: diskTags };
      const snapshot = await provider.createSnapshot(input);
      expect(snapshot).toMatchObject({
        snapshotId: expect.stringMatching(/^snap-/),
        volumeId: first.volumeId,
        sizeGb: 10,
      });
      // No token for CreateSnapshot: the name tag finds the first one.
      expect((await provider.createSnapshot(input)).snapshotId).toBe(snapshot.snapshotId);
      const { Snapshots } = await ec2.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'] }));
      expect(Snapshots!.map((s) => s.SnapshotId)).toEqual([snapshot.snapshotId]);
      expect(Snapshots![0]).toMatchObject({ Description: 'alice/work' });

      const ready = await provider.waitForSnapshot(snapshot, { timeoutMs: 10_000, intervalMs: 50 });
      expect(ready).toMatchObject({
        state: 'ready',
        tags: { [STORAGE_TAGS.snapshotName]: 'odc-peer-snap-1', ...diskTags },
      });

      const restored = await provider.createVolume({
        name: 'odc-peer-g2',
        sizeGb: 10,
        clusterId,
        zone: ZONE_B,
        fromSnapshot: ready,
        tags: diskTags,
      });
      expect(restored).toMatchObject({ zone: ZONE_B, sizeGb: 10 });
      expect(await inEc2(restored.volumeId)).toMatchObject({
        SnapshotId: snapshot.snapshotId,
        AvailabilityZone: ZONE_B,
      });
      await provider.attachVolume(restored, { clusterId, claimName: 'odc-peer-claim-2', zone: ZONE_B });

      const listed = await provider.listVolumes({ tags: { [STORAGE_TAGS.disk]: 'disk-peer-1' } });
      expect(listed.map((v) => [v.volumeId, v.zone]).sort()).toEqual(
        [
          [first.volumeId, ZONE_A],
          [restored.volumeId, ZONE_B],
        ].sort(),
      );
      expect(await provider.listVolumes({ tags: { [STORAGE_TAGS.disk]: 'another-disk' } })).toEqual([]);
      expect((await provider.listSnapshots({ tags: diskTags })).map((s) => s.snapshotId)).toEqual([
        snapshot.snapshotId,
      ]);
    });

    it('deletes: a volume attached to an instance is in_use; what is gone is fine, and undescribed', async () => {
      await attachToInstance(first.volumeId);
      expect(await provider.describeVolume(first)).toMatchObject({ state: 'in-use' });
      const busy = await failureOf(provider.deleteVolume(first));
      expect(busy).toMatchObject({ kind: 'in_use', retryable: true, details: { aws_code: 'VolumeInUse' } });
      await detachFromInstance(first.volumeId);

      await provider.deleteVolume(first);
      expect(await provider.describeVolume(first)).toBeUndefined();
      await provider.deleteVolume(first);

      const [snapshot] = await provider.listSnapshots({ tags: diskTags });
      await provider.deleteSnapshot(snapshot!);
      expect(await provider.describeSnapshot(snapshot!)).toBeUndefined();
      await provider.deleteSnapshot(snapshot!);
      expect((await failureOf(provider.waitForSnapshot(snapshot!, { timeoutMs: 1000 }))).kind).toBe(
        'not_found',
      );
    });

    it('EC2’s refusals, as moto sends them, become the kinds the jobs act on', async () => {
      const gone = { volumeId: 'vol-0123456789abcdef0' };
      const missingVolume = await failureOf(provider.attachVolume(gone, { clusterId, claimName: 'x' }));
      expect(missingVolume.kind).toBe('not_found');
      const tagOfNothing = await failureOf(provider.tagVolume(gone, { team: 'ml-infra' }));
      expect(tagOfNothing).toMatchObject({
        kind: 'not_found',
        details: { aws_code: 'InvalidVolume.NotFound' },
      });
      const snapshotOfNothing = await failureOf(
        provider.createSnapshot({ name: 'odc-peer-snap-x', volume: gone, description: '', tags: {} }),
      );
      expect(snapshotOfNothing).toMatchObject({
        kind: 'not_found',
        details: { aws_code: 'InvalidVolume.NotFound' },
      });
      const fromNothing = await failureOf(
        provider.createVolume({
          name: 'odc-peer-gx',
          sizeGb: 10,
          clusterId,
          zone: ZONE_A,
          fromSnapshot: {
            snapshotId: 'snap-0123456789abcdef0',
            volumeId: gone.volumeId,
            state: 'ready',
            tags: {},
          },
          tags: {},
        }),
      );
      expect(fromNothing).toMatchObject({
        kind: 'not_found',
        details: { aws_code: 'InvalidSnapshot.NotFound' },
      });
      expect(fromNothing.message).toContain('CreateVolume odc-peer-gx failed: InvalidSnapshot.NotFound');
    });
  });

  describe('adopting a volume made outside ODC', () => {
    const tags = { [STORAGE_TAGS.disk]: 'disk-adopted', [STORAGE_TAGS.owner]: 'u-peer' };

    it('tags a free volume and answers it with its size and zone; again is the same', async () => {
      const volumeId = await seedVolume(ZONE_B, 250, 'seed-alice');
      const adopted = await provider.adoptVolume(volumeId, tags);
      expect(adopted).toMatchObject({
        volumeId,
        zone: ZONE_B,
        sizeGb: 250,
        state: 'available',
        tags: { Name: 'seed-alice', ...tags },
      });
      expect(tagsOf(await inEc2(volumeId))).toEqual({ Name: 'seed-alice', ...tags });
      expect(await provider.adoptVolume(volumeId, tags)).toMatchObject({
        tags: { Name: 'seed-alice', ...tags },
      });
      const taken = await failureOf(
        provider.adoptVolume(volumeId, { ...tags, [STORAGE_TAGS.disk]: 'other' }),
      );
      expect(taken.kind).toBe('invalid');
      expect(taken.message).toContain('already belongs to disk disk-adopted');
    });

    it('refuses a volume attached to an instance, and one that does not exist, tagging nothing', async () => {
      const volumeId = await seedVolume(ZONE_A, 100, 'seed-busy');
      await attachToInstance(volumeId);
      try {
        const busy = await failureOf(provider.adoptVolume(volumeId, tags));
        expect(busy.kind).toBe('in_use');
        expect(busy.message).toContain(`attached to ${instanceInZoneA}; detach it first`);
        expect(tagsOf(await inEc2(volumeId))).toEqual({ Name: 'seed-busy' });
      } finally {
        await detachFromInstance(volumeId);
      }
      const missing = await failureOf(provider.adoptVolume('vol-0fffffffffffffff0', tags));
      expect(missing.kind).toBe('not_found');
      expect(missing.message).toContain(`not found in ${REGION}`);
    });
  });

  describe('through the API', () => {
    let admin: string;
    let alice: string;
    let bob: string;

    beforeAll(async () => {
      admin = await keyFor(app, 'ops-disks', ['disks:read', 'disks:write'], { admin: true });
      const scopes = ['reservations:read', 'reservations:write', 'disks:read', 'disks:write'] as const;
      alice = await keyFor(app, 'alice', [...scopes]);
      bob = await keyFor(app, 'bob', [...scopes]);
    });

    const api = (key: string) => ({
      get: (path: string) => app.http().get(path).set('authorization', `Bearer ${key}`),
      post: (path: string, body: object = {}) =>
        app.http().post(path).set('authorization', `Bearer ${key}`).send(body),
    });
    const disk = async (key: string, name: string) =>
      (await api(key).get(`/api/v1/disks/${name}`).expect(200)).body as Record<string, unknown>;
    const reservation = async (key: string, id: string) =>
      (await api(key).get(`/api/v1/reservations/${id}`).expect(200)).body as {
        status: string;
        events: { message: string }[];
      };
    const until = (key: string, id: string, status: string) =>
      eventually(
        () => reservation(key, id),
        (r) => r.status === status,
        20_000,
      );
    /** The zone the static PV of an EBS volume pins its pods to. */
    const zoneOfStaticVolume = async (volumeId: string) => {
      const pvs = (await deployer.k.core.listPersistentVolume()).items;
      const pv = pvs.find((item) => item.spec?.csi?.volumeHandle === volumeId);
      return pv?.spec?.nodeAffinity?.required?.nodeSelectorTerms[0]!.matchExpressions?.[0]!.values?.[0];
    };
    const volumesOfDisk = async (diskId: string) =>
      (
        await ec2.send(
          new DescribeVolumesCommand({ Filters: [{ Name: `tag:${STORAGE_TAGS.disk}`, Values: [diskId] }] }),
        )
      ).Volumes!;

    it('an admin adopts a volume made outside ODC for a user: it becomes her disk, tagged in EC2 as that disk', async () => {
      const volumeId = await seedVolume(ZONE_A, 500, 'gpu-dev-alice-old');
      const adopted = await api(admin)
        .post('/api/v1/disks/adopt', { owner: 'alice', name: 'old', volume_id: volumeId })
        .expect(201);
      expect(adopted.body).toMatchObject({
        name: 'old',
        owner: 'alice',
        provider: 'aws-ebs',
        size_gb: 500,
        zone: ZONE_A,
        status: 'free',
      });
      expect(tagsOf(await inEc2(volumeId))).toMatchObject({
        [STORAGE_TAGS.disk]: adopted.body.id,
        Name: 'gpu-dev-alice-old',
      });
      const again = await api(admin)
        .post('/api/v1/disks/adopt', { owner: 'alice', name: 'again', volume_id: volumeId })
        .expect(409);
      expect(again.body.code).toBe('invalid_disk_state');
      const ghost = await api(admin)
        .post('/api/v1/disks/adopt', { owner: 'alice', name: 'ghost', volume_id: 'vol-0bbbbbbbbbbbbbbbb' })
        .expect(422);
      expect(ghost.body.code).toBe('storage_rejected');
    });

    it('a disk’s life on EBS: made in its node’s zone, snapshotted at release, restored in another zone', async () => {
      const inZoneA = { 'topology.kubernetes.io/zone': ZONE_A };
      const made = await api(alice).post('/api/v1/disks', { name: 'work', size_gb: 20 }).expect(201);
      const diskId = made.body.id as string;
      const first = (
        await api(alice)
          .post('/api/v1/reservations', { ...EIGHT_H100, disk: 'work', node_labels: inZoneA })
          .expect(202)
      ).body as { id: string };
      await until(alice, first.id, 'active');
      const [home] = await volumesOfDisk(diskId);
      // `available`: nothing attaches it in EC2 here (on a real node the EBS CSI driver would).
      expect(home).toMatchObject({
        Size: 20,
        State: 'available',
        VolumeType: 'gp3',
        AvailabilityZone: ZONE_A,
      });
      expect(await disk(alice, 'work')).toMatchObject({ status: 'in_use', zone: ZONE_A });
      expect(await zoneOfStaticVolume(home!.VolumeId!)).toBe(ZONE_A);

      await api(alice).post(`/api/v1/reservations/${first.id}/cancel`).expect(200);
      await eventually(
        () => disk(alice, 'work'),
        (d) => d.status === 'free',
        20_000,
      );
      const { Snapshots } = await ec2.send(
        new DescribeSnapshotsCommand({
          OwnerIds: ['self'],
          Filters: [{ Name: `tag:${STORAGE_TAGS.disk}`, Values: [diskId] }],
        }),
      );
      expect(Snapshots).toHaveLength(1);
      expect(Snapshots![0]).toMatchObject({ VolumeId: home!.VolumeId, State: 'completed' });

      // Bob takes the node in the disk's zone: the disk starts in the other zone from its snapshot.
      const blocker = (
        await api(bob)
          .post('/api/v1/reservations', { ...EIGHT_H100, node_labels: inZoneA })
          .expect(202)
      ).body as { id: string };
      await until(bob, blocker.id, 'active');
      const second = (
        await api(alice)
          .post('/api/v1/reservations', { ...EIGHT_H100, disk: 'work' })
          .expect(202)
      ).body as { id: string };
      const moved = await until(alice, second.id, 'active');
      expect(moved.events.map((e) => e.message)).toContainEqual(
        `Disk work restored on east from snapshot ${Snapshots![0]!.SnapshotId}`,
      );
      expect(await disk(alice, 'work')).toMatchObject({ status: 'in_use', zone: ZONE_B });
      // The volume it left is deleted in EC2; the new one is the snapshot's, in the other zone.
      const volumes = await eventually(
        () => volumesOfDisk(diskId),
        (found) => found.length === 1,
        20_000,
      );
      expect(volumes[0]).toMatchObject({
        AvailabilityZone: ZONE_B,
        SnapshotId: Snapshots![0]!.SnapshotId,
        Size: 20,
      });
      expect(await zoneOfStaticVolume(volumes[0]!.VolumeId!)).toBe(ZONE_B);
    });

    it('the reconciler, over what EC2 lists: quarantines what no disk owns, finds a disk whose volume went', async () => {
      const oldDisk = await disk(alice, 'old');
      const [oldVolume] = await volumesOfDisk(oldDisk.id as string);
      await ec2.send(new DeleteVolumeCommand({ VolumeId: oldVolume!.VolumeId! }));
      const [work] = await volumesOfDisk((await disk(alice, 'work')).id as string);
      const unowned = [
        ...(await provider.listVolumes({ tags: { [STORAGE_TAGS.disk]: 'disk-peer-1' } })),
        ...(await provider.listVolumes({ tags: { [STORAGE_TAGS.disk]: 'disk-adopted' } })),
      ].map((volume) => volume.volumeId);
      expect(unowned).toHaveLength(2);

      const report = await app
        .core()
        .get(ReconcilerTask, { strict: false })
        .round(new Date(Date.now() + SETTLE_MS + 60_000));
      expect(report).toMatchObject({
        scopes: 1,
        unreachable: [],
        lostDisks: [oldDisk.id],
        lostSnapshots: [],
      });
      expect(report.quarantined.map((finding) => finding.id).sort()).toEqual([...unowned].sort());
      for (const volumeId of unowned) {
        expect(tagsOf(await inEc2(volumeId))[STORAGE_TAGS.quarantined]).toMatch(/^\d{8}T\d{6}Z$/);
      }
      expect(tagsOf(await inEc2(work!.VolumeId!))).not.toHaveProperty([STORAGE_TAGS.quarantined]);
      expect(await disk(alice, 'old')).toMatchObject({ status: 'lost' });
    });
  });

  // Last: from here on moto checks every request's credentials.
  describe('when EC2 refuses the credentials', () => {
    it('keys EC2 never issued, or a user without EC2 permissions: forbidden, naming no secret', async () => {
      const nobody = await createUserWithKey(moto.url, MOTO_CREDENTIALS, 'odc-without-ec2');
      await moto.requireSignatures();
      const unknownKeys = await failureOf(provider.listVolumes({}));
      const withoutPermission = new AwsEbsProvider(
        new EC2Client({ region: REGION, credentials: nobody }),
        { for: () => deployerNeverAsked() },
        {
          region: REGION,
          volumeType: 'gp3',
          csiDriver: 'ebs.csi.aws.com',
          fsType: 'ext4',
          namespaceFor: () => undefined,
        },
      );
      const denied = await failureOf(
        withoutPermission.createVolume({
          name: 'odc-peer-denied',
          sizeGb: 1,
          clusterId,
          zone: ZONE_A,
          tags: {},
        }),
      );
      // As EC2 for unknown keys; for a missing permission EC2 says UnauthorizedOperation, moto AccessDenied.
      expect(unknownKeys).toMatchObject({
        kind: 'forbidden',
        details: { aws_code: 'AuthFailure', aws_status: 401 },
      });
      expect(denied).toMatchObject({
        kind: 'forbidden',
        details: { aws_code: 'AccessDenied', aws_status: 403 },
      });
      for (const error of [unknownKeys, denied]) {
        expect(JSON.stringify([error.message, error.details])).not.toContain(nobody.secretAccessKey);
        expect(JSON.stringify([error.message, error.details])).not.toContain(
          MOTO_CREDENTIALS.secretAccessKey,
        );
      }
    });
  });
});

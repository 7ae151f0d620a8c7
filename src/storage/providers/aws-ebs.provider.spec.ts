import {
  CreateSnapshotCommand,
  CreateTagsCommand,
  CreateVolumeCommand,
  DeleteSnapshotCommand,
  DeleteVolumeCommand,
  DescribeSnapshotsCommand,
  DescribeVolumesCommand,
  EC2Client,
  EC2ServiceException,
  type Snapshot,
  type Volume,
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { inspect } from 'node:util';
import { DeployerFull, DeployerUnreachable } from '../../clusters/client/deployer-client.errors';
import type { VolumeInfo, VolumeRequest } from '../../deployer/contract';
import { clientTokenFor, EBS_VOLUME_LABEL } from './aws-ebs-mapping';
import {
  AwsEbsProvider,
  DEFAULT_SNAPSHOT_POLL_MS,
  type AwsEbsSettings,
  type VolumeClaimClient,
} from './aws-ebs.provider';
import { STORAGE_TAGS, type ProviderSnapshot } from './storage-provider';
import { StorageProviderError } from './storage-provider.errors';

const CREDENTIALS = {
  accessKeyId: 'AKIAODCTESTKEY123456',
  secretAccessKey: 'odc/Secret+Key/ThatMustNeverLeak0123456789',
};
const REGION = 'us-west-2';
const ZONE = 'us-west-2a';
const CREATED = new Date('2026-03-01T12:00:00Z');
const DEPLOYER = { clusterId: 'c-east', name: 'gpu-east' };

const SETTINGS: AwsEbsSettings = {
  region: REGION,
  volumeType: 'gp3',
  iops: 4000,
  throughputMiBps: 250,
  kmsKeyId: 'arn:aws:kms:us-west-2:111122223333:key/abcd',
  csiDriver: 'ebs.csi.aws.com',
  fsType: 'ext4',
  namespaceFor: (clusterId) => (clusterId === 'c-east' ? 'odc-disks' : undefined),
  extraTags: { team: 'ml-infra', Name: 'overridden-by-odc' },
};

function ec2Error(code: string, status = 400): EC2ServiceException {
  return new EC2ServiceException({
    name: code,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status, requestId: 'req-1' },
    message: `EC2 says ${code}`,
  });
}

function ebsVolume(overrides: Partial<Volume> = {}): Volume {
  return {
    VolumeId: 'vol-0123456789abcdef0',
    AvailabilityZone: ZONE,
    Size: 100,
    State: 'available',
    CreateTime: CREATED,
    Tags: [{ Key: STORAGE_TAGS.disk, Value: 'disk-1' }],
    Attachments: [],
    ...overrides,
  };
}

function ebsSnapshot(overrides: Partial<Snapshot> = {}): Snapshot {
  return {
    SnapshotId: 'snap-0123456789abcdef0',
    VolumeId: 'vol-0123456789abcdef0',
    State: 'pending',
    VolumeSize: 100,
    StartTime: CREATED,
    Tags: [{ Key: STORAGE_TAGS.snapshotName, Value: 'disk-1-snap-1' }],
    ...overrides,
  };
}

function volumeInfo(name: string): VolumeInfo {
  return { name, namespace: 'odc-disks', phase: 'Bound', requested_size: '100Gi', used_by: [], labels: {} };
}

/** The deployer of a cluster, as far as the provider uses it: what it was asked is in the mocks. */
function fakeClaims(): jest.Mocked<VolumeClaimClient> {
  return {
    createVolume: jest.fn((request: VolumeRequest) => Promise.resolve(volumeInfo(request.name))),
    deleteVolume: jest.fn((_name: string, _namespace?: string) => Promise.resolve()),
    getVolume: jest.fn((name: string) => Promise.resolve(volumeInfo(name))),
  };
}

/** The rejection of a call, as a StorageProviderError (fails the test if it resolved or threw something else). */
async function failureOf(call: Promise<unknown>): Promise<StorageProviderError> {
  const error: unknown = await call.then(
    () => undefined,
    (rejection: unknown) => rejection,
  );
  expect(error).toBeInstanceOf(StorageProviderError);
  return error as StorageProviderError;
}

describe('AwsEbsProvider', () => {
  const client = new EC2Client({ region: REGION, credentials: CREDENTIALS });
  const ec2 = mockClient(client);
  let claims: jest.Mocked<VolumeClaimClient>;
  let clusterAsked: string[];
  let provider: AwsEbsProvider;
  let now: number;
  let slept: number[];

  beforeEach(() => {
    ec2.reset();
    claims = fakeClaims();
    clusterAsked = [];
    now = 1_000_000;
    slept = [];
    provider = new AwsEbsProvider(
      client,
      {
        for: (clusterId) => {
          clusterAsked.push(clusterId);
          return claims;
        },
      },
      SETTINGS,
      {
        now: () => now,
        sleep: (ms) => {
          slept.push(ms);
          now += ms;
          return Promise.resolve();
        },
      },
    );
  });

  afterAll(() => {
    ec2.restore();
  });

  describe('createVolume', () => {
    const input = {
      name: 'disk-1-gen-1',
      sizeGb: 100,
      clusterId: 'c-east',
      zone: ZONE,
      tags: { [STORAGE_TAGS.disk]: 'disk-1' },
    };

    it('creates the volume in the zone with the type, encryption, tags and a client token', async () => {
      ec2.on(CreateVolumeCommand).resolves(ebsVolume({ State: 'creating', Tags: undefined }));
      const volume = await provider.createVolume(input);
      expect(ec2.commandCalls(CreateVolumeCommand)).toHaveLength(1);
      expect(ec2.commandCalls(CreateVolumeCommand)[0]!.args[0].input).toEqual({
        AvailabilityZone: ZONE,
        Size: 100,
        VolumeType: 'gp3',
        Iops: 4000,
        Throughput: 250,
        Encrypted: true,
        KmsKeyId: SETTINGS.kmsKeyId,
        TagSpecifications: [
          {
            ResourceType: 'volume',
            Tags: [
              { Key: 'team', Value: 'ml-infra' },
              { Key: 'Name', Value: 'disk-1-gen-1' },
              { Key: STORAGE_TAGS.disk, Value: 'disk-1' },
            ],
          },
        ],
        ClientToken: clientTokenFor('disk-1-gen-1'),
      });
      expect(volume).toEqual({
        volumeId: 'vol-0123456789abcdef0',
        zone: ZONE,
        sizeGb: 100,
        state: 'creating',
        tags: {},
        createdAt: CREATED,
      });
    });

    it('asks with the same client token for the same name and another for another name', async () => {
      ec2.on(CreateVolumeCommand).resolves(ebsVolume({ State: 'creating' }));
      await provider.createVolume(input);
      await provider.createVolume(input);
      await provider.createVolume({ ...input, name: 'disk-1-gen-2' });
      const tokens = ec2.commandCalls(CreateVolumeCommand).map((call) => call.args[0].input.ClientToken);
      expect(tokens[0]).toBe(tokens[1]);
      expect(tokens[2]).not.toBe(tokens[0]);
    });

    it('keeps the client token within EC2’s 64 characters, even for the longest name', () => {
      const longest = 'a'.repeat(63);
      expect(clientTokenFor(longest).length).toBeLessThanOrEqual(64);
      expect(clientTokenFor(longest)).not.toBe(clientTokenFor(`${'a'.repeat(62)}b`));
    });

    it('starts from the snapshot given', async () => {
      ec2.on(CreateVolumeCommand).resolves(ebsVolume({ State: 'creating', SnapshotId: 'snap-1' }));
      const fromSnapshot: ProviderSnapshot = {
        snapshotId: 'snap-1',
        volumeId: 'vol-old',
        state: 'ready',
        tags: {},
      };
      await provider.createVolume({ ...input, fromSnapshot });
      expect(ec2.commandCalls(CreateVolumeCommand)[0]!.args[0].input.SnapshotId).toBe('snap-1');
    });

    it('leaves encryption, IOPS and throughput to EC2 when they are not configured', async () => {
      ec2.on(CreateVolumeCommand).resolves(ebsVolume({ State: 'creating' }));
      const plain = new AwsEbsProvider(
        client,
        { for: () => claims },
        {
          ...SETTINGS,
          kmsKeyId: undefined,
          iops: undefined,
          throughputMiBps: undefined,
          extraTags: undefined,
        },
      );
      await plain.createVolume(input);
      const asked = ec2.commandCalls(CreateVolumeCommand)[0]!.args[0].input;
      expect(asked).not.toHaveProperty('Encrypted');
      expect(asked).not.toHaveProperty('KmsKeyId');
      expect(asked).not.toHaveProperty('Iops');
      expect(asked).not.toHaveProperty('Throughput');
      expect(asked.TagSpecifications?.[0]!.Tags).toEqual([
        { Key: 'Name', Value: 'disk-1-gen-1' },
        { Key: STORAGE_TAGS.disk, Value: 'disk-1' },
      ]);
    });

    it('refuses a volume without a zone, before asking EC2', async () => {
      const error = await failureOf(provider.createVolume({ ...input, zone: undefined }));
      expect(error.kind).toBe('invalid');
      expect(error.message).toContain('a zone is required');
      expect(ec2.calls()).toHaveLength(0);
    });

    it('maps EC2’s refusal (e.g. a capacity limit of the zone)', async () => {
      ec2.on(CreateVolumeCommand).rejects(ec2Error('InsufficientVolumeCapacity', 503));
      const error = await failureOf(provider.createVolume(input));
      expect(error.kind).toBe('limit');
      expect(error.message).toContain('CreateVolume disk-1-gen-1 failed: InsufficientVolumeCapacity');
    });
  });

  describe('describeVolume and deleteVolume', () => {
    const ref = { volumeId: 'vol-0123456789abcdef0' };

    it('describes a volume by id with its state, size, zone and tags', async () => {
      ec2
        .on(DescribeVolumesCommand, { VolumeIds: [ref.volumeId] })
        .resolves({ Volumes: [ebsVolume({ State: 'in-use' })] });
      expect(await provider.describeVolume(ref)).toEqual({
        volumeId: ref.volumeId,
        zone: ZONE,
        sizeGb: 100,
        state: 'in-use',
        tags: { [STORAGE_TAGS.disk]: 'disk-1' },
        createdAt: CREATED,
      });
    });

    it('a missing or deleted volume is undefined', async () => {
      ec2
        .on(DescribeVolumesCommand)
        .rejectsOnce(ec2Error('InvalidVolume.NotFound'))
        .resolvesOnce({ Volumes: [ebsVolume({ State: 'deleted' })] });
      expect(await provider.describeVolume(ref)).toBeUndefined();
      expect(await provider.describeVolume(ref)).toBeUndefined();
      expect(ec2.commandCalls(DescribeVolumesCommand)).toHaveLength(2);
    });

    it('other failures are thrown, mapped', async () => {
      ec2.on(DescribeVolumesCommand).rejects(ec2Error('UnauthorizedOperation', 403));
      expect((await failureOf(provider.describeVolume(ref))).kind).toBe('forbidden');
    });

    it('deletes the volume; one already gone is fine', async () => {
      ec2.on(DeleteVolumeCommand).resolvesOnce({}).rejectsOnce(ec2Error('InvalidVolume.NotFound'));
      await provider.deleteVolume(ref);
      await provider.deleteVolume(ref);
      const calls = ec2.commandCalls(DeleteVolumeCommand);
      expect(calls).toHaveLength(2);
      expect(calls[0]!.args[0].input).toEqual({ VolumeId: ref.volumeId });
    });

    it('a volume still attached is in_use (retryable)', async () => {
      ec2.on(DeleteVolumeCommand).rejects(ec2Error('VolumeInUse'));
      const error = await failureOf(provider.deleteVolume(ref));
      expect(error.kind).toBe('in_use');
      expect(error.retryable).toBe(true);
    });
  });

  describe('attachVolume and detachVolume', () => {
    const ref = { volumeId: 'vol-0123456789abcdef0' };
    const target = { clusterId: 'c-east', claimName: 'disk-1-claim', zone: ZONE };

    beforeEach(() => {
      ec2.on(DescribeVolumesCommand, { VolumeIds: [ref.volumeId] }).resolves({
        Volumes: [
          ebsVolume({
            Tags: [
              { Key: STORAGE_TAGS.disk, Value: 'disk-1' },
              { Key: STORAGE_TAGS.owner, Value: 'alice@example.com' },
              { Key: 'Name', Value: 'x' },
            ],
          }),
        ],
      });
    });

    it('asks the target cluster’s deployer for a static volume bound to a claim, in the volume’s zone', async () => {
      expect(await provider.attachVolume(ref, target)).toEqual({ claimName: 'disk-1-claim' });
      expect(clusterAsked).toEqual(['c-east']);
      expect(claims.createVolume).toHaveBeenCalledTimes(1);
      expect(claims.createVolume.mock.calls[0]![0]).toEqual({
        name: 'disk-1-claim',
        namespace: 'odc-disks',
        size: '100Gi',
        storage_class: '',
        static_volume: {
          driver: 'ebs.csi.aws.com',
          volume_handle: ref.volumeId,
          fs_type: 'ext4',
          zone: ZONE,
        },
        // The owner's e-mail is no label value: it stays a tag only.
        labels: { [STORAGE_TAGS.disk]: 'disk-1', [EBS_VOLUME_LABEL]: ref.volumeId },
      });
    });

    it('leaves the namespace to the deployer when the cluster has none configured', async () => {
      await provider.attachVolume(ref, { clusterId: 'c-west', claimName: 'disk-1-claim' });
      expect(claims.createVolume.mock.calls[0]![0]).not.toHaveProperty('namespace');
      expect(claims.createVolume.mock.calls[0]![0].static_volume?.zone).toBe(ZONE);
    });

    it('refuses a target in another zone, without asking the deployer', async () => {
      const error = await failureOf(provider.attachVolume(ref, { ...target, zone: 'us-west-2b' }));
      expect(error.kind).toBe('invalid');
      expect(error.message).toContain(`lives in zone ${ZONE}, not us-west-2b`);
      expect(claims.createVolume).not.toHaveBeenCalled();
    });

    it('a missing volume is not_found', async () => {
      ec2.on(DescribeVolumesCommand, { VolumeIds: ['vol-gone'] }).rejects(ec2Error('InvalidVolume.NotFound'));
      expect((await failureOf(provider.attachVolume({ volumeId: 'vol-gone' }, target))).kind).toBe(
        'not_found',
      );
      expect(claims.createVolume).not.toHaveBeenCalled();
    });

    it('a 409 on attach (the claim name is another object’s) is invalid, not a wait', async () => {
      claims.createVolume.mockRejectedValue(
        new DeployerFull(DEPLOYER, { status: 409, message: 'not a disk' }),
      );
      expect((await failureOf(provider.attachVolume(ref, target))).kind).toBe('invalid');
    });

    it('detach deletes the claim (and its Retain PV) through the deployer', async () => {
      await provider.detachVolume(ref, target);
      expect(clusterAsked).toEqual(['c-east']);
      expect(claims.deleteVolume).toHaveBeenCalledWith('disk-1-claim', 'odc-disks');
      expect(ec2.calls()).toHaveLength(0); // the EBS volume is not touched
    });

    it('detach of a claim a pod still mounts (409) is in_use; an unreachable cluster unavailable', async () => {
      claims.deleteVolume
        .mockRejectedValueOnce(new DeployerFull(DEPLOYER, { status: 409, message: 'mounted by pod-1' }))
        .mockRejectedValueOnce(new DeployerUnreachable(DEPLOYER, 'ECONNREFUSED'));
      const mounted = await failureOf(provider.detachVolume(ref, target));
      expect(mounted.kind).toBe('in_use');
      expect(mounted.message).toContain('mounted by pod-1');
      expect((await failureOf(provider.detachVolume(ref, target))).kind).toBe('unavailable');
    });
  });

  describe('snapshots', () => {
    const input = {
      name: 'disk-1-snap-1',
      volume: { volumeId: 'vol-0123456789abcdef0' },
      description: 'alice/work before upgrade',
      tags: { [STORAGE_TAGS.disk]: 'disk-1' },
    };

    it('creates a snapshot with its name tag, the caller’s tags and the description', async () => {
      ec2.on(DescribeSnapshotsCommand).resolves({ Snapshots: [] });
      ec2.on(CreateSnapshotCommand).resolves(ebsSnapshot());
      const snapshot = await provider.createSnapshot(input);
      expect(ec2.commandCalls(DescribeSnapshotsCommand)[0]!.args[0].input).toEqual({
        OwnerIds: ['self'],
        Filters: [{ Name: `tag:${STORAGE_TAGS.snapshotName}`, Values: ['disk-1-snap-1'] }],
      });
      expect(ec2.commandCalls(CreateSnapshotCommand)[0]!.args[0].input).toEqual({
        VolumeId: 'vol-0123456789abcdef0',
        Description: 'alice/work before upgrade',
        TagSpecifications: [
          {
            ResourceType: 'snapshot',
            Tags: [
              { Key: 'team', Value: 'ml-infra' },
              { Key: 'Name', Value: 'disk-1-snap-1' },
              { Key: STORAGE_TAGS.disk, Value: 'disk-1' },
              { Key: STORAGE_TAGS.snapshotName, Value: 'disk-1-snap-1' },
            ],
          },
        ],
      });
      expect(snapshot).toMatchObject({ snapshotId: 'snap-0123456789abcdef0', state: 'pending', sizeGb: 100 });
    });

    it('answers the snapshot already tagged with the name instead of taking another', async () => {
      ec2.on(DescribeSnapshotsCommand).resolves({
        Snapshots: [
          ebsSnapshot({ SnapshotId: 'snap-newer', StartTime: new Date(CREATED.getTime() + 1000) }),
          ebsSnapshot({ SnapshotId: 'snap-first', State: 'completed' }),
        ],
      });
      const snapshot = await provider.createSnapshot(input);
      expect(snapshot).toMatchObject({ snapshotId: 'snap-first', state: 'ready' });
      expect(ec2.commandCalls(CreateSnapshotCommand)).toHaveLength(0);
    });

    it('describes a snapshot: states, size, start time, and why it failed', async () => {
      ec2
        .on(DescribeSnapshotsCommand, { SnapshotIds: ['snap-1'] })
        .resolvesOnce({ Snapshots: [ebsSnapshot({ SnapshotId: 'snap-1', State: 'completed' })] })
        .resolvesOnce({
          Snapshots: [
            ebsSnapshot({ SnapshotId: 'snap-1', State: 'error', StateMessage: 'KMS key disabled' }),
          ],
        })
        .rejectsOnce(ec2Error('InvalidSnapshot.NotFound'));
      expect(await provider.describeSnapshot({ snapshotId: 'snap-1' })).toEqual({
        snapshotId: 'snap-1',
        volumeId: 'vol-0123456789abcdef0',
        state: 'ready',
        sizeGb: 100,
        createdAt: CREATED,
        tags: { [STORAGE_TAGS.snapshotName]: 'disk-1-snap-1' },
      });
      expect(await provider.describeSnapshot({ snapshotId: 'snap-1' })).toMatchObject({
        state: 'failed',
        error: 'KMS key disabled',
      });
      expect(await provider.describeSnapshot({ snapshotId: 'snap-1' })).toBeUndefined();
    });

    it('deletes a snapshot; one gone is fine; one in use by an image is in_use', async () => {
      ec2
        .on(DeleteSnapshotCommand)
        .resolvesOnce({})
        .rejectsOnce(ec2Error('InvalidSnapshot.NotFound'))
        .rejectsOnce(ec2Error('InvalidSnapshot.InUse'));
      await provider.deleteSnapshot({ snapshotId: 'snap-1' });
      await provider.deleteSnapshot({ snapshotId: 'snap-1' });
      expect((await failureOf(provider.deleteSnapshot({ snapshotId: 'snap-1' }))).kind).toBe('in_use');
      expect(ec2.commandCalls(DeleteSnapshotCommand)[0]!.args[0].input).toEqual({ SnapshotId: 'snap-1' });
    });
  });

  describe('waitForSnapshot', () => {
    const ref = { snapshotId: 'snap-1' };

    it('polls every interval until the snapshot completes', async () => {
      ec2
        .on(DescribeSnapshotsCommand)
        .resolvesOnce({ Snapshots: [ebsSnapshot({ State: 'pending' })] })
        .resolvesOnce({ Snapshots: [ebsSnapshot({ State: 'pending' })] })
        .resolvesOnce({ Snapshots: [ebsSnapshot({ State: 'completed' })] });
      const snapshot = await provider.waitForSnapshot(ref, { timeoutMs: 60_000 });
      expect(snapshot.state).toBe('ready');
      expect(slept).toEqual([DEFAULT_SNAPSHOT_POLL_MS, DEFAULT_SNAPSHOT_POLL_MS]);
      expect(ec2.commandCalls(DescribeSnapshotsCommand)).toHaveLength(3);
    });

    it('returns a snapshot still pending at the timeout, without sleeping past it', async () => {
      ec2.on(DescribeSnapshotsCommand).resolves({ Snapshots: [ebsSnapshot({ State: 'pending' })] });
      const snapshot = await provider.waitForSnapshot(ref, { timeoutMs: 12_000, intervalMs: 5_000 });
      expect(snapshot.state).toBe('pending');
      expect(slept).toEqual([5_000, 5_000, 2_000]);
      expect(ec2.commandCalls(DescribeSnapshotsCommand)).toHaveLength(4);
    });

    it('returns a failed snapshot with EC2’s message at once', async () => {
      ec2
        .on(DescribeSnapshotsCommand)
        .resolves({ Snapshots: [ebsSnapshot({ State: 'error', StateMessage: 'volume went away' })] });
      const snapshot = await provider.waitForSnapshot(ref, { timeoutMs: 60_000 });
      expect(snapshot).toMatchObject({ state: 'failed', error: 'volume went away' });
      expect(slept).toEqual([]);
    });

    it('a snapshot that does not exist is not_found', async () => {
      ec2.on(DescribeSnapshotsCommand).rejects(ec2Error('InvalidSnapshot.NotFound'));
      expect((await failureOf(provider.waitForSnapshot(ref, { timeoutMs: 60_000 }))).kind).toBe('not_found');
    });
  });

  describe('listing', () => {
    it('lists volumes by tag across pages, leaving out deleted ones', async () => {
      ec2
        .on(DescribeVolumesCommand)
        .resolvesOnce({
          Volumes: [ebsVolume({ VolumeId: 'vol-a' }), ebsVolume({ VolumeId: 'vol-x', State: 'deleted' })],
          NextToken: 'page-2',
        })
        .on(DescribeVolumesCommand, { NextToken: 'page-2' })
        .resolves({ Volumes: [ebsVolume({ VolumeId: 'vol-b', State: 'in-use' })] });
      const volumes = await provider.listVolumes({ tags: { [STORAGE_TAGS.owner]: 'u-1', team: 'ml' } });
      expect(volumes.map((volume) => [volume.volumeId, volume.state])).toEqual([
        ['vol-a', 'available'],
        ['vol-b', 'in-use'],
      ]);
      const calls = ec2.commandCalls(DescribeVolumesCommand);
      expect(calls).toHaveLength(2);
      expect(calls[0]!.args[0].input).toMatchObject({
        Filters: [
          { Name: `tag:${STORAGE_TAGS.owner}`, Values: ['u-1'] },
          { Name: 'tag:team', Values: ['ml'] },
        ],
        MaxResults: 500,
      });
    });

    it('lists this account’s snapshots by tag across pages', async () => {
      ec2
        .on(DescribeSnapshotsCommand)
        .resolvesOnce({
          Snapshots: [ebsSnapshot({ SnapshotId: 'snap-a', State: 'completed' })],
          NextToken: 'page-2',
        })
        .on(DescribeSnapshotsCommand, { NextToken: 'page-2' })
        .resolves({ Snapshots: [ebsSnapshot({ SnapshotId: 'snap-b' })] });
      const snapshots = await provider.listSnapshots({ tags: { [STORAGE_TAGS.disk]: 'disk-1' } });
      expect(snapshots.map((snapshot) => [snapshot.snapshotId, snapshot.state])).toEqual([
        ['snap-a', 'ready'],
        ['snap-b', 'pending'],
      ]);
      const calls = ec2.commandCalls(DescribeSnapshotsCommand);
      expect(calls).toHaveLength(2);
      expect(calls[0]!.args[0].input).toMatchObject({
        OwnerIds: ['self'],
        Filters: [{ Name: `tag:${STORAGE_TAGS.disk}`, Values: ['disk-1'] }],
      });
    });

    it('a failure while paging is mapped', async () => {
      ec2.on(DescribeVolumesCommand).rejects(ec2Error('RequestLimitExceeded', 503));
      expect((await failureOf(provider.listVolumes({}))).kind).toBe('unavailable');
    });
  });

  describe('tags', () => {
    it('tags volumes and snapshots with CreateTags, and skips a call with no tags', async () => {
      ec2.on(CreateTagsCommand).resolves({});
      await provider.tagVolume({ volumeId: 'vol-1' }, { [STORAGE_TAGS.quarantined]: '2026-03-01' });
      await provider.tagSnapshot({ snapshotId: 'snap-1' }, { [STORAGE_TAGS.quarantined]: '2026-03-02' });
      await provider.tagVolume({ volumeId: 'vol-1' }, {});
      expect(ec2.commandCalls(CreateTagsCommand).map((call) => call.args[0].input)).toEqual([
        { Resources: ['vol-1'], Tags: [{ Key: STORAGE_TAGS.quarantined, Value: '2026-03-01' }] },
        { Resources: ['snap-1'], Tags: [{ Key: STORAGE_TAGS.quarantined, Value: '2026-03-02' }] },
      ]);
    });

    it('tagging a volume that is gone is not_found', async () => {
      ec2.on(CreateTagsCommand).rejects(ec2Error('InvalidVolume.NotFound'));
      expect((await failureOf(provider.tagVolume({ volumeId: 'vol-1' }, { a: 'b' }))).kind).toBe('not_found');
    });
  });

  describe('adoptVolume', () => {
    const tags = { [STORAGE_TAGS.disk]: 'disk-9', [STORAGE_TAGS.owner]: 'u-1' };

    it('tags a free volume and answers it with its size and zone', async () => {
      ec2.on(DescribeVolumesCommand, { VolumeIds: ['vol-seed'] }).resolves({
        Volumes: [
          ebsVolume({
            VolumeId: 'vol-seed',
            Size: 250,
            AvailabilityZone: 'us-west-2c',
            Tags: [{ Key: 'Name', Value: 'seed-alice' }],
          }),
        ],
      });
      ec2.on(CreateTagsCommand).resolves({});
      const volume = await provider.adoptVolume('vol-seed', tags);
      expect(volume).toMatchObject({
        volumeId: 'vol-seed',
        sizeGb: 250,
        zone: 'us-west-2c',
        state: 'available',
        tags: { Name: 'seed-alice', ...tags },
      });
      expect(ec2.commandCalls(CreateTagsCommand)[0]!.args[0].input).toEqual({
        Resources: ['vol-seed'],
        Tags: [
          { Key: STORAGE_TAGS.disk, Value: 'disk-9' },
          { Key: STORAGE_TAGS.owner, Value: 'u-1' },
        ],
      });
    });

    it('refuses a volume attached to an instance, without tagging it', async () => {
      ec2.on(DescribeVolumesCommand).resolves({
        Volumes: [
          ebsVolume({ State: 'in-use', Attachments: [{ InstanceId: 'i-0seed', State: 'attached' }] }),
        ],
      });
      const error = await failureOf(provider.adoptVolume('vol-0123456789abcdef0', tags));
      expect(error.kind).toBe('in_use');
      expect(error.message).toContain('attached to i-0seed');
      expect(ec2.commandCalls(CreateTagsCommand)).toHaveLength(0);
    });

    it('refuses a missing volume and one another disk owns', async () => {
      ec2.on(DescribeVolumesCommand, { VolumeIds: ['vol-gone'] }).rejects(ec2Error('InvalidVolume.NotFound'));
      ec2
        .on(DescribeVolumesCommand, { VolumeIds: ['vol-owned'] })
        .resolves({ Volumes: [ebsVolume({ VolumeId: 'vol-owned' })] });
      const missing = await failureOf(provider.adoptVolume('vol-gone', tags));
      expect(missing.kind).toBe('not_found');
      expect(missing.message).toContain(`vol-gone not found in ${REGION}`);
      const owned = await failureOf(provider.adoptVolume('vol-owned', tags));
      expect(owned.kind).toBe('invalid');
      expect(owned.message).toContain('already belongs to disk disk-1');
      expect(ec2.commandCalls(CreateTagsCommand)).toHaveLength(0);
    });
  });

  it('any snapshot restores in any cluster it serves (one region)', () => {
    const snapshot: ProviderSnapshot = { snapshotId: 'snap-1', volumeId: 'vol-1', state: 'ready', tags: {} };
    expect(provider.restorableIn(snapshot, 'c-east')).toBe(true);
    expect(provider.name).toBe('aws-ebs');
  });

  it('never puts the client’s credentials in an error', async () => {
    expect(await client.config.credentials()).toMatchObject(CREDENTIALS); // they are there to leak
    ec2.on(CreateVolumeCommand).rejects(ec2Error('UnauthorizedOperation', 403));
    ec2.on(DescribeVolumesCommand).rejects(ec2Error('InternalError', 500));
    ec2.on(DeleteSnapshotCommand).rejects(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
    const errors = [
      await failureOf(provider.createVolume({ name: 'd', sizeGb: 1, clusterId: 'c', zone: ZONE, tags: {} })),
      await failureOf(provider.listVolumes({})),
      await failureOf(provider.deleteSnapshot({ snapshotId: 'snap-1' })),
    ];
    expect(errors.map((error) => error.kind)).toEqual(['forbidden', 'unavailable', 'unavailable']);
    for (const error of errors) {
      const seen = [error.message, JSON.stringify(error.details), inspect(error, { depth: 10 })].join('\n');
      expect(seen).not.toContain(CREDENTIALS.accessKeyId);
      expect(seen).not.toContain(CREDENTIALS.secretAccessKey);
    }
  });
});

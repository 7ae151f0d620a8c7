import { CreateTagsCommand, DescribeVolumesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { DataSource } from 'typeorm';
import { startTestApp, type TestApp } from '../support/app';
import { seedFleet } from '../support/fleet';
import { keyFor } from '../support/users';

/**
 * The aws-ebs migration path through the API: an admin adopts an EBS volume the platform ODC
 * replaces attached directly, and it becomes a user's disk in its zone. EC2 is mocked at the SDK
 * boundary (aws-sdk-client-mock); everything else is the real platform.
 */
describe('disks on aws-ebs: adopting an existing EBS volume', () => {
  const ec2 = mockClient(EC2Client);
  let app: TestApp;
  let admin: string;
  let alice: string;

  beforeAll(async () => {
    app = await startTestApp({
      roles: 'coordinator',
      env: { ODC_STORAGE_PROVIDER: 'aws-ebs', ODC_AWS_REGION: 'us-east-2' },
    });
    await seedFleet(app, 'east', [{ name: 'h-0', gpuType: 'h100', gpus: 8 }]);
    admin = await keyFor(app, 'ops', ['disks:read', 'disks:write'], { admin: true });
    alice = await keyFor(app, 'alice', ['disks:read', 'disks:write']);
  });

  afterAll(async () => {
    ec2.restore();
    await app.close();
  });

  beforeEach(() => ec2.reset());

  const adopt = (key: string, body: object) =>
    app.http().post('/api/v1/disks/adopt').set('authorization', `Bearer ${key}`).send(body);

  it('an admin adopts a free volume for a user: tagged as the disk, its size and zone recorded', async () => {
    ec2.on(DescribeVolumesCommand).resolves({
      Volumes: [
        {
          VolumeId: 'vol-0123456789abcdef0',
          Size: 500,
          AvailabilityZone: 'us-east-2b',
          State: 'available',
          Attachments: [],
          Tags: [{ Key: 'Name', Value: 'gpu-dev-alice-work' }],
        },
      ],
    });
    ec2.on(CreateTagsCommand).resolves({});
    const adopted = await adopt(admin, {
      owner: 'alice',
      name: 'work',
      volume_id: 'vol-0123456789abcdef0',
    }).expect(201);
    expect(adopted.body).toMatchObject({
      name: 'work',
      owner: 'alice',
      provider: 'aws-ebs',
      size_gb: 500,
      zone: 'us-east-2b',
      has_volume: true,
      status: 'free',
    });
    const tagged = ec2.commandCalls(CreateTagsCommand)[0]!.args[0].input;
    expect(tagged.Resources).toEqual(['vol-0123456789abcdef0']);
    expect(tagged.Tags).toEqual(
      expect.arrayContaining([
        { Key: 'odc.dev/disk', Value: adopted.body.id },
        { Key: 'odc.dev/owner', Value: expect.any(String) },
      ]),
    );
    // Alice sees it as hers; the audit log has who adopted what.
    const mine = await app
      .http()
      .get('/api/v1/disks/work')
      .set('authorization', `Bearer ${alice}`)
      .expect(200);
    expect(mine.body.id).toBe(adopted.body.id);
    const [audit] = await app
      .core()
      .get(DataSource)
      .query<{ username: string; metadata: { volume_id: string } }[]>(
        `SELECT username, request_metadata AS metadata FROM audit_log WHERE action = 'disk.adopt'`,
      );
    expect(audit).toMatchObject({ username: 'ops', metadata: { volume_id: 'vol-0123456789abcdef0' } });

    // The same volume twice is refused.
    const twice = await adopt(admin, {
      owner: 'alice',
      name: 'again',
      volume_id: 'vol-0123456789abcdef0',
    }).expect(409);
    expect(twice.body.code).toBe('invalid_disk_state');
  });

  it('refuses a volume attached to an instance (409) and one that does not exist, keeping no disk', async () => {
    ec2.on(DescribeVolumesCommand).resolvesOnce({
      Volumes: [
        {
          VolumeId: 'vol-0aaaaaaaaaaaaaaaa',
          Size: 100,
          AvailabilityZone: 'us-east-2a',
          State: 'in-use',
          Attachments: [{ InstanceId: 'i-0123456789abcdef0', State: 'attached' }],
        },
      ],
    });
    const attached = await adopt(admin, {
      owner: 'alice',
      name: 'busy',
      volume_id: 'vol-0aaaaaaaaaaaaaaaa',
    }).expect(409);
    expect(attached.body.code).toBe('volume_in_use');
    expect(attached.body.message).toContain('detach it first');
    ec2.on(DescribeVolumesCommand).resolves({ Volumes: [] });
    const missing = await adopt(admin, {
      owner: 'alice',
      name: 'ghost',
      volume_id: 'vol-0bbbbbbbbbbbbbbbb',
    }).expect(422);
    expect(missing.body.code).toBe('storage_rejected');
    const names = (
      await app.http().get('/api/v1/disks').set('authorization', `Bearer ${alice}`).expect(200)
    ).body.items.map((d: { name: string }) => d.name);
    expect(names).toEqual(['work']);
  });

  it('is for admins only, and checks its input', async () => {
    const forbidden = await adopt(alice, {
      owner: 'alice',
      name: 'mine',
      volume_id: 'vol-0123456789abcdef1',
    }).expect(403);
    expect(forbidden.body.code).toBe('forbidden');
    const bad = await adopt(admin, { owner: 'alice', name: 'x', volume_id: 'snap-123' }).expect(400);
    expect(bad.body.code).toBe('validation_failed');
    expect(ec2.commandCalls(DescribeVolumesCommand)).toHaveLength(0);
  });
});

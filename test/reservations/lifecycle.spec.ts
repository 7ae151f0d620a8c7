import { generateKeyPairSync } from 'node:crypto';
import { DataSource } from 'typeorm';
import { AdmissionWorker } from '../../src/reservations/admission/admission.worker';
import { NAMESPACE, registerDeployer, startDeployer, type DeployerUnderTest } from '../deployer/fixtures';
import { FAST_CONTROL_PLANE_ENV, startTestApp, type TestApp } from '../support/app';
import { eventually } from '../support/eventually';
import { FAST_TIMINGS, h100Pool } from '../support/simulator';
import { keyFor } from '../support/users';

const H100 = 'NVIDIA-H100-80GB-HBM3';

function sshKey(comment: string): string {
  const raw = generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
  const field = (bytes: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, bytes.length]), bytes]);
  return `ssh-ed25519 ${Buffer.concat([field(Buffer.from('ssh-ed25519')), field(raw)]).toString('base64')} ${comment}`;
}

interface Shown {
  id: string;
  status: string;
  node?: string;
  cluster?: string;
  ssh_command?: string;
  expires_at?: string;
  queue_position?: number;
  estimated_wait_seconds?: number;
  status_reason?: string;
  events: { from?: string; to?: string; message: string }[];
}

/**
 * The whole path on one process with every core role, a deployer on a simulated fleet of two
 * 8-GPU H100 nodes: reserve → placed → provisioned → active with an SSH command; the queue with
 * an estimate while the fleet is full; cancel → objects deleted → GPUs to the next in line.
 */
describe('reservations end to end on a simulated cluster', () => {
  let deployer: DeployerUnderTest;
  let app: TestApp;
  let keys: Record<'alice' | 'bob' | 'carol', string>;
  let aliceKey: string;

  beforeAll(async () => {
    deployer = await startDeployer({ cluster: { nodePools: [h100Pool(2)], timings: FAST_TIMINGS } });
    app = await startTestApp({
      roles: 'coordinator,worker,cron',
      env: FAST_CONTROL_PLANE_ENV,
    });
    const admin = await keyFor(app, 'ops', ['clusters:admin'], { admin: true });
    await registerDeployer(app, admin, deployer, {
      name: 'sim',
      gpuType: 'h100',
      product: H100,
      sshHost: 'gpu.example.com',
    });
    const scopes = ['reservations:read', 'reservations:write', 'ssh-keys:write'] as const;
    keys = {
      alice: await keyFor(app, 'alice', [...scopes]),
      bob: await keyFor(app, 'bob', [...scopes]),
      carol: await keyFor(app, 'carol', [...scopes]),
    };
    aliceKey = keys.alice;
    await app
      .http()
      .put('/api/v1/me/ssh-keys')
      .set('authorization', `Bearer ${aliceKey}`)
      .send({ keys: [sshKey('alice@laptop')] })
      .expect(200);
  });

  afterAll(async () => {
    await app.close();
    await deployer.close();
  });

  const reserve = (key: string, body: object) =>
    app.http().post('/api/v1/reservations').set('authorization', `Bearer ${key}`).send(body).expect(202);
  const show = async (key: string, id: string): Promise<Shown> =>
    (await app.http().get(`/api/v1/reservations/${id}`).set('authorization', `Bearer ${key}`).expect(200))
      .body as Shown;
  const until = (key: string, id: string, status: string) =>
    eventually(
      () => show(key, id),
      (r) => r.status === status,
      15_000,
    );

  it('reserve → active with an SSH command, its objects pinned to the chosen node', async () => {
    const made = await reserve(aliceKey, { gpu_type: 'h100', gpu_count: 4, hours: 2, name: 'train' });
    const active = await until(aliceKey, made.body.id, 'active');
    expect(active.cluster).toBe('sim');
    expect(active.ssh_command).toMatch(/^ssh -p 3\d{4} dev@gpu\.example\.com$/);
    expect(Date.parse(active.expires_at!) - Date.now()).toBeGreaterThan(2 * 3600_000 - 60_000);
    expect(active.events.map((e) => e.to)).toEqual(['queued', 'placing', 'provisioning', 'active']);

    const deployments = await deployer.k.apps.listNamespacedDeployment({ namespace: NAMESPACE });
    const deployment = deployments.items.find(
      (d) => d.metadata?.labels?.['odc.dev/reservation'] === made.body.id,
    )!;
    const pinned =
      deployment.spec!.template.spec!.affinity!.nodeAffinity!.requiredDuringSchedulingIgnoredDuringExecution!;
    expect(pinned.nodeSelectorTerms[0]!.matchFields).toEqual([
      { key: 'metadata.name', operator: 'In', values: [active.node] },
    ]);
    expect(deployment.spec!.template.spec!.containers[0]!.resources!.limits!['nvidia.com/gpu']).toBe('4');
    const keysMap = await deployer.k.core.readNamespacedConfigMap({
      namespace: NAMESPACE,
      name: `${deployment.metadata!.name}-keys`,
    });
    expect(keysMap.data!.authorized_keys).toContain('alice@laptop');

    // Availability counts the reservation at once, without waiting for the next capacity sync.
    const availability = await app
      .http()
      .get('/api/v1/availability')
      .set('authorization', `Bearer ${aliceKey}`)
      .expect(200);
    expect(availability.body.gpu_types).toEqual([
      expect.objectContaining({
        gpu_type: 'h100',
        total_gpus: 16,
        free_gpus: 12,
        max_reservable: 8,
        full_nodes_free: 1,
      }),
    ]);
  });

  it('queues what does not fit, with an estimate from when running reservations end; a cancel lets the next one in', async () => {
    // Alice holds 4 GPUs on one node for 2 h; Bob takes the other whole node for 1 h; Carol's 8
    // wait for the first node to empty: Bob's, in an hour and its grace period.
    const bobs = await reserve(keys.bob, { gpu_type: 'h100', gpu_count: 8, hours: 1 });
    await until(keys.bob, bobs.body.id, 'active');
    const carols = await reserve(keys.carol, { gpu_type: 'h100', gpu_count: 8, hours: 1 });
    // A pass that starts after Carol's reservation was acknowledged, waited for: it leaves her queued.
    await app.core().get(AdmissionWorker, { strict: false }).requestPass();
    const waiting = await show(keys.carol, carols.body.id);
    expect(waiting).toMatchObject({ status: 'queued', queue_position: 1 });
    // An hour, plus the grace period a reservation runs past its expiry before teardown.
    expect(waiting.estimated_wait_seconds).toBeGreaterThan(3600 + 120 - 60);
    expect(waiting.estimated_wait_seconds).toBeLessThanOrEqual(3600 + 120);

    const [alices] = (
      await app
        .http()
        .get('/api/v1/reservations?status=active')
        .set('authorization', `Bearer ${aliceKey}`)
        .expect(200)
    ).body.items;
    const cancelled = await app
      .http()
      .post(`/api/v1/reservations/${alices.id}/cancel`)
      .set('authorization', `Bearer ${aliceKey}`)
      .expect(200);
    // Over for alice at once: ending as cancelled while its objects are deleted, its GPUs held till then.
    expect(cancelled.body).toMatchObject({ status: 'ending', ending_as: 'cancelled' });
    const ended = await until(aliceKey, alices.id, 'cancelled');
    expect(ended.status_reason).toBe('cancelled by alice');
    expect(ended.events.map((e) => e.to)).toEqual([
      'queued',
      'placing',
      'provisioning',
      'active',
      'ending',
      'cancelled',
    ]);
    const left = await deployer.k.apps.listNamespacedDeployment({ namespace: NAMESPACE });
    expect(left.items.some((d) => d.metadata?.labels?.['odc.dev/reservation'] === alices.id)).toBe(false);

    const carolActive = await until(keys.carol, carols.body.id, 'active');
    expect(carolActive.node).toBe(ended.node);
  });

  it('shares SSH access with another user: their key reaches the running environment', async () => {
    const [carols] = (
      await app
        .http()
        .get('/api/v1/reservations?status=active')
        .set('authorization', `Bearer ${keys.carol}`)
        .expect(200)
    ).body.items;
    const post = (path: string, body: object) =>
      app.http().post(path).set('authorization', `Bearer ${keys.carol}`).send(body);
    expect(
      (await post(`/api/v1/reservations/${carols.id}/users`, { username: 'nobody' }).expect(422)).body.code,
    ).toBe('unknown_user');
    const shared = await post(`/api/v1/reservations/${carols.id}/users`, { username: 'alice' }).expect(200);
    expect(shared.body.secondary_users).toEqual(['alice']);
    await eventually(
      async () =>
        (await deployer.k.core.listNamespacedConfigMap({ namespace: NAMESPACE })).items.find(
          (c) => c.metadata?.labels?.['odc.dev/reservation'] === carols.id,
        )?.data?.authorized_keys ?? '',
      (authorized) => authorized.includes('alice@laptop'),
    );
    const jupyter = await post(`/api/v1/reservations/${carols.id}/jupyter`, { enabled: true }).expect(200);
    expect(jupyter.body.jupyter).toBe(true);
    const externalId = (await deployer.k.apps.listNamespacedDeployment({ namespace: NAMESPACE })).items.find(
      (d) => d.metadata?.labels?.['odc.dev/reservation'] === carols.id,
    )!.metadata!.name!;
    await eventually(
      async () =>
        (
          await deployer.k.core.readNamespacedService({ namespace: NAMESPACE, name: `${externalId}-ssh` })
        ).spec!.ports!.map((port) => port.name),
      (ports) => ports.includes('jupyter'),
    );
  });

  it('never holds more GPUs on a node than it has', async () => {
    const db = app.core().get(DataSource);
    const held = await db.query<{ node_name: string; gpus: number }[]>(
      `SELECT node_name, sum(gpu_count)::int AS gpus FROM reservations
       WHERE status IN ('placing', 'provisioning', 'active', 'ending') GROUP BY node_name`,
    );
    expect(held.length).toBeGreaterThan(0);
    expect(held.every((row) => row.gpus <= 8)).toBe(true);
  });

  it('exports reservation, queue, admission and deployer-call metrics', async () => {
    const metrics = (await app.http().get('/metrics').expect(200)).text;
    const active = await app
      .core()
      .get(DataSource)
      .query<{ n: number }[]>(`SELECT count(*)::int AS n FROM reservations WHERE status = 'active'`);
    expect(metrics).toContain(`odc_reservations{status="active"} ${active[0]!.n}`);
    expect(metrics).toMatch(/odc_reservation_time_to_active_seconds_count \d+/);
    expect(
      Number(/odc_reservation_time_to_active_seconds_count (\d+)/.exec(metrics)![1]),
    ).toBeGreaterThanOrEqual(3);
    expect(metrics).toMatch(/odc_admission_pass_seconds_count [1-9]/);
    expect(metrics).toMatch(/odc_planner_thread_heap_bytes\{kind="used"\} [1-9]/);
    expect(metrics).toMatch(
      /odc_deployer_request_duration_seconds_count\{cluster="sim",operation="POST \/deployments",outcome="ok"\} [1-9]/,
    );
    expect(metrics).toContain('operation="DELETE /deployments/{id}"');
  });
});

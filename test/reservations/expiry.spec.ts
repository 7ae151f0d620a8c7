import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DataSource } from 'typeorm';
import { ExpiryTask } from '../../src/reservations/lifecycle/expiry.task';
import type { ReservationNotice } from '../../src/reservations/lifecycle/notify.worker';
import { NAMESPACE, registerDeployer, startDeployer, type DeployerUnderTest } from '../deployer/fixtures';
import { FAST_CONTROL_PLANE_ENV, startTestApp, type TestApp } from '../support/app';
import { eventually } from '../support/eventually';
import { FAST_TIMINGS, h100Pool } from '../support/simulator';
import { keyFor } from '../support/users';

const H100 = 'NVIDIA-H100-80GB-HBM3';
const A100 = 'NVIDIA-A100-SXM4-80GB';
const MINUTE = 60_000;

interface Shown {
  id: string;
  status: string;
  node?: string;
  expires_at?: string;
  status_reason?: string;
  events: { to?: string; message: string }[];
}

/**
 * Time-driven endings with a controllable clock: the expiry round is called with the instant to
 * act at (its timer is set to an hour, so it never runs by itself). Two simulated clusters: `fast`
 * (two 8-GPU H100 nodes) and `slow` (A100 pods that take hours to start: stuck in provisioning).
 */
describe('expiry: warnings once each at their time, expiry, extension, stuck and stale reservations', () => {
  let fast: DeployerUnderTest;
  let slow: DeployerUnderTest;
  let app: TestApp;
  let alice: string;
  let webhook: Server;
  const notices: ReservationNotice[] = [];

  beforeAll(async () => {
    webhook = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        notices.push(JSON.parse(body) as ReservationNotice);
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => webhook.listen(0, '127.0.0.1', resolve));
    fast = await startDeployer({ cluster: { nodePools: [h100Pool(2)], timings: FAST_TIMINGS } });
    slow = await startDeployer({
      cluster: {
        nodePools: [{ name: 'a100', count: 1, gpu: { product: A100, count: 8 } }],
        timings: { ...FAST_TIMINGS, startMs: 3_600_000 },
      },
    });
    app = await startTestApp({
      roles: 'coordinator,worker,cron',
      env: {
        ...FAST_CONTROL_PLANE_ENV,
        ODC_EXPIRY_INTERVAL_SECONDS: '3600',
        ODC_NOTIFY_WEBHOOK_URL: `http://127.0.0.1:${(webhook.address() as AddressInfo).port}/hook`,
        ODC_MAX_GPUS_PER_USER: '32',
      },
    });
    const admin = await keyFor(app, 'ops', ['clusters:admin'], { admin: true });
    for (const [name, deployer, type, product] of [
      ['fast', fast, 'h100', H100],
      ['slow', slow, 'a100', A100],
    ] as const) {
      await registerDeployer(app, admin, deployer, { name, gpuType: type, product });
    }
    alice = await keyFor(app, 'alice', ['reservations:read', 'reservations:write']);
  });

  afterAll(async () => {
    await app.close();
    await fast.close();
    await slow.close();
    await new Promise((resolve) => webhook.close(resolve));
  });

  const expiry = () => app.core().get(ExpiryTask, { strict: false });
  const reserve = (body: object) =>
    app.http().post('/api/v1/reservations').set('authorization', `Bearer ${alice}`).send(body).expect(202);
  const show = async (id: string): Promise<Shown> =>
    (await app.http().get(`/api/v1/reservations/${id}`).set('authorization', `Bearer ${alice}`).expect(200))
      .body as Shown;
  const until = (id: string, status: string) =>
    eventually(
      () => show(id),
      (r) => r.status === status,
      15_000,
    );
  const post = (path: string, body: object) =>
    app.http().post(path).set('authorization', `Bearer ${alice}`).send(body);

  it('warns at 30, 15 and 5 minutes, once each, then expires after the grace period and frees the GPUs', async () => {
    const made = await reserve({ gpu_type: 'h100', gpu_count: 8, hours: 1 });
    const active = await until(made.body.id, 'active');
    const expiresAt = Date.parse(active.expires_at!);
    const at = (minutesFromExpiry: number) => new Date(expiresAt + minutesFromExpiry * MINUTE);

    expect((await expiry().round(at(-40))).warned).toBe(0);
    expect((await expiry().round(at(-29))).warned).toBe(1);
    expect((await expiry().round(at(-28))).warned).toBe(0); // once each
    expect((await expiry().round(at(-14))).warned).toBe(1);
    expect((await expiry().round(at(-4.5))).warned).toBe(1);
    expect((await expiry().round(at(-1))).warned).toBe(0);
    const warnings = (await show(made.body.id)).events.filter((e) => e.message.startsWith('Expires in'));
    expect(warnings.map((e) => e.message.split(' (')[0])).toEqual([
      'Expires in 29 minutes',
      'Expires in 14 minutes',
      'Expires in 5 minutes',
    ]);
    const delivered = await eventually(
      () => notices.filter((n) => n.reservation_id === made.body.id),
      (list) => list.length === 3,
    );
    // Each notice is a job of its own: two sent moments apart (as the rounds above are) may arrive
    // in either order.
    expect(delivered.map((n) => [n.event, n.minutes_left, n.user])).toEqual(
      expect.arrayContaining([
        ['expiry_warning', 29, 'alice'],
        ['expiry_warning', 14, 'alice'],
        ['expiry_warning', 5, 'alice'],
      ]),
    );
    // The environment's notice file says it too (the spec applied again with the warning).
    const configMaps = await fast.k.core.listNamespacedConfigMap({ namespace: NAMESPACE });
    await eventually(
      async () =>
        (await fast.k.core.listNamespacedConfigMap({ namespace: NAMESPACE })).items.find((c) =>
          c.data?.notice?.includes('Expires in 5 minutes'),
        ),
      (found) => found !== undefined,
    );
    expect(configMaps.items.length).toBeGreaterThan(0);

    expect((await expiry().round(at(1))).expired).toBe(0); // within the 120 s grace
    expect((await expiry().round(at(2.5))).expired).toBe(1);
    const ended = await until(made.body.id, 'expired');
    expect(ended.status_reason).toBe('its time is up');
    expect(
      ended.events
        .map((e) => e.to)
        .filter(Boolean)
        .slice(-2),
    ).toEqual(['ending', 'expired']);
    const ends = await eventually(
      () => notices.filter((n) => n.reservation_id === made.body.id && n.event === 'ended'),
      (list) => list.length === 1,
    );
    expect(ends[0]!.status).toBe('expired');
    const left = await fast.k.apps.listNamespacedDeployment({ namespace: NAMESPACE });
    expect(left.items.filter((d) => d.metadata?.labels?.['odc.dev/reservation'] === made.body.id)).toEqual(
      [],
    );
  });

  it('extends a running reservation within the lifetime limit; warnings come again for the new time', async () => {
    const made = await reserve({ gpu_type: 'h100', gpu_count: 4, hours: 1 });
    const active = await until(made.body.id, 'active');
    const expiresAt = Date.parse(active.expires_at!);
    expect((await expiry().round(new Date(expiresAt - 29 * MINUTE))).warned).toBe(1);
    const extended = await post(`/api/v1/reservations/${made.body.id}/extend`, { hours: 2 }).expect(200);
    expect(Date.parse(extended.body.expires_at)).toBe(expiresAt + 2 * 60 * MINUTE);
    expect(extended.body.extended_hours).toBe(2);
    expect((await expiry().round(new Date(expiresAt + 2 * 60 * MINUTE - 29 * MINUTE))).warned).toBe(1);
    const tooLong = await post(`/api/v1/reservations/${made.body.id}/extend`, { hours: 46 }).expect(422);
    expect(tooLong.body).toMatchObject({ code: 'lifetime_exceeded', details: { max_extension_hours: 45 } });
    await post(`/api/v1/reservations/${made.body.id}/cancel`, {}).expect(200);
    await until(made.body.id, 'cancelled');
    await post(`/api/v1/reservations/${made.body.id}/extend`, { hours: 1 }).expect(409);
  });

  it('fails a reservation stuck in provisioning, and cancels one queued for too long, each with its reason', async () => {
    const stuck = await reserve({ gpu_type: 'a100', gpu_count: 8, hours: 1 });
    await until(stuck.body.id, 'provisioning');
    const queued = await reserve({ gpu_type: 'a100', gpu_count: 8, hours: 1 });
    const now = Date.now();
    const round = await expiry().round(new Date(now + 61 * MINUTE));
    expect(round.stuck).toBe(1);
    const failed = await until(stuck.body.id, 'failed');
    expect(failed.status_reason).toBe('not ready after 60 minutes of provisioning');
    // Its GPUs are free again: the queued one is placed on the slow cluster in turn.
    await until(queued.body.id, 'provisioning');
    const later = await reserve({ gpu_type: 'a100', gpu_count: 8, hours: 1 });
    expect((await expiry().round(new Date(now + 49 * 60 * MINUTE))).stale).toBe(1);
    const cancelled = await show(later.body.id);
    expect(cancelled).toMatchObject({
      status: 'cancelled',
      status_reason: 'waited in the queue for more than 48 h',
    });
  });

  it('a cluster with live reservations cannot be removed; once they end it can, and their history stays', async () => {
    const admin = await keyFor(app, 'ops', ['clusters:admin'], { admin: true });
    const clusters = await app
      .http()
      .get('/api/v1/clusters')
      .set('authorization', `Bearer ${admin}`)
      .expect(200);
    const slowId = clusters.body.items.find((c: { name: string }) => c.name === 'slow').id as string;
    const made = await reserve({ gpu_type: 'a100', gpu_count: 8, hours: 1 });
    await until(made.body.id, 'provisioning');
    const live = [made.body as { id: string }];
    await app
      .http()
      .post(`/api/v1/clusters/${slowId}/drain`)
      .set('authorization', `Bearer ${admin}`)
      .send({})
      .expect(200);
    const refused = await app
      .http()
      .delete(`/api/v1/clusters/${slowId}`)
      .set('authorization', `Bearer ${admin}`)
      .expect(409);
    expect(refused.body).toMatchObject({
      code: 'cluster_active',
      details: { live_reservations: live.length },
    });
    for (const r of live) {
      await post(`/api/v1/reservations/${r.id}/cancel`, {}).expect(200);
      await until(r.id, 'cancelled');
    }
    await app.http().delete(`/api/v1/clusters/${slowId}`).set('authorization', `Bearer ${admin}`).expect(200);
    const after = await show(live[0]!.id);
    expect(after.status).toBe('cancelled');
    expect(after.events.length).toBeGreaterThan(3);
  });

  it('takes a reservation that a replica of the previous release ended as `expiring` for `ending`, and tears it down', async () => {
    const made = await reserve({ gpu_type: 'h100', gpu_count: 8, hours: 1 });
    await until(made.body.id, 'active');
    // What such a replica's cancel leaves during a rolling upgrade: the former word, and a teardown
    // job that a worker of its release took and found nothing to do for.
    await app
      .core()
      .get(DataSource)
      .query(
        `UPDATE reservations SET status = 'expiring', ending_as = 'cancelled', status_reason = 'cancelled by alice'
         WHERE id = $1`,
        [made.body.id],
      );
    expect((await expiry().round(new Date(Date.now() + 11 * MINUTE))).retried).toBe(1);
    const ended = await until(made.body.id, 'cancelled');
    expect(ended.status_reason).toBe('cancelled by alice');
  });

  it('a pod lost with its node fails its reservation, with the reason (never shown active with a dead pod)', async () => {
    const made = await reserve({ gpu_type: 'h100', gpu_count: 8, hours: 1 });
    const active = await until(made.body.id, 'active');
    fast.cluster.setNodeReady(active.node!, false);
    const failed = await until(made.body.id, 'failed');
    expect(failed.status_reason).toMatch(/its pod failed.*on node/);
    fast.cluster.setNodeReady(active.node!, true);
  });
});

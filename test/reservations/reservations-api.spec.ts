import { DataSource } from 'typeorm';
import { QueueStandings } from '../../src/reservations/scheduling/queue-standings';
import { SchedulingStateReader } from '../../src/reservations/scheduling/scheduling-state';
import { startTestApp, type TestApp } from '../support/app';
import { seedFleet } from '../support/fleet';
import { keyFor } from '../support/users';

/**
 * The reservations API on a coordinator alone (no worker: nothing is admitted, so the queue's
 * positions and estimates can be read as a pass plans them: `storePass` does what the worker's
 * admission pass does with its plan, less the claims) over a seeded fleet of two 8-GPU H100
 * nodes and one 4-GPU A10G node.
 */
describe('reservations API: validation, limits, idempotency, queue standing, ownership', () => {
  let app: TestApp;
  let alice: string;
  let bob: string;
  let carol: string;
  let admin: string;

  beforeAll(async () => {
    app = await startTestApp({
      roles: 'coordinator',
      env: {
        ODC_RATE_LIMIT_API_PER_MINUTE: '60000',
        ODC_MAX_GPUS_PER_USER: '16',
        ODC_MAX_GPUS_PER_USER_BY_TYPE: 'a10g=4',
      },
    });
    await seedFleet(app, 'east', [
      { name: 'h-0', gpuType: 'h100', gpus: 8 },
      { name: 'h-1', gpuType: 'h100', gpus: 8 },
      { name: 'a-0', gpuType: 'a10g', gpus: 4 },
    ]);
    alice = await keyFor(app, 'alice', ['reservations:read', 'reservations:write']);
    bob = await keyFor(app, 'bob', ['reservations:read', 'reservations:write']);
    carol = await keyFor(app, 'carol', ['reservations:read']);
    admin = await keyFor(app, 'root', ['reservations:read', 'reservations:write', 'audit:read'], {
      admin: true,
    });
  });

  afterAll(() => app.close());

  const reserve = (key: string, body: object, idempotencyKey?: string) => {
    const call = app.http().post('/api/v1/reservations').set('authorization', `Bearer ${key}`);
    return (idempotencyKey ? call.set('idempotency-key', idempotencyKey) : call).send(body);
  };
  const get = (key: string, path: string) => app.http().get(path).set('authorization', `Bearer ${key}`);
  const storePass = async () =>
    app
      .core()
      .get(QueueStandings, { strict: false })
      .store(await app.core().get(SchedulingStateReader, { strict: false }).plan());

  it('queues a valid request (202) with its place in the queue and an estimated wait', async () => {
    const res = await reserve(alice, { gpu_type: 'h100', gpu_count: 8, hours: 2, name: 'train' }).expect(202);
    expect(res.body).toMatchObject({
      owner: 'alice',
      name: 'train',
      gpu_type: 'h100',
      gpu_count: 8,
      hours: 2,
      status: 'queued',
      queue_position: 1,
      estimated_wait_seconds: 0,
      jupyter: false,
      secondary_users: [],
    });
    const shown = await get(alice, `/api/v1/reservations/${res.body.id}`).expect(200);
    expect(shown.body.events).toEqual([
      { at: expect.any(String), to: 'queued', message: 'Queued: 8 × h100 for 2 h' },
    ]);
  });

  it('estimates waits from when the reservations ahead end, not from a constant per position', async () => {
    // Alice's 8-GPU reservation (2 h) has one node; Bob takes the other for 3 h; Bob's next waits for Alice's.
    const second = await reserve(bob, { gpu_type: 'h100', gpu_count: 8, hours: 3 }).expect(202);
    expect(second.body).toMatchObject({ queue_position: 2, estimated_wait_seconds: 0 });
    const third = await reserve(bob, { gpu_type: 'h100', gpu_count: 4, hours: 1 }).expect(202);
    // The answer's estimate, before any pass: behind the two ahead, no sooner than they start.
    expect(third.body).toMatchObject({ queue_position: 3, estimated_wait_seconds: 0 });
    // The pass plans it: after Alice's, whose node frees first.
    await storePass();
    const planned = (await get(bob, `/api/v1/reservations/${third.body.id}`).expect(200)).body;
    expect(planned.queue_position).toBe(3);
    expect(planned.estimated_wait_seconds).toBeGreaterThan(2 * 3600 - 60);
    expect(planned.estimated_wait_seconds).toBeLessThanOrEqual(2 * 3600);

    const queue = await get(carol, '/api/v1/queue').expect(200);
    const h100 = queue.body.gpu_types.find((t: { gpu_type: string }) => t.gpu_type === 'h100');
    expect(h100.length).toBe(3);
    expect(h100.entries.map((e: { position: number }) => e.position)).toEqual([1, 2, 3]);
    // Carol sees the queue, not whose entries they are.
    expect(h100.entries.every((e: object) => !('owner' in e) && !('reservation_id' in e))).toBe(true);
    const asAdmin = await get(admin, '/api/v1/queue').expect(200);
    expect(asAdmin.body.gpu_types[0].entries.map((e: { owner: string }) => e.owner)).toEqual([
      'alice',
      'bob',
      'bob',
    ]);

    const availability = await get(carol, '/api/v1/availability').expect(200);
    expect(availability.body.gpu_types.find((t: { gpu_type: string }) => t.gpu_type === 'h100').queued).toBe(
      3,
    );
  });

  it('refuses what cannot be met, each with its own code', async () => {
    const cases: [object, number, string][] = [
      [{ gpu_type: 'v100', gpu_count: 1, hours: 1 }, 422, 'unknown_gpu_type'],
      [{ gpu_type: 'h100', gpu_count: 3, hours: 1 }, 422, 'invalid_gpu_count'],
      [{ gpu_type: 'h100', gpu_count: 1, hours: 0.05 }, 422, 'invalid_duration'],
      [{ gpu_type: 'h100', gpu_count: 1, hours: 25 }, 422, 'invalid_duration'],
      [{ gpu_type: 'a10g', gpu_count: 8, hours: 1 }, 422, 'no_node_large_enough'],
      [{ gpu_type: 'b200', gpu_count: 1, hours: 1 }, 422, 'gpu_type_not_offered'],
      [{ gpu_type: 'cpu-x86', gpu_count: 0, hours: 1 }, 422, 'gpu_type_not_offered'],
      [{ gpu_type: 'h100', gpu_count: 1, hours: 1, node_labels: { zone: 'mars' } }, 422, 'no_matching_node'],
      [{ gpu_type: 'H100', gpu_count: 1, hours: 1 }, 400, 'validation_failed'],
      [{ gpu_type: 'h100', gpu_count: 1 }, 400, 'validation_failed'],
      [{ gpu_type: 'h100', gpu_count: 1, hours: 1, image: 'not an image' }, 400, 'validation_failed'],
    ];
    for (const [body, status, code] of cases) {
      const res = await reserve(alice, body);
      expect([JSON.stringify(body), res.status, res.body.code]).toEqual([JSON.stringify(body), status, code]);
      expect(res.body.message).toEqual(expect.any(String));
    }
    const count = await reserve(alice, { gpu_type: 'h100', gpu_count: 3, hours: 1 });
    expect(count.body.details.allowed_counts).toEqual([1, 2, 4, 8]);
  });

  it('says what to change when no node could ever hold a request', async () => {
    const tooLarge = await reserve(alice, { gpu_type: 'a10g', gpu_count: 8, hours: 1 }).expect(422);
    expect(tooLarge.body).toMatchObject({
      code: 'no_node_large_enough',
      message: 'The largest a10g node offers 4 GPUs and a reservation never spans nodes: ask for at most 4',
      details: { largest_node_gpus: 4 },
    });
    const notOffered = await reserve(alice, { gpu_type: 'b200', gpu_count: 1, hours: 1 }).expect(422);
    expect(notOffered.body).toMatchObject({
      code: 'gpu_type_not_offered',
      message:
        'No cluster taking reservations offers b200 nodes now: choose another GPU type (gpu-dev avail lists what is offered)',
    });
    const unmatched = await reserve(alice, {
      gpu_type: 'h100',
      gpu_count: 1,
      hours: 1,
      node_labels: { zone: 'mars' },
    }).expect(422);
    expect(unmatched.body).toMatchObject({
      code: 'no_matching_node',
      message: 'No h100 node has the labels {"zone":"mars"}: change node_labels, or leave them out',
      details: { node_labels: { zone: 'mars' } },
    });
  });

  it('says only that a missing field is required, not every rule it would break', async () => {
    const frank = await keyFor(app, 'frank', ['reservations:read', 'reservations:write']);
    const queued = await reserve(frank, { gpu_type: 'h100', gpu_count: 1, hours: 1 }).expect(202);
    const extend = (body?: object) => {
      const call = app
        .http()
        .post(`/api/v1/reservations/${queued.body.id}/extend`)
        .set('authorization', `Bearer ${frank}`);
      return body ? call.send(body) : call;
    };
    expect((await extend({}).expect(400)).body).toMatchObject({
      code: 'validation_failed',
      message: 'hours is required',
      fields: [{ field: 'hours', problems: ['hours is required'] }],
    });
    expect((await extend().expect(400)).body.fields).toEqual([
      { field: 'body', problems: ['a JSON body (Content-Type: application/json) is required'] },
    ]);
    const missing = await reserve(frank, { gpu_type: 'h100' }).expect(400);
    expect(missing.body).toMatchObject({
      message: 'gpu_count and hours are required',
      fields: [
        { field: 'gpu_count', problems: ['gpu_count is required'] },
        { field: 'hours', problems: ['hours is required'] },
      ],
    });
    await app
      .http()
      .post(`/api/v1/reservations/${queued.body.id}/cancel`)
      .set('authorization', `Bearer ${frank}`)
      .expect(200);
  });

  it('holds each user to the GPU limits (all types and per type) and the queue limit', async () => {
    const dave = await keyFor(app, 'dave', ['reservations:read', 'reservations:write']);
    await reserve(dave, { gpu_type: 'a10g', gpu_count: 4, hours: 1 }).expect(202);
    const perType = await reserve(dave, { gpu_type: 'a10g', gpu_count: 1, hours: 1 }).expect(409);
    expect(perType.body).toMatchObject({ code: 'quota_exceeded', details: { limit: 4 } });
    await reserve(dave, { gpu_type: 'h100', gpu_count: 8, hours: 1 }).expect(202);
    const total = await reserve(dave, { gpu_type: 'h100', gpu_count: 8, hours: 1 }).expect(409);
    expect(total.body).toMatchObject({ code: 'quota_exceeded', details: { limit: 16 } });
    const queued = await reserve(dave, { gpu_type: 'h100', gpu_count: 1, hours: 1 }).expect(202);
    await reserve(dave, { gpu_type: 'h100', gpu_count: 1, hours: 1 }).expect(202);
    const full = await reserve(dave, { gpu_type: 'h100', gpu_count: 1, hours: 1 }).expect(409);
    expect(full.body.code).toBe('queue_limit_reached');
    // A cancelled reservation frees its place.
    await app
      .http()
      .post(`/api/v1/reservations/${queued.body.id}/cancel`)
      .set('authorization', `Bearer ${dave}`)
      .expect(200);
    await reserve(dave, { gpu_type: 'h100', gpu_count: 1, hours: 1 }).expect(202);
  });

  it('makes one reservation for one Idempotency-Key, however often and however concurrently it is sent', async () => {
    const erin = await keyFor(app, 'erin', ['reservations:read', 'reservations:write']);
    const body = { gpu_type: 'h100', gpu_count: 1, hours: 1 };
    const answers = await Promise.all(Array.from({ length: 10 }, () => reserve(erin, body, 'retry-me-0001')));
    expect(answers.map((a) => a.status)).toEqual(Array(10).fill(202));
    expect(new Set(answers.map((a) => a.body.id)).size).toBe(1);
    expect(answers.filter((a) => a.headers['idempotent-replayed'] === 'true')).toHaveLength(9);
    const mine = await get(erin, '/api/v1/reservations').expect(200);
    expect(mine.body.items).toHaveLength(1);
    const reused = await reserve(erin, { ...body, hours: 2 }, 'retry-me-0001').expect(422);
    expect(reused.body.code).toBe('idempotency_key_reused');
    await reserve(erin, body, 'bad key with spaces').expect(400);
  });

  it('shows each user only their own; admins see all; another user’s answers 404', async () => {
    const mine = await get(alice, '/api/v1/reservations').expect(200);
    expect(mine.body.items.map((r: { owner: string }) => r.owner)).toEqual(['alice']);
    const bobs = await get(bob, '/api/v1/reservations?status=queued').expect(200);
    expect(bobs.body.items).toHaveLength(2);
    await get(alice, `/api/v1/reservations/${bobs.body.items[0].id}`).expect(404);
    await app
      .http()
      .post(`/api/v1/reservations/${bobs.body.items[0].id}/cancel`)
      .set('authorization', `Bearer ${alice}`)
      .expect(404);
    await get(alice, '/api/v1/reservations?user=all').expect(403);
    const everyone = await get(admin, '/api/v1/reservations?user=all&limit=2').expect(200);
    expect(everyone.body.items).toHaveLength(2);
    const next = await get(
      admin,
      `/api/v1/reservations?user=all&limit=200&cursor=${everyone.body.next_cursor}`,
    ).expect(200);
    const ids = [...everyone.body.items, ...next.body.items].map((r: { id: string }) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    await get(alice, '/api/v1/reservations?status=sleeping').expect(400);
    await post(carol, `/api/v1/reservations/${bobs.body.items[0].id}/cancel`).expect(403); // read-only key

    function post(key: string, path: string) {
      return app.http().post(path).set('authorization', `Bearer ${key}`).send({});
    }
  });

  it('cancels a queued reservation once; a second cancel is refused with its state', async () => {
    const res = await reserve(bob, { gpu_type: 'h100', gpu_count: 1, hours: 1 }).expect(202);
    const cancel = () =>
      app
        .http()
        .post(`/api/v1/reservations/${res.body.id}/cancel`)
        .set('authorization', `Bearer ${bob}`)
        .send({});
    const cancelled = await cancel().expect(200);
    expect(cancelled.body).toMatchObject({ status: 'cancelled', status_reason: 'cancelled by bob' });
    expect(cancelled.body.events.map((e: { to: string }) => e.to)).toEqual(['queued', 'cancelled']);
    expect((await cancel().expect(409)).body.code).toBe('invalid_reservation_state');
    // Each change's audit record committed with it; the log shows them as soon as it is read.
    const audited = await get(admin, `/api/v1/audit?resource_id=${res.body.id}`).expect(200);
    expect(audited.body.items).toEqual([
      expect.objectContaining({ action: 'reservation.cancel', username: 'bob', outcome: 'success' }),
      expect.objectContaining({
        action: 'reservation.create',
        username: 'bob',
        request_metadata: { gpu_type: 'h100', gpu_count: 1, hours: 1 },
      }),
    ]);
  });

  it('stores each pass’s standings and reads them back without planning; a pass rewrites only what changed', async () => {
    await storePass();
    expect(await storePass()).toBe(0);
    const queue = await get(admin, '/api/v1/queue?limit=1').expect(200);
    const h100 = queue.body.gpu_types.find((t: { gpu_type: string }) => t.gpu_type === 'h100');
    // The head of the queue, however long it is, with the longest wait planned.
    expect(h100.entries.map((e: { position: number }) => e.position)).toEqual([1]);
    expect(h100.length).toBeGreaterThan(1);
    expect(h100.longest_wait_seconds).toBeGreaterThan(3600);
    // Beyond the head, the caller's own entries are shown where they stand.
    const bobs = await get(bob, '/api/v1/queue?limit=1').expect(200);
    const bobsH100 = bobs.body.gpu_types.find((t: { gpu_type: string }) => t.gpu_type === 'h100');
    expect(bobsH100.entries.filter((e: { owner?: string }) => e.owner === 'bob').length).toBeGreaterThan(0);
    expect((await get(bob, '/api/v1/queue?limit=0').expect(400)).body.code).toBe('validation_failed');
  });

  it('adds up availability per node as the database holds it: others’ pods, ODC’s claims, nodes not ready', async () => {
    const id = await seedFleet(app, 'rules', [
      { name: 'free', gpuType: 'l4', gpus: 4 },
      { name: 'others', gpuType: 'l4', gpus: 4, foreign: 3 },
      { name: 'claimed', gpuType: 'l4', gpus: 4 },
      { name: 'down', gpuType: 'l4', gpus: 4 },
    ]);
    const db = app.core().get(DataSource);
    await db.query(`UPDATE capacity SET ready = false WHERE cluster_id = $1 AND node_name = 'down'`, [id]);
    const [{ owner }] = await db.query<[{ owner: string }]>(
      `SELECT id AS owner FROM users WHERE username = 'alice'`,
    );
    await db.query(
      `INSERT INTO reservations (owner_id, gpu_type, gpu_count, duration_minutes, status, cluster_id, node_name, external_id, version)
       VALUES ($1, 'l4', 2, 60, 'active', $2, 'claimed', 'odc-rules-claim', 1)`,
      [owner, id],
    );
    const availability = await get(carol, '/api/v1/availability').expect(200);
    expect(availability.body.gpu_types.find((t: { gpu_type: string }) => t.gpu_type === 'l4')).toEqual({
      gpu_type: 'l4',
      total_gpus: 12,
      free_gpus: 4 + 1 + 2,
      max_reservable: 4,
      full_nodes_free: 1,
      nodes: 3,
      queued: 0,
      clusters: [
        {
          cluster: 'rules',
          accepting: true,
          total_gpus: 12,
          free_gpus: 7,
          max_reservable: 4,
          full_nodes_free: 1,
          nodes: 3,
        },
      ],
    });
    await db.query(`DELETE FROM reservations WHERE external_id = 'odc-rules-claim'`);
    await db.query(`UPDATE clusters SET enabled = false WHERE id = $1`, [id]);
  });

  it('lists the catalog', async () => {
    const types = await get(carol, '/api/v1/gpu-types').expect(200);
    expect(types.body.items.find((t: { name: string }) => t.name === 'h100')).toEqual({
      name: 'h100',
      display_name: 'NVIDIA H100 80 GB',
      gpu_memory_gb: 80,
      gpus_per_node: 8,
      allowed_counts: [1, 2, 4, 8],
      max_hours: 24,
    });
  });
});

/**
 * A pool's every connection held by a reserve's transaction: none of them may wait for another
 * connection of the same pool (each would wait for the others, and no reserve would ever answer).
 */
describe('reservations API: more reserves at once than the database pool has connections', () => {
  const POOL_SIZE = 2;
  const AT_ONCE = 8;
  let app: TestApp;
  let keys: string[];

  beforeAll(async () => {
    app = await startTestApp({
      roles: 'coordinator',
      env: { ODC_RATE_LIMIT_API_PER_MINUTE: '60000', ODC_DB_POOL_SIZE: String(POOL_SIZE) },
    });
    await seedFleet(app, 'east', [{ name: 'h-0', gpuType: 'h100', gpus: 8 }]);
    keys = [];
    for (let i = 0; i < AT_ONCE; i++) {
      keys.push(await keyFor(app, `user-${i}`, ['reservations:write']));
    }
  });

  afterAll(() => app.close());

  it('answers them all', async () => {
    const answers = await Promise.all(
      keys.map((key) =>
        app
          .http()
          .post('/api/v1/reservations')
          .set('authorization', `Bearer ${key}`)
          .send({ gpu_type: 'h100', gpu_count: 1, hours: 1 }),
      ),
    );
    expect(answers.map((answer) => answer.status)).toEqual(keys.map(() => 202));
  });
});

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { DataSource } from 'typeorm';
import { startTestApp, type TestApp } from '../support/app';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { eventually } from '../support/eventually';
import { isReady, listeningPorts, spawnOdc, type OdcProcess } from '../support/process';
import { h100Pool } from '../support/simulator';
import { keyFor } from '../support/users';
import {
  FAST_ENV,
  gpusFree,
  occupy,
  register,
  spawnWorker,
  startSite,
  usersWithKeys,
  statusCounts,
  type Site,
} from './harness';

/**
 * Real multi-process runs: this process holds the API and the cron; two worker replicas run as
 * their own processes on the same database, so their admission passes really race. On the real
 * API server (ODC_TEST_KUBE=real) every site is the tier's fleet with namespaces of its own, so a
 * test leaves the fleet as it found it.
 */
describe('reliability: placement across processes', () => {
  let database: TestDatabase;
  let app: TestApp;
  let adminKey: string;
  const workers: OdcProcess[] = [];
  const sites: Site[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    app = await startTestApp({
      roles: 'coordinator,cron',
      database,
      env: { ...FAST_ENV, ODC_LOG_LEVEL: 'info' },
    });
    adminKey = await keyFor(app, 'ops', ['clusters:admin', 'reservations:read', 'reservations:write'], {
      admin: true,
    });
    workers.push(spawnWorker(database), spawnWorker(database));
    await Promise.all(workers.map((worker) => worker.waitFor(isReady)));
  });

  afterAll(async () => {
    for (const worker of workers) {
      worker.child.kill('SIGKILL');
    }
    await app.close();
    await Promise.all(sites.map((site) => site.close()));
    await database.drop();
  });

  const as = (key: string) => ({
    reserve: (body: object, headers: Record<string, string> = {}) =>
      app.http().post('/api/v1/reservations').set('authorization', `Bearer ${key}`).set(headers).send(body),
    list: (query: string) =>
      app.http().get(`/api/v1/reservations?${query}`).set('authorization', `Bearer ${key}`).expect(200),
  });
  const counts = () => statusCounts(app);
  const cancelAll = async () => {
    const live = await as(adminKey).list('user=all&limit=200&status=queued,placing,provisioning,active');
    await app
      .core()
      .get(DataSource)
      .query(`UPDATE reservations SET status = 'cancelled' WHERE status = 'queued'`);
    for (const r of live.body.items as { id: string; status: string }[]) {
      if (r.status !== 'queued') {
        await app
          .http()
          .post(`/api/v1/reservations/${r.id}/cancel`)
          .set('authorization', `Bearer ${adminKey}`)
          .send({});
      }
    }
    await eventually(
      counts,
      (counts) => !counts.placing && !counts.provisioning && !counts.active && !counts.ending,
      30_000,
    );
  };

  it('100 users at once for 8 free GPUs (3, 3 and 2 on three nodes): 8 admitted, the rest queued in distinct places, no node overbooked', async () => {
    const east = await startSite('east', [h100Pool(3)]);
    sites.push(east);
    // Another team holds the rest of the H100 fleet (16 of 24 GPUs on the simulator, 24 of 32 on
    // the real tier's): no node has room for a reservation of 4.
    const leave = [3, 3, 2];
    const fleet = [...(await gpusFree(east)).entries()];
    for (const [i, [node, free]] of fleet.entries()) {
      if (free > (leave[i] ?? 0)) {
        await occupy(east, `held-${i}`, free - (leave[i] ?? 0), node);
      }
    }
    const free = (nodes: Map<string, number>) => [...nodes.values()];
    await eventually(
      () => gpusFree(east),
      (nodes) => free(nodes).join() === fleet.map((_, i) => leave[i] ?? 0).join(),
    );
    const eastId = await register(app, adminKey, east);
    const keys = await usersWithKeys(app, 100);
    const answers = await Promise.all(
      keys.map((key) => as(key).reserve({ gpu_type: 'h100', gpu_count: 1, hours: 1 })),
    );
    expect(answers.map((a) => a.status)).toEqual(Array(100).fill(202));

    await eventually(counts, (c) => c.active === 8 && c.queued === 92, 30_000);
    const queue = async () =>
      (await app.http().get('/api/v1/queue').set('authorization', `Bearer ${adminKey}`).expect(200)).body
        .gpu_types[0].entries as { position: number; reservation_id: string }[];
    const positions = async () => (await queue()).map((entry) => entry.position);
    await eventually(positions, (seen) => seen.join() === Array.from({ length: 92 }, (_, i) => i + 1).join());
    // The head of the queue leaves. Only an admission pass run after that renumbers the others: once
    // they read 1..91, the workers have planned on the full fleet again, and admitted nothing.
    const head = (await queue())[0]!;
    await app
      .http()
      .post(`/api/v1/reservations/${head.reservation_id}/cancel`)
      .set('authorization', `Bearer ${adminKey}`)
      .send({})
      .expect(200);
    await eventually(positions, (seen) => seen.join() === Array.from({ length: 91 }, (_, i) => i + 1).join());
    expect(await counts()).toEqual({ active: 8, queued: 91, cancelled: 1 });
    // Every node exactly full: none overbooked (fewer than 0 free), none left with room.
    expect(free(await gpusFree(east))).toEqual(fleet.map(() => 0));

    await cancelAll();
    // East and its other team leave: the next tests have the fleet (on the real tier, the same one).
    await app
      .http()
      .post(`/api/v1/clusters/${eastId}/disable`)
      .set('authorization', `Bearer ${adminKey}`)
      .expect(200);
    sites.splice(sites.indexOf(east), 1);
    await east.close();
  }, 90_000);

  it('a cluster whose deployer answers 5xx: reservations bounce off it and land on the next one', async () => {
    const [bad, good] = [await startSite('bad', [h100Pool(2)]), await startSite('good', [h100Pool(2)])];
    sites.push(bad, good);
    const proxy = await failingApplyProxy(bad.url);
    try {
      await register(app, adminKey, { ...bad, url: proxy.url }, 10); // preferred
      await register(app, adminKey, good, 100);
      const keys = await usersWithKeys(app, 4, 'five-xx-');
      const made = await Promise.all(
        keys.map((key) => as(key).reserve({ gpu_type: 'h100', gpu_count: 4, hours: 1 }).expect(202)),
      );
      const shown = await Promise.all(
        made.map((res, i) =>
          eventually(
            async () =>
              (
                await app
                  .http()
                  .get(`/api/v1/reservations/${res.body.id}`)
                  .set('authorization', `Bearer ${keys[i]}`)
              ).body as {
                status: string;
                cluster?: string;
                events: { message: string }[];
              },
            (r) => r.status === 'active',
            30_000,
          ),
        ),
      );
      expect(shown.map((r) => r.cluster)).toEqual(['good', 'good', 'good', 'good']);
      expect(
        shown.every((r) =>
          r.events.some((e) => e.message.startsWith('Back to the queue: bad could not take it')),
        ),
      ).toBe(true);
      expect(proxy.refusedApplies()).toBeGreaterThanOrEqual(4);
      expect((await bad.k.apps.listNamespacedDeployment({ namespace: bad.namespace })).items).toEqual([]);
      await cancelAll();
    } finally {
      await proxy.close();
    }
  }, 90_000);

  it('the same Idempotency-Key sent 10 times to two coordinator processes makes one reservation', async () => {
    const second = spawnOdc({
      ...FAST_ENV,
      ODC_ROLES: 'coordinator',
      DATABASE_URL: database.url,
      ODC_HOST: '127.0.0.1',
      ODC_PORT: '0',
    });
    workers.push(second);
    await second.waitFor(isReady);
    const [port] = listeningPorts(second.child.pid!);
    const key = await keyFor(app, 'idem', ['reservations:read', 'reservations:write']);
    const body = { gpu_type: 'h100', gpu_count: 1, hours: 1 };
    const viaSecond = async () => {
      const res = await request(`http://127.0.0.1:${port}/api/v1/reservations`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${key}`,
          'content-type': 'application/json',
          'idempotency-key': 'once-only-42',
        },
        body: JSON.stringify(body),
      });
      return { status: res.statusCode, body: (await res.body.json()) as { id: string } };
    };
    const viaFirst = async () => {
      const res = await as(key).reserve(body, { 'idempotency-key': 'once-only-42' });
      return { status: res.status, body: res.body as { id: string } };
    };
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? viaFirst() : viaSecond())),
    );
    expect(answers.map((a) => a.status)).toEqual(Array(10).fill(202));
    expect(new Set(answers.map((a) => a.body.id)).size).toBe(1);
    const mine = await as(key).list('limit=50');
    expect(mine.body.items).toHaveLength(1);
  }, 60_000);
});

/** In front of a deployer: everything passes, except applying a deployment, which gets a 500. */
async function failingApplyProxy(
  target: string,
): Promise<{ url: string; refusedApplies(): number; close(): Promise<void> }> {
  let refused = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/api/v1/deployments') {
        refused += 1;
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ code: 'internal_error', message: 'injected failure', requestId: 'x' }));
        return;
      }
      request(`${target}${req.url}`, {
        method: req.method as 'GET',
        headers: { ...req.headers, host: new URL(target).host },
        body: chunks.length > 0 ? Buffer.concat(chunks) : undefined,
      }).then(
        async (upstream) => {
          res.writeHead(upstream.statusCode, {
            'content-type': String(upstream.headers['content-type'] ?? 'application/json'),
          });
          res.end(Buffer.from(await upstream.body.arrayBuffer()));
        },
        () => res.writeHead(502).end(),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    refusedApplies: () => refused,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

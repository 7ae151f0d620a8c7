/**
 * Reads at scale, and the event loop while admission plans a deep queue. A fresh database holds
 * 50,000 reservations — 10,000 queued, 10,000 active (the fleet full: one 8-GPU reservation on
 * every node), 30,000 ended — and 10 clusters × 1,000 nodes of 8 GPUs (h100 and a100), written
 * straight to the database as the capacity sync and the reservation path would leave them. One ODC
 * process with the coordinator and worker roles serves them (a child process, as deployed; the load
 * runs here): its worker's admission pass plans the whole queue every
 * ODC_ADMISSION_INTERVAL_SECONDS (0.5 here, so a pass is nearly always running). The cron role is
 * left out: its rounds would ask deployers that are not there about reservations they never ran.
 *
 * Figures, with their bounds: `/livez` latency from one client polling every 20 ms while the passes
 * run (p99 ≤ 100 ms), the passes' own duration (from /metrics), and p50/p99 of
 * `GET /api/v1/reservations` (a user's own, and an admin's `?user=all`), `/api/v1/queue` and
 * `/api/v1/availability` at 8 concurrent keep-alive clients (p99 ≤ 50 ms each); the last two also
 * computed for every request (ODC_SHARED_READS_MAX_AGE_SECONDS=0) as the baseline.
 * BENCH_READS_SECONDS sets each measurement's length (default 10).
 */
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { Pool } from 'undici';
import { startRuntime } from '../src/app/runtime';
import { withDatabase } from '../src/infra/database/database-url';
import { loadAppConfig } from '../src/app/config';
import { startBenchProcess } from './processes';
import { fmt, httpLoad, keyFor, percentile, report, withAdmin, type BenchDatabase } from './support';

const CLUSTERS = 10;
const NODES_PER_CLUSTER = 1000;
const QUEUED = 10_000;
const ENDED = 30_000;
const USERS = 500;
const OWN = 60;
const CONCURRENCY = 8;
const SECONDS = Number(process.env.BENCH_READS_SECONDS ?? 10);
const BOUNDS = { livezP99Ms: 100, readP99Ms: 50 };

const verdict = (ok: boolean) => (ok ? 'PASS' : 'FAIL');

/** The fleet and its reservations, in a few statements (the database does the loops). */
export async function seed(url: string, reader: string): Promise<void> {
  await withAdmin(url, async (client) => {
    await client.query(`INSERT INTO users (username) SELECT 'user-' || i FROM generate_series(1, $1) i`, [
      USERS,
    ]);
    await client.query(
      `INSERT INTO clusters (name, deployer_url, status, priority)
       SELECT 'bench-' || i, 'http://127.0.0.1:9', 'healthy', 100 FROM generate_series(1, $1) i`,
      [CLUSTERS],
    );
    await client.query(
      `INSERT INTO capacity (cluster_id, node_name, gpu_type, allocatable_gpus, used_gpus, managed_gpus, ready,
                             schedulable, seen_at, zone, labels)
       SELECT c.id, c.name || '-node-' || n, CASE WHEN n % 10 < 7 THEN 'h100' ELSE 'a100' END, 8, 8, 8, true, true,
              now(), 'zone-' || (n % 3), '{}'::jsonb
       FROM clusters c CROSS JOIN generate_series(1, $1) n`,
      [NODES_PER_CLUSTER],
    );
    // Owners spread over the users: the g-th row's is one of them, by a stride.
    const users = `(SELECT array_agg(id ORDER BY username) AS ids FROM users WHERE username LIKE 'user-%') u`;
    const owner = `u.ids[1 + (g * 7919) % ${USERS}]`;
    // Active: one 8-GPU reservation on every node, ending over the next day.
    await client.query(
      `INSERT INTO reservations (owner_id, gpu_type, gpu_count, duration_minutes, status, cluster_id, node_name,
                                 external_id, started_at, expires_at, version, created_at)
       SELECT ${owner}, c.gpu_type, 8, 1440, 'active', c.cluster_id, c.node_name, 'odc-a' || md5(c.node_name),
              now() - interval '1 hour', now() + (random() * 1440) * interval '1 minute', 1, now() - interval '2 hours'
       FROM (SELECT *, row_number() OVER () AS g FROM capacity) c, ${users}`,
    );
    await client.query(
      `INSERT INTO reservations (owner_id, gpu_type, gpu_count, duration_minutes, status, external_id, version,
                                 created_at)
       SELECT ${owner}, CASE WHEN g % 10 < 7 THEN 'h100' ELSE 'a100' END, (ARRAY[1, 1, 1, 1, 2, 2, 2, 4, 4, 8])[1 + g % 10],
              60 * (1 + g % 24), 'queued', 'odc-q' || g, 1, now() - (g % 7200) * interval '1 second'
       FROM generate_series(1, $1) g, ${users}`,
      [QUEUED],
    );
    await client.query(
      `INSERT INTO reservations (owner_id, gpu_type, gpu_count, duration_minutes, status, external_id, version,
                                 created_at, ended_at)
       SELECT ${owner}, 'h100', 1, 60, (ARRAY['completed', 'cancelled', 'failed'])[1 + g % 3], 'odc-e' || g, 1,
              now() - (g % 90) * interval '1 day', now() - (g % 90) * interval '1 day' + interval '1 hour'
       FROM generate_series(1, $1) g, ${users}`,
      [ENDED],
    );
    // The reader's own: a page's worth, some of each.
    await client.query(
      `INSERT INTO reservations (owner_id, gpu_type, gpu_count, duration_minutes, status, external_id, version,
                                 created_at)
       SELECT (SELECT id FROM users WHERE username = $1), 'h100', 1, 60,
              (ARRAY['queued', 'completed', 'cancelled'])[1 + g % 3], 'odc-r' || g, 1, now() - g * interval '1 minute'
       FROM generate_series(1, $2) g`,
      [reader, OWN],
    );
    await client.query('ANALYZE');
  });
}

/** Polls `/livez` every 20 ms for `ms`: the latencies. */
async function pollLivez(origin: string, ms: number): Promise<number[]> {
  const pool = new Pool(origin, { connections: 1 });
  const latencies: number[] = [];
  const deadline = performance.now() + ms;
  while (performance.now() < deadline) {
    const started = performance.now();
    const res = await pool.request({ path: '/livez', method: 'GET' });
    await res.body.text();
    latencies.push(performance.now() - started);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await pool.close();
  return latencies;
}

/** The admission passes' count and total seconds so far, from the ops listener's /metrics. */
async function passes(ops: string): Promise<{ count: number; sum: number }> {
  const text = await (await fetch(`${ops}/metrics`)).text();
  const value = (name: string) =>
    Number(/^(\S+) (\S+)$/m.exec(text.split('\n').find((line) => line.startsWith(name)) ?? '')?.[2] ?? 0);
  return { count: value('odc_admission_pass_seconds_count'), sum: value('odc_admission_pass_seconds_sum') };
}

/** Waits until the process has run an admission pass (the queue's standings are stored). */
async function firstPass(origin: string): Promise<void> {
  for (let tries = 0; (await passes(origin)).count < 1 && tries < 600; tries++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The event loop: one process with the coordinator and worker roles, a pass nearly always running. */
async function eventLoopWhilePlanning(common: Record<string, string>): Promise<void> {
  const odc = await startBenchProcess<{ api: string }>('role-process.js', {
    ...common,
    ODC_ROLES: 'coordinator,worker',
    ODC_PORT: '0',
    ODC_ADMISSION_INTERVAL_SECONDS: '0.5',
  });
  try {
    // The API listener also serves /metrics when the process is a coordinator.
    const { api } = odc.ready;
    await firstPass(api);
    const before = await passes(api);
    const livez = await pollLivez(api, SECONDS * 1000);
    const after = await passes(api);
    const passCount = after.count - before.count;
    const livezP99 = percentile(livez, 99);
    report('Event loop while admission plans 10,000 queued on 10,000 nodes (coordinator + worker process)', [
      {
        'passes in window': passCount,
        'pass mean ms': passCount > 0 ? fmt(((after.sum - before.sum) / passCount) * 1000) : 'n/a',
        '/livez p50 ms': fmt(percentile(livez, 50)),
        '/livez p99 ms': fmt(livezP99),
        '/livez max ms': fmt(Math.max(...livez)),
        bound: `p99 ≤ ${BOUNDS.livezP99Ms} ms`,
        result: verdict(passCount > 0 && livezP99 <= BOUNDS.livezP99Ms),
      },
    ]);
  } finally {
    await odc.close();
  }
}

/**
 * The reads, as deployed at this scale (role-scoped replicas: a coordinator, and a worker in a
 * process of its own running its passes at the default interval, on the same 2 cores).
 */
async function readsAtScale(
  common: Record<string, string>,
  readerKey: string,
  adminKey: string,
): Promise<void> {
  const worker = await startBenchProcess<{ ops: string }>('role-process.js', {
    ...common,
    ODC_ROLES: 'worker',
    ODC_OPS_PORT: '0',
  });
  try {
    await firstPass(worker.ready.ops);
    const shared = await measureReads(common, [
      ['own reservations', '/api/v1/reservations', readerKey],
      ['all reservations (admin)', '/api/v1/reservations?user=all', adminKey],
      ['queue', '/api/v1/queue', readerKey],
      ['availability', '/api/v1/availability', readerKey],
    ]);
    // The baseline: the fleet-wide reads computed for every request instead of shared.
    const perRequest = await measureReads({ ...common, ODC_SHARED_READS_MAX_AGE_SECONDS: '0' }, [
      ['queue', '/api/v1/queue', readerKey],
      ['availability', '/api/v1/availability', readerKey],
    ]);
    const rows = shared.map(({ what, load }) => {
      const baseline = perRequest.find((other) => other.what === what)?.load;
      return {
        read: what,
        'req/s': fmt(load.rps),
        'p50 ms': fmt(load.p50),
        'p99 ms': fmt(load.p99),
        'per request: p99 ms': baseline ? fmt(baseline.p99) : '',
        'p99 ratio': baseline ? fmt(baseline.p99 / load.p99) : '',
        bound: `p99 ≤ ${BOUNDS.readP99Ms} ms`,
        result: verdict(load.p99 <= BOUNDS.readP99Ms),
      };
    });
    report(`Reads: 50,000 reservations (10,000 queued), 10 × 1,000 nodes, ${CONCURRENCY} clients`, rows);
  } finally {
    await worker.close();
  }
}

/** Each read at CONCURRENCY clients, through a coordinator of its own started with `env`. */
async function measureReads(
  env: Record<string, string>,
  reads: [what: string, path: string, key: string][],
): Promise<{ what: string; load: Awaited<ReturnType<typeof httpLoad>> }[]> {
  const coordinator = await startBenchProcess<{ api: string }>('role-process.js', {
    ...env,
    ODC_ROLES: 'coordinator',
    ODC_PORT: '0',
  });
  try {
    const measured = [];
    for (const [what, path, key] of reads) {
      const load = await httpLoad(coordinator.ready.api, path, {
        concurrency: CONCURRENCY,
        durationMs: SECONDS * 1000,
        headers: { authorization: `Bearer ${key}` },
      });
      measured.push({ what, load });
    }
    return measured;
  } finally {
    await coordinator.close();
  }
}

export async function benchReads(database: BenchDatabase): Promise<void> {
  const name = `odc_bench_reads_${randomBytes(4).toString('hex')}`;
  await withAdmin(database.url, (client) => client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`));
  const url = withDatabase(database.url, name);
  const common = {
    NODE_ENV: 'production',
    DATABASE_URL: url,
    ODC_HOST: '127.0.0.1',
    ODC_LOG_LEVEL: 'warn',
    ODC_MASTER_KEY: randomBytes(32).toString('base64'),
    ODC_RATE_LIMIT_API_PER_MINUTE: '100000000',
    ODC_SHUTDOWN_TIMEOUT_SECONDS: '5',
  };
  try {
    // Keys from a short-lived coordinator (it also migrates the schema); then the fleet.
    const setup = await startRuntime({
      config: loadAppConfig({ ...common, ODC_ROLES: 'coordinator', ODC_PORT: '0' }),
      logger: pino({ level: 'warn' }),
    });
    const readerKey = await keyFor(setup, 'reader', ['reservations:read']);
    const adminKey = await keyFor(setup, 'root', ['reservations:read'], true);
    await setup.close();
    const seeding = performance.now();
    await seed(url, 'reader');
    console.log(
      `seeded ${CLUSTERS * NODES_PER_CLUSTER} nodes and ${QUEUED + ENDED + CLUSTERS * NODES_PER_CLUSTER + OWN} reservations in ${fmt((performance.now() - seeding) / 1000)} s`,
    );

    await eventLoopWhilePlanning(common);
    await readsAtScale(common, readerKey, adminKey);
  } finally {
    await withAdmin(database.url, (client) =>
      client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(name)} WITH (FORCE)`),
    );
  }
}

/**
 * Reservations end to end at fleet scale, with the control plane as role-scoped replicas are
 * deployed, each in a process of its own: the coordinator (the API) on a fresh database, and one
 * worker-and-cron replica; 3 simulated clusters of 50 nodes × 8 H100 each run with their deployers
 * in a process per cluster (bench/fleet.ts), as remote clusters do, all on the same machine's 2
 * cores. This process only runs the load and measures, so its CPU counts apart and never delays
 * the coordinator's event loop. CLIENTS users, each in a loop: POST
 * /api/v1/reservations (1, 2, 4 or 8 GPUs, weighted toward small), wait until it is active, POST
 * …/cancel, again. One watcher lists the active reservations (admin, `?user=all&status=active`)
 * every POLL_MS for all of them: per-client polling at that rate would be CLIENTS × 40 requests/s
 * to the coordinator, and would measure the poll, not the reservations. Figures come from a
 * measured window after a warm-up: sustained reservations/s reaching active (seen by the watcher),
 * the reserve API's latency (client side), reserve→active (client side, and from the
 * reservation's own events split into its phases), then where the time went: admission passes,
 * deployer calls, each replica's event loop, the CPU of the coordinator, the worker, the fleet,
 * PostgreSQL and the load per reservation, PostgreSQL's table counters. Then the same with 20 ms
 * added to every Kubernetes API call, and last, the first run's setting again with the clients
 * paced at half the rate it sustained (an open loop), for the reserve API's latency below saturation.
 *
 * Then the control plane alone: the same load (STUB_CLIENTS clients, more, since each cycle is
 * shorter) against a stub fleet, 3 deployers answering from memory (bench/stub-deployer.ts, a
 * process each, so their CPU counts apart), whose pods are ready as soon as they are applied: what
 * ODC sustains when the clusters cost next to nothing, with the CPU per reservation of each
 * process. Its own paced run follows, at half its rate.
 *
 * Two baselines, same machine, same run, same number of clients. A raw PostgreSQL queue on the
 * same database (insert a row, 4 workers claim queued rows in batches with `FOR UPDATE SKIP
 * LOCKED` and set them active, the client is told at once and marks its row cancelled): the floor
 * of a queue-backed reserve→active. And the Kubernetes floor: the fleet alone applying and deleting
 * a reservation's objects through its deployers, with no control plane (see kubernetesFloor).
 *
 * The deployers' client-side Kubernetes rate limit is lifted (as in bench/deployer): at the default
 * 100 QPS a cluster's deployer caps provisioning and teardown far below the target by design.
 * Environment overrides for exploration: BENCH_RESERVATIONS_CLIENTS, BENCH_RESERVATIONS_SECONDS,
 * BENCH_RESERVATIONS_LATENCIES (comma list of ms), BENCH_RESERVATIONS_SQL=1 (counts each
 * replica's SQL statements in the window, by statement and by caller, per reservation, and the
 * worker's per admission pass), BENCH_CHILD_CPU_PROFILE (a directory: a CPU profile of each child
 * process's whole run, the coordinator's included, for Chrome DevTools or speedscope; see
 * bench/processes.ts), BENCH_RESERVATIONS_PACED=0 (skips the paced runs), BENCH_RESERVATIONS_FLEET
 * (`simulated`, `stub` or both, the default), BENCH_RESERVATIONS_PACE_SHARES (the paced runs' rates as
 * shares of the saturated one, a comma list; default 0.5, the target's), BENCH_RESERVATIONS_STUB_CLIENTS,
 * BENCH_RESERVATIONS_STUB_READY_MS (the stub's pods turn ready this long after their apply;
 * default 0). Each replica's process has this module preloaded: it measures its own window between
 * two SIGUSR2s (its event loop utilization, and its statements when counting).
 *
 * Targets: reserve→active ≥ 0.8 × the Kubernetes floor of the same run at 0 and at 20 ms; ≥ 200/s
 * against the stub fleet; reserve p99 ≤ 50 ms paced at half the saturated rate.
 */
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance, type EventLoopUtilization } from 'node:perf_hooks';
import { Client, Pool as PgPool } from 'pg';
import { DataSource } from 'typeorm';
import { Pool } from 'undici';
import { sampleReservationSpec } from '../src/deployer/sample-spec';
import { loadAppConfig, type AppConfig } from '../src/app/config';
import { dataSourceOptions } from '../src/app/entities';
import { withDatabase } from '../src/infra/database/database-url';
import { identicalClusters, registerClusters, startFleet, waitForCapacity, type Fleet } from './fleet';
import { startBenchProcess, type BenchProcess } from './processes';
import type { StubDeployerStats } from './stub-deployer';
import {
  benchApi,
  fmt,
  issueKey,
  percentile,
  report,
  withAdmin,
  type BenchApi,
  type BenchDatabase,
} from './support';

const CLUSTERS = 3;
const NODES_PER_CLUSTER = 50;
const GPUS_PER_NODE = 8;
const H100 = 'NVIDIA-H100-80GB-HBM3';
const NAMESPACE = 'gpu-dev';
const DEPLOYER_TOKEN = `bench-deployer-${randomBytes(12).toString('hex')}`;
const CLIENTS = Number(process.env.BENCH_RESERVATIONS_CLIENTS ?? 96);
/** Against the stub fleet a cycle is shorter: more clients keep it saturated. */
const STUB_CLIENTS = Number(process.env.BENCH_RESERVATIONS_STUB_CLIENTS ?? 256);
const STUB_READY_MS = Number(process.env.BENCH_RESERVATIONS_STUB_READY_MS ?? 0);
const FLEETS = (process.env.BENCH_RESERVATIONS_FLEET ?? 'simulated,stub').split(',');
const WARM_UP_MS = 4000;
const MEASURE_MS = Number(process.env.BENCH_RESERVATIONS_SECONDS ?? 15) * 1000;
/** After the window: clients finish the reservation they hold, within this. */
const WIND_DOWN_MS = 10_000;
const POLL_MS = 25;
const LATENCIES_MS = (process.env.BENCH_RESERVATIONS_LATENCIES ?? '0,20').split(',').map(Number);
/** 1, 2, 4 or 8 GPUs: 40 %, 30 %, 20 %, 10 %. */
const GPU_COUNTS = [1, 1, 1, 1, 2, 2, 2, 4, 4, 8];
const BASELINE_WORKERS = 4;
const BASELINE_BATCH = 50;
const BASELINE_WARM_UP_MS = 1000;
const BASELINE_MS = 5000;
const COUNT_SQL = process.env.BENCH_RESERVATIONS_SQL === '1';
/** After each fleet's saturating runs, one paced at half the 0 ms run's rate (BENCH_RESERVATIONS_PACED=0: not). */
const PACED = process.env.BENCH_RESERVATIONS_PACED !== '0';
/** The paced runs' rates, as shares of the saturated one; the target is at 0.5. */
const PACE_SHARES = (process.env.BENCH_RESERVATIONS_PACE_SHARES ?? '0.5').split(',').map(Number);
const TARGET_PACE_SHARE = 0.5;
/** The targets in the header. */
const TARGETS = { ofFloor: 0.8, floorLatenciesMs: [0, 20], stubPerSecond: 200, pacedReserveP99Ms: 50 };

/** Percentiles of nothing are NaN (not a crash). */
const p = (values: number[], q: number) => (values.length > 0 ? percentile(values, q) : Number.NaN);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------
// Measurements

interface Cycle {
  id: string;
  /** performance.now() just before POST /reservations. */
  reservedAt: number;
  reserveMs: number;
  /** performance.now() when the watcher first saw it active. */
  activeAt?: number;
}

/** Ms in each phase, from the reservation's events (database clock). */
interface Phases {
  queued: number;
  placing: number;
  provisioning: number;
  total: number;
}

interface Histo {
  sum: number;
  count: number;
  buckets: Map<number, number>;
}

/** One histogram's totals over the label sets that contain every `filter` fragment. */
function histogram(metrics: string, name: string, filter: string[] = []): Histo {
  const result: Histo = { sum: 0, count: 0, buckets: new Map() };
  for (const line of metrics.split('\n')) {
    if (!line.startsWith(name) || !filter.every((f) => line.includes(f))) {
      continue;
    }
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (line.startsWith(`${name}_sum`)) {
      result.sum += value;
    } else if (line.startsWith(`${name}_count`)) {
      result.count += value;
    } else if (line.startsWith(`${name}_bucket`)) {
      const le = /le="([^"]+)"/.exec(line)?.[1];
      const bound = le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le);
      result.buckets.set(bound, (result.buckets.get(bound) ?? 0) + value);
    }
  }
  return result;
}

function minus(after: Histo, before: Histo): Histo {
  return {
    sum: after.sum - before.sum,
    count: after.count - before.count,
    buckets: new Map([...after.buckets].map(([le, n]) => [le, n - (before.buckets.get(le) ?? 0)])),
  };
}

/** Prometheus-style quantile from cumulative buckets (linear within the bucket), in ms. */
function quantileMs(h: Histo, q: number): number {
  if (h.count === 0) {
    return Number.NaN;
  }
  const rank = q * h.count;
  let lower = 0;
  let below = 0;
  for (const [le, n] of [...h.buckets].sort(([a], [b]) => a - b)) {
    if (n >= rank) {
      if (le === Number.POSITIVE_INFINITY) {
        return lower * 1000;
      }
      return (lower + ((le - lower) * (rank - below)) / Math.max(1, n - below)) * 1000;
    }
    lower = le;
    below = n;
  }
  return lower * 1000;
}

const meanMs = (h: Histo) => (h.count > 0 ? (h.sum / h.count) * 1000 : Number.NaN);

/** Each replica's GET /metrics. */
interface ReplicaMetrics {
  coordinator: string;
  workers: string;
}

/** Both texts as one: each histogram is the one replica's that has it, or their sum. */
const bothReplicas = (metrics: ReplicaMetrics) => `${metrics.coordinator}\n${metrics.workers}`;

/** An unlabelled gauge's value, NaN when absent. */
function gauge(metrics: string, name: string): number {
  const line = metrics.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.slice(name.length + 1)) : Number.NaN;
}

/**
 * A replica's event loop delay in ms, from prom-client's default metrics (`odc_` prefix): its
 * monitor is reset at each scrape, so these cover the time since the previous one.
 */
function eventLoopLag(metrics: string): { p50: number; p99: number; max: number } {
  const ms = (quantile: string) => gauge(metrics, `odc_nodejs_eventloop_lag_${quantile}_seconds`) * 1000;
  return { p50: ms('p50'), p99: ms('p99'), max: ms('max') };
}

/** /proc/<pid>/stat's fields after the command name: [state, ppid, …, utime (11), stime (12), …]. */
function procStat(pid: number | string): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined; // gone meanwhile
  }
}

/** The bench server's postmaster: the parent of one of its backends (NaN when not on this machine). */
async function postmasterOf(db: DataSource): Promise<number> {
  const [{ pid }] = await db.query<[{ pid: number }]>('SELECT pg_backend_pid() AS pid');
  return Number(procStat(pid)?.[1]);
}

/** CPU seconds (user + system) of the bench's PostgreSQL server: its postmaster and its children. */
function postgresCpuSeconds(postmaster: number): number {
  if (Number.isNaN(postmaster)) {
    return Number.NaN; // a server on another machine (DATABASE_URL)
  }
  const ticks = 100; // USER_HZ on Linux
  let total = 0;
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    const fields = procStat(pid);
    if (fields && (Number(pid) === postmaster || Number(fields[1]) === postmaster)) {
      total += (Number(fields[11]) + Number(fields[12])) / ticks;
    }
  }
  return total;
}

/** CPU seconds (all but idle and iowait) the whole machine spent, from /proc/stat. */
function machineCpuSeconds(): number {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, , , irq, softirq, steal] = fields;
  return (user! + nice! + system! + irq! + softirq! + steal!) / 100;
}

interface PgStats {
  database: { commits: number; rollbacks: number; returned: number; fetched: number };
  tables: Map<
    string,
    { seqScans: number; seqRows: number; idxScans: number; inserts: number; updates: number }
  >;
}

/** The database's counters (flushed by each backend at most once a second: read over a long window). */
async function pgStats(db: DataSource): Promise<PgStats> {
  const [database] = await db.query<[PgStats['database']]>(
    `SELECT xact_commit::float8 AS commits, xact_rollback::float8 AS rollbacks,
            tup_returned::float8 AS returned, tup_fetched::float8 AS fetched
     FROM pg_stat_database WHERE datname = current_database()`,
  );
  const rows = await db.query<
    ({ name: string } & (PgStats['tables'] extends Map<string, infer T> ? T : never))[]
  >(
    `SELECT schemaname || '.' || relname AS name, seq_scan::float8 AS "seqScans", seq_tup_read::float8 AS "seqRows",
            coalesce(idx_scan, 0)::float8 AS "idxScans", n_tup_ins::float8 AS inserts, n_tup_upd::float8 AS updates
     FROM pg_stat_user_tables`,
  );
  return { database, tables: new Map(rows.map(({ name, ...counts }) => [name, counts])) };
}

/**
 * Statements sent by every pg client of a replica's process (TypeORM, pg-boss) while `counting`,
 * by their text with literals and parameters folded: what one reservation costs in round trips.
 */
const sqlCounts = new Map<string, number>();
const sqlOrigins = new Map<string, number>();

/**
 * The outermost function of ODC's code that led to it (async frames included) and, when another,
 * the innermost (`outer › inner`), else its library.
 */
function originOf(stack: string): string {
  // Not the counting wrapper's own frame (this file's prototype.query).
  const frames = stack
    .split('\n')
    .slice(1)
    .filter((frame) => !frame.includes('reservations.bench.js'));
  const own = frames
    .map((frame) => /at (?:async )?(\S+) \(.*\/dist\/src\/.*\.js:\d+:\d+\)/.exec(frame)?.[1])
    .filter((name): name is string => name !== undefined && !/^(Object|Array|Promise)\./.test(name));
  if (own.length > 0) {
    return own.length > 1 && own[0] !== own.at(-1) ? `${own.at(-1)} › ${own[0]}` : own[0]!;
  }
  if (stack.includes('pg-boss') || stack.includes('pg-pool')) {
    // pg-boss's own queries come through its pool with no frame of ODC's.
    return 'pg-boss (its own work: fetch, complete, maintenance)';
  }
  return frames.slice(0, 3).join(' <').replace(/\s+/g, ' ');
}

let countingSql = false;
function countSql(): void {
  const prototype = Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const query = prototype.query;
  prototype.query = function (this: unknown, ...args: unknown[]) {
    if (countingSql) {
      const config = args[0] as string | { text?: string } | undefined;
      const text = typeof config === 'string' ? config : (config?.text ?? '');
      const folded = text
        .replace(/\s+/g, ' ')
        .replace(/\$\d+(, \$\d+)*/g, '$n')
        .replace(/'[^']*'/g, "'…'")
        .trim()
        .slice(0, 110);
      sqlCounts.set(folded, (sqlCounts.get(folded) ?? 0) + 1);
      const origin = originOf(new Error().stack ?? '');
      sqlOrigins.set(origin, (sqlOrigins.get(origin) ?? 0) + 1);
    }
    return query.apply(this, args);
  };
}

/** Statement counts of a window: by folded text, and by caller. */
interface SqlWindow {
  statements: [string, number][];
  origins: [string, number][];
}

const statementCount = (rows: [string, number][]) => rows.reduce((total, [, n]) => total + n, 0);

/** A replica's statements in the window: in all, the most sent, and by caller, per reservation. */
function reportSql(who: string, title: string, sql: SqlWindow, per: (n: number) => number): void {
  console.log(`SQL statements sent by ${who}: ${per(statementCount(sql.statements))} per reservation`);
  report(
    `${title}: top SQL statements, per reservation`,
    [...sql.statements]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 25)
      .map(([statement, n]) => ({ 'per reservation': per(n), statement })),
  );
  report(
    `${title}: SQL statements by caller, per reservation`,
    [...sql.origins]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 25)
      .map(([caller, n]) => ({ 'per reservation': per(n), caller })),
  );
}

/** What a replica's process measured over the window, itself (the parent cannot see its event loop). */
interface ReplicaWindow {
  /** Event loop utilization, 0 to 1. */
  utilization: number;
  /** With BENCH_RESERVATIONS_SQL=1. */
  sql?: SqlWindow;
}

/**
 * In each replica's process: this module is loaded into it before the replica starts (see
 * startReplica) with BENCH_RESERVATIONS_WINDOW_FILE naming a file; a SIGUSR2 starts the window,
 * the next one writes what it measured to that file.
 */
const WINDOW_FILE = process.env.BENCH_RESERVATIONS_WINDOW_FILE;
if (WINDOW_FILE) {
  if (COUNT_SQL) {
    Error.stackTraceLimit = 40;
    countSql();
  }
  let elu: EventLoopUtilization | undefined;
  process.on('SIGUSR2', () => {
    if (!elu) {
      sqlCounts.clear();
      sqlOrigins.clear();
      countingSql = COUNT_SQL;
      elu = performance.eventLoopUtilization();
      return;
    }
    countingSql = false;
    const window: ReplicaWindow = {
      utilization: performance.eventLoopUtilization(elu).utilization,
      ...(COUNT_SQL ? { sql: { statements: [...sqlCounts], origins: [...sqlOrigins] } } : {}),
    };
    elu = undefined;
    writeFileSync(`${WINDOW_FILE}.part`, JSON.stringify(window));
    renameSync(`${WINDOW_FILE}.part`, WINDOW_FILE);
  });
}

/** The parent's side: a replica's window starts. */
function startWindow(replica: Replica<unknown>): void {
  rmSync(replica.windowFile, { force: true });
  process.kill(replica.pid, 'SIGUSR2');
}

/** The window ends: what the replica measured, once it wrote it. */
async function endWindow(replica: Replica<unknown>): Promise<ReplicaWindow | undefined> {
  process.kill(replica.pid, 'SIGUSR2');
  for (let waited = 0; waited < 5000 && !existsSync(replica.windowFile); waited += 20) {
    await sleep(20);
  }
  return existsSync(replica.windowFile)
    ? (JSON.parse(readFileSync(replica.windowFile, 'utf8')) as ReplicaWindow)
    : undefined;
}

/**
 * Samples, every 100 ms, the sessions of this database waiting for a lock, by what they wait for
 * (advisory locks by ODC's namespace): where requests queue behind one another.
 */
function sampleLockWaits(url: string): { stop(): Promise<{ waits: Map<string, number>; samples: number }> } {
  const waits = new Map<string, number>();
  let samples = 0;
  let stopped = false;
  const client = new Client({ connectionString: url, application_name: 'odc-bench:locks' });
  const names: Record<number, string> = {
    0x0dc0: 'system',
    0x0dc1: 'scheduled task',
    0x0dc2: 'audit chain',
    0x0dc3: 'user limits',
  };
  const running = (async () => {
    await client.connect();
    while (!stopped) {
      const { rows } = await client.query<{
        what: string;
        classid: number;
        relname: string | null;
        n: number;
      }>(
        `SELECT l.locktype AS what, l.classid::int AS classid, c.relname, count(*)::int AS n
         FROM pg_locks l LEFT JOIN pg_class c ON c.oid = l.relation
         WHERE NOT l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
            OR NOT l.granted AND l.locktype = 'transactionid'
         GROUP BY 1, 2, 3`,
      );
      samples += 1;
      for (const row of rows) {
        const what =
          row.what === 'advisory'
            ? `advisory lock: ${names[row.classid] ?? row.classid}`
            : row.what === 'transactionid'
              ? 'row lock (waiting for another transaction)'
              : `${row.what}${row.relname ? ` on ${row.relname}` : ''}`;
        waits.set(what, (waits.get(what) ?? 0) + row.n);
      }
      await sleep(100);
    }
    await client.end();
    return { waits, samples };
  })();
  return {
    stop: () => {
      stopped = true;
      return running;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Baseline: raw SKIP LOCKED queue

interface Rate {
  perSecond: number;
  p50: number;
  p99: number;
}

async function skipLockedBaseline(url: string, clientCount: number): Promise<Rate> {
  const pool = new PgPool({ connectionString: url, max: 16, application_name: 'odc-bench:baseline' });
  await pool.query(`CREATE TABLE bench_reservations (
      id bigserial PRIMARY KEY, status text NOT NULL DEFAULT 'queued', gpu_count int NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now())`);
  await pool.query(`CREATE INDEX ON bench_reservations (id) WHERE status = 'queued'`);
  const waiting = new Map<string, () => void>();
  const early = new Set<string>();
  let wake: (() => void) | undefined;
  let stopped = false;
  const workers = Array.from({ length: BASELINE_WORKERS }, async () => {
    while (!stopped) {
      const { rows } = await pool.query<{ id: string }>(
        `UPDATE bench_reservations SET status = 'active' WHERE id IN (
           SELECT id FROM bench_reservations WHERE status = 'queued' ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)
         RETURNING id`,
        [BASELINE_BATCH],
      );
      for (const { id } of rows) {
        // The worker may see a row before its client has its INSERT's answer.
        const resolve = waiting.get(id);
        if (resolve) {
          resolve();
          waiting.delete(id);
        } else {
          early.add(id);
        }
      }
      if (rows.length === 0) {
        await Promise.race([new Promise<void>((resolve) => (wake = resolve)), sleep(5)]);
      }
    }
  });
  const samples: { at: number; ms: number }[] = [];
  const started = performance.now();
  const windowStart = started + BASELINE_WARM_UP_MS;
  const windowEnd = windowStart + BASELINE_MS;
  const clients = Array.from({ length: clientCount }, async (_, c) => {
    while (performance.now() < windowEnd) {
      const t0 = performance.now();
      const { rows } = await pool.query<{ id: string }>(
        'INSERT INTO bench_reservations (gpu_count) VALUES ($1) RETURNING id',
        [GPU_COUNTS[c % GPU_COUNTS.length]],
      );
      const id = rows[0]!.id;
      if (!early.delete(id)) {
        const active = new Promise<void>((resolve) => waiting.set(id, resolve));
        wake?.();
        await Promise.race([active, sleep(10_000)]); // never hangs the bench
      }
      const t1 = performance.now();
      samples.push({ at: t1, ms: t1 - t0 });
      await pool.query(`UPDATE bench_reservations SET status = 'cancelled' WHERE id = $1`, [id]);
    }
  });
  await Promise.all(clients);
  stopped = true;
  wake?.();
  await Promise.all(workers);
  await pool.query('DROP TABLE bench_reservations');
  await pool.end();
  const inWindow = samples.filter((s) => s.at >= windowStart && s.at < windowEnd).map((s) => s.ms);
  return {
    perSecond: inWindow.length / (BASELINE_MS / 1000),
    p50: p(inWindow, 50),
    p99: p(inWindow, 99),
  };
}

// ---------------------------------------------------------------------------------------------
// Second baseline: the Kubernetes path alone

/** CPU seconds (user + system) a process has used so far. */
function processCpuSeconds(pid: number): number {
  const fields = procStat(pid);
  return fields ? (Number(fields[11]) + Number(fields[12])) / 100 : Number.NaN;
}

const fleetCpuSeconds = (fleet: Fleet) =>
  fleet.members.reduce((sum, member) => sum + processCpuSeconds(member.pid), 0);

/** Cores each part uses over 3 s with no load. */
async function idleCores(
  controlPlane: ControlPlane,
  fleet: Fleet,
  postmaster: number,
): Promise<{ coordinator: number; load: number; workers: number; fleet: number; postgres: number }> {
  const ms = 3000;
  const { coordinator, workers } = controlPlane;
  const before = {
    coordinator: processCpuSeconds(coordinator.pid),
    load: process.cpuUsage(),
    workers: processCpuSeconds(workers.pid),
    fleet: fleetCpuSeconds(fleet),
    postgres: postgresCpuSeconds(postmaster),
  };
  await sleep(ms);
  const load = process.cpuUsage(before.load);
  return {
    coordinator: ((processCpuSeconds(coordinator.pid) - before.coordinator) * 1000) / ms,
    load: (load.user + load.system) / 1e3 / ms,
    workers: ((processCpuSeconds(workers.pid) - before.workers) * 1000) / ms,
    fleet: ((fleetCpuSeconds(fleet) - before.fleet) * 1000) / ms,
    postgres: ((postgresCpuSeconds(postmaster) - before.postgres) * 1000) / ms,
  };
}

interface Floor extends Rate {
  /** Fleet CPU (simulated API servers, controllers, deployers) per cycle, ms. */
  fleetCpuMs: number;
}

/**
 * What the fleet alone sustains: the same number of clients, each applying a reservation's
 * objects (ConfigMap, Service, Deployment with GPUs, PDB) through a deployer and deleting them
 * again, round robin over the clusters, with no control plane in between. Every reservation costs
 * the fleet at least this (ODC also reads status), so it bounds ODC's reserve→active rate on the
 * same machine.
 */
function floorSpec(id: string) {
  const {
    persistent_volume_claims: _scratch,
    ingress: _jupyter,
    ...spec
  } = sampleReservationSpec(id, NAMESPACE);
  return spec;
}

async function kubernetesFloor(fleet: Fleet, clientCount: number): Promise<Floor> {
  const pools = fleet.members.map(
    (member) =>
      new Pool(member.deployerUrl, { connections: Math.ceil(clientCount / CLUSTERS), pipelining: 1 }),
  );
  const headers = { authorization: `Bearer ${DEPLOYER_TOKEN}`, 'content-type': 'application/json' };
  const samples: { at: number; ms: number }[] = [];
  const started = performance.now();
  const windowStart = started + BASELINE_WARM_UP_MS;
  const windowEnd = windowStart + BASELINE_MS;
  let cpuAtStart = Number.NaN;
  const edge = sleep(BASELINE_WARM_UP_MS).then(() => {
    cpuAtStart = fleetCpuSeconds(fleet);
  });
  const clients = Array.from({ length: clientCount }, async (_, c) => {
    const pool = pools[c % pools.length]!;
    for (let n = 0; performance.now() < windowEnd; n += 1) {
      const id = `floor-${c}-${n}`;
      const t0 = performance.now();
      const applied = await pool.request({
        method: 'POST',
        path: '/api/v1/deployments',
        headers,
        body: JSON.stringify(floorSpec(id)),
      });
      await applied.body.text();
      const deleted = await pool.request({ method: 'DELETE', path: `/api/v1/deployments/${id}`, headers });
      await deleted.body.text();
      if (applied.statusCode !== 201 || deleted.statusCode >= 300) {
        throw new Error(
          `the deployer answered ${applied.statusCode} to apply, ${deleted.statusCode} to delete`,
        );
      }
      const t1 = performance.now();
      samples.push({ at: t1, ms: t1 - t0 });
    }
  });
  await Promise.all([...clients, edge]);
  const cpu = fleetCpuSeconds(fleet) - cpuAtStart;
  await Promise.all(pools.map((pool) => pool.close()));
  const inWindow = samples.filter((s) => s.at >= windowStart && s.at < windowEnd).map((s) => s.ms);
  return {
    perSecond: inWindow.length / (BASELINE_MS / 1000),
    p50: p(inWindow, 50),
    p99: p(inWindow, 99),
    fleetCpuMs: (cpu * 1000) / Math.max(1, inWindow.length),
  };
}

// ---------------------------------------------------------------------------------------------
// The fleet and the app

type FleetKind = 'simulated' | 'stub';

function fleetOf(kind: FleetKind, latencyMs: number): Promise<Fleet> {
  return startFleet(
    identicalClusters(CLUSTERS, kind === 'stub' ? 'stub' : 'sim', {
      nodes: NODES_PER_CLUSTER,
      gpusPerNode: GPUS_PER_NODE,
      gpuProduct: H100,
      namespace: NAMESPACE,
      deployerToken: DEPLOYER_TOKEN,
      latencyMs,
    }),
    kind === 'stub' ? { stub: { readyDelayMs: STUB_READY_MS } } : {},
  );
}

/** What each stub deployer counted (GET /_stub/stats), summed; undefined for a simulated fleet. */
async function stubStats(fleet: Fleet, kind: FleetKind): Promise<StubDeployerStats | undefined> {
  if (kind !== 'stub') {
    return undefined;
  }
  const each = await Promise.all(
    fleet.members.map(async (member) => (await fetch(`${member.deployerUrl}/_stub/stats`)).json()),
  );
  return (each as StubDeployerStats[]).reduce((sum, stats) => {
    const total = { ...sum };
    for (const key of Object.keys(stats) as (keyof StubDeployerStats)[]) {
      total[key] += stats[key];
    }
    return total;
  });
}

/**
 * The control plane as role-scoped replicas, each in a process of its own as deployed: the
 * coordinator (the API), and one worker-and-cron replica, so admission, provisioning and status
 * sync do not run on the API's event loop, and neither runs on the load's.
 */
interface ControlPlane {
  coordinator: Replica<{ api: string }>;
  workers: Replica<{ ops: string }>;
  /** The coordinator's settings: the bench makes its keys as the coordinator would. */
  config: AppConfig;
  /** The bench's own connection to their database: keys, capacity, counters, events. */
  db: DataSource;
  close(): Promise<void>;
}

/** A replica's process, and the file it writes what it measured over the window to. */
interface Replica<T> extends BenchProcess<T> {
  windowFile: string;
}

/**
 * A replica of `env`'s roles in a process of its own (bench/role-process.ts), with this module
 * loaded first (BENCH_ROLE_PRELOAD) to measure its window when asked.
 */
async function startReplica<T>(env: Record<string, string>): Promise<Replica<T>> {
  const windowFile = join(tmpdir(), `odc-bench-window-${randomBytes(4).toString('hex')}.json`);
  const replica = await startBenchProcess<T>('role-process.js', env, {
    BENCH_ROLE_PRELOAD: __filename,
    BENCH_RESERVATIONS_WINDOW_FILE: windowFile,
  });
  return {
    ...replica,
    windowFile,
    close: async () => {
      await replica.close();
      rmSync(windowFile, { force: true });
    },
  };
}

async function startControlPlane(databaseUrl: string): Promise<ControlPlane> {
  const common = {
    NODE_ENV: 'production',
    DATABASE_URL: databaseUrl,
    ODC_HOST: '127.0.0.1',
    ODC_LOG_LEVEL: 'warn',
    ODC_MASTER_KEY: randomBytes(32).toString('base64'),
    ODC_SHUTDOWN_TIMEOUT_SECONDS: '5',
    ODC_QUEUE_POLL_INTERVAL_SECONDS: '0.5',
    ODC_STATUS_SYNC_INTERVAL_SECONDS: '0.1',
    ODC_ADMISSION_INTERVAL_SECONDS: '0.2',
    ODC_MAX_GPUS_PER_USER: '64',
    ODC_MAX_QUEUED_PER_USER: '16',
    ODC_RATE_LIMIT_API_PER_MINUTE: '100000000',
  };
  const coordinatorEnv = { ...common, ODC_ROLES: 'coordinator', ODC_PORT: '0', ODC_DB_POOL_SIZE: '20' };
  // The coordinator first: its start migrates the schema the worker and the bench expect.
  const coordinator = await startReplica<{ api: string }>(coordinatorEnv);
  const db = await new DataSource(
    dataSourceOptions({ url: databaseUrl, poolSize: 4, applicationName: 'odc-bench:reservations' }),
  )
    .initialize()
    .catch(async (error: unknown) => {
      await coordinator.close();
      throw error;
    });
  try {
    const workers = await startReplica<{ ops: string }>({
      ...common,
      ODC_ROLES: 'worker,cron',
      ODC_OPS_PORT: '0',
      ODC_DB_POOL_SIZE: '30',
    });
    return {
      coordinator,
      workers,
      config: loadAppConfig(coordinatorEnv),
      db,
      close: async () => {
        await workers.close();
        await coordinator.close();
        await db.destroy();
      },
    };
  } catch (error) {
    await db.destroy();
    await coordinator.close();
    throw error;
  }
}

interface Api extends BenchApi {
  close(): Promise<void>;
}

function apiClient(origin: string, clientCount: number): Api {
  const pool = new Pool(origin, { connections: Math.min(clientCount, 256), pipelining: 1 });
  return { ...benchApi(pool), close: () => pool.close() };
}

// ---------------------------------------------------------------------------------------------
// The load

interface Shown {
  id: string;
  status: string;
  status_reason?: string;
  events?: { at: string; to?: string }[];
}

interface LoadOutcome {
  cycles: Cycle[];
  cancelMs: number[];
  errors: Map<string, number>;
  windowStart: number;
  windowEnd: number;
}

/** Each reservation's phases (ms), from the times of its events (database clock). */
async function phasesOf(db: DataSource, ids: string[]): Promise<Map<string, Phases>> {
  const rows = await db.query<
    { id: string; queued: number; placing: number; provisioning: number; active: number }[]
  >(
    `SELECT reservation_id AS id,
              extract(epoch FROM min(at) FILTER (WHERE to_status = 'queued')) * 1000 AS queued,
              extract(epoch FROM min(at) FILTER (WHERE to_status = 'placing')) * 1000 AS placing,
              extract(epoch FROM min(at) FILTER (WHERE to_status = 'provisioning')) * 1000 AS provisioning,
              extract(epoch FROM min(at) FILTER (WHERE to_status = 'active')) * 1000 AS active
       FROM reservation_events WHERE reservation_id = ANY($1) GROUP BY reservation_id`,
    [ids],
  );
  const phases = new Map<string, Phases>();
  for (const row of rows) {
    const [queued, placing, provisioning, active] = [
      row.queued,
      row.placing,
      row.provisioning,
      row.active,
    ].map(Number);
    if (![queued, placing, provisioning, active].some((t) => t === 0 || Number.isNaN(t))) {
      phases.set(row.id, {
        queued: placing! - queued!,
        placing: provisioning! - placing!,
        provisioning: active! - provisioning!,
        total: active! - queued!,
      });
    }
  }
  return phases;
}

/**
 * The clients, with one watcher: each client reserves, waits until the watcher sees its
 * reservation active, cancels, again. The watcher lists every active reservation (admin,
 * `?user=all&status=active`) every POLL_MS: one request where each client polling its own every
 * POLL_MS would be CLIENTS requests, on the coordinator's event loop.
 */
async function runLoad(
  api: Api,
  keys: string[],
  watcherKey: string,
  onWindow: (edge: 'start' | 'end') => Promise<void>,
  /** Reservations per second in all, spread evenly over the clients; undefined: as fast as they go. */
  pace?: number,
): Promise<LoadOutcome> {
  const cycles: Cycle[] = [];
  const cancelMs: number[] = [];
  const errors = new Map<string, number>();
  const error = (what: string) => errors.set(what, (errors.get(what) ?? 0) + 1);
  const started = performance.now();
  const windowStart = started + WARM_UP_MS;
  const windowEnd = windowStart + MEASURE_MS;
  const giveUpAt = windowEnd + WIND_DOWN_MS;
  const waiting = new Map<string, (at: number) => void>();
  let clientsDone = false;

  const watcher = async () => {
    while (!clientsDone) {
      await sleep(POLL_MS);
      // Every page: more than a page may be active at once with many clients.
      let cursor: string | undefined;
      do {
        const page = await api.request<{ items: Shown[]; next_cursor?: string }>(
          'GET',
          `/api/v1/reservations?user=all&status=active&limit=200${cursor ? `&cursor=${cursor}` : ''}`,
          watcherKey,
        );
        if (page.status !== 200) {
          error(`GET list ${page.status}`);
          break;
        }
        const at = performance.now();
        for (const item of page.body.items) {
          waiting.get(item.id)?.(at);
          waiting.delete(item.id);
        }
        cursor = page.body.next_cursor;
      } while (cursor);
    }
  };

  const client = async (key: string, c: number) => {
    let n = c; // spreads the GPU counts over clients and time
    // Paced: client c starts its k-th reservation at (k × clients + c) / pace seconds (an open
    // loop: arrivals do not wait for the system); else one after another, not all at once.
    const slotMs = pace ? (1000 * keys.length) / pace : 0;
    let nextAt = pace ? started + (1000 * c) / pace : started + ((c * 7) % 200);
    while (performance.now() < windowEnd) {
      await sleep(nextAt - performance.now());
      nextAt = pace ? nextAt + slotMs : performance.now();
      const gpuCount = GPU_COUNTS[n++ % GPU_COUNTS.length];
      const t0 = performance.now();
      const made = await api.request<Shown & { code?: string }>('POST', '/api/v1/reservations', key, {
        gpu_type: 'h100',
        gpu_count: gpuCount,
        hours: 1,
      });
      if (made.status !== 202) {
        error(`POST ${made.status} ${made.body.code ?? ''}`.trim());
        await sleep(100);
        continue;
      }
      const cycle: Cycle = { id: made.body.id, reservedAt: t0, reserveMs: performance.now() - t0 };
      cycles.push(cycle);
      const activeAt = await Promise.race([
        new Promise<number>((resolve) => waiting.set(cycle.id, resolve)),
        sleep(giveUpAt - performance.now()).then(() => undefined),
      ]);
      if (activeAt === undefined) {
        waiting.delete(cycle.id);
        error('not active in time');
      }
      cycle.activeAt = activeAt;
      const t1 = performance.now();
      const cancelled = await api.request<Shown>('POST', `/api/v1/reservations/${cycle.id}/cancel`, key);
      if (cancelled.status === 200) {
        if (t1 >= windowStart && t1 < windowEnd) {
          cancelMs.push(performance.now() - t1);
        }
      } else if (cancelled.status !== 409) {
        error(`cancel ${cancelled.status}`);
      }
    }
  };

  const edges = (async () => {
    await sleep(windowStart - performance.now());
    await onWindow('start');
    await sleep(windowEnd - performance.now());
    await onWindow('end');
  })();
  const watching = watcher();
  await Promise.all([...keys.map((key, c) => client(key, c)), edges]);
  clientsDone = true;
  await watching;
  return { cycles, cancelMs, errors, windowStart, windowEnd };
}

// ---------------------------------------------------------------------------------------------
// One scenario

/** One scenario's setting. */
interface Run {
  fleet: FleetKind;
  latencyMs: number;
  clients: number;
  /** Offered reservations/s in all, paced (an open loop); undefined: saturating. */
  pace?: number;
  /** The pace as a share of the saturated run's rate. */
  paceShare?: number;
}

interface ScenarioResult {
  fleet: FleetKind;
  clients: number;
  latencyMs: number;
  /** Offered reservations/s of a paced run; undefined for a saturating one. */
  pace?: number;
  paceShare?: number;
  perSecond: number;
  reserveP50: number;
  reserveP99: number;
  activeP50: number;
  activeP99: number;
  baseline: Rate;
  floor: Floor;
  /** CPU ms per reservation that reached active in the window. */
  coordinatorCpuMs: number;
  /** This process's: the clients and the watcher. */
  loadCpuMs: number;
  workersCpuMs: number;
  fleetCpuMs: number;
  postgresCpuMs: number;
  /** Cores the rest of the machine used meanwhile (other work on a shared machine). */
  otherCores: number;
}

async function scenario(database: BenchDatabase, run: Run): Promise<ScenarioResult> {
  const { latencyMs, pace, clients } = run;
  const name = `odc_bench_resv_${randomBytes(5).toString('hex')}`;
  await withAdmin(database.url, (client) => client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`));
  const url = withDatabase(database.url, name);
  let fleet: Fleet | undefined;
  let controlPlane: ControlPlane | undefined;
  let workerMetrics: Pool | undefined;
  let api: Api | undefined;
  try {
    const baseline = await skipLockedBaseline(url, clients);
    fleet = await fleetOf(run.fleet, latencyMs);
    const floor = await kubernetesFloor(fleet, clients);
    controlPlane = await startControlPlane(url);
    const { coordinator, workers, config, db } = controlPlane;
    workerMetrics = new Pool(workers.ready.ops, { connections: 1 });
    api = apiClient(coordinator.ready.api, clients);
    const adminKey = await issueKey(db, config, 'bench-admin', ['clusters:admin', 'reservations:read'], true);
    await registerClusters(
      api,
      adminKey,
      fleet.members.map((member) => ({ name: member.name, url: member.deployerUrl })),
      { token: DEPLOYER_TOKEN, namespace: NAMESPACE, gpuProduct: H100, gpusPerNode: GPUS_PER_NODE },
    );
    await waitForCapacity(db, CLUSTERS * NODES_PER_CLUSTER, GPUS_PER_NODE, 20_000);
    const keys: string[] = [];
    for (let c = 0; c < clients; c += 1) {
      keys.push(await issueKey(db, config, `bench-user-${c}`, ['reservations:read', 'reservations:write']));
    }

    // Both replicas' metrics: the API's (its listener serves /metrics for a coordinator), and the
    // worker's and cron's (admission, deployer calls).
    const scrape = async (): Promise<ReplicaMetrics> => ({
      coordinator: (await api!.request<string>('GET', '/metrics')).body,
      workers: await (await workerMetrics!.request({ method: 'GET', path: '/metrics' })).body.text(),
    });
    // This process runs only the load: its own event loop, apart from the replicas'.
    const delay = monitorEventLoopDelay({ resolution: 10 });
    let metricsBefore: ReplicaMetrics = { coordinator: '', workers: '' };
    let metricsAfter: ReplicaMetrics = { coordinator: '', workers: '' };
    let elu = performance.eventLoopUtilization();
    let load = process.cpuUsage();
    let coordinatorCpu = 0;
    let workersCpu = 0;
    let pgCpu = 0;
    let fleetCpu = 0;
    let machine = machineCpuSeconds();
    let statusesAtEnd: { status: string; n: number }[] = [];
    const postmaster = await postmasterOf(db);
    let statsBefore: PgStats | undefined;
    let statsAfter: PgStats | undefined;
    let lockSampler: ReturnType<typeof sampleLockWaits> | undefined;
    let lockWaits = { waits: new Map<string, number>(), samples: 0 };
    let coordinatorWindow: ReplicaWindow | undefined;
    let workersWindow: ReplicaWindow | undefined;
    let stubBefore: StubDeployerStats | undefined;
    let stubAfter: StubDeployerStats | undefined;
    // What each process spends with no load (timers, polling, status rounds): the part of the
    // window's CPU that is not the reservations'. Fewer reservations in a window (a noisy machine)
    // spread it over fewer: see "marginal" below.
    const idle = await idleCores(controlPlane, fleet, postmaster);
    const outcome = await runLoad(
      api,
      keys,
      adminKey,
      async (edge) => {
        if (edge === 'start') {
          metricsBefore = await scrape();
          statsBefore = await pgStats(db);
          lockSampler = sampleLockWaits(url);
          elu = performance.eventLoopUtilization();
          load = process.cpuUsage();
          coordinatorCpu = processCpuSeconds(coordinator.pid);
          workersCpu = processCpuSeconds(workers.pid);
          pgCpu = postgresCpuSeconds(postmaster);
          fleetCpu = fleetCpuSeconds(fleet!);
          machine = machineCpuSeconds();
          startWindow(coordinator);
          startWindow(workers);
          stubBefore = await stubStats(fleet!, run.fleet);
          delay.enable();
        } else {
          delay.disable();
          elu = performance.eventLoopUtilization(elu);
          load = process.cpuUsage(load);
          coordinatorCpu = processCpuSeconds(coordinator.pid) - coordinatorCpu;
          workersCpu = processCpuSeconds(workers.pid) - workersCpu;
          pgCpu = postgresCpuSeconds(postmaster) - pgCpu;
          fleetCpu = fleetCpuSeconds(fleet!) - fleetCpu;
          machine = machineCpuSeconds() - machine;
          [coordinatorWindow, workersWindow] = await Promise.all([
            endWindow(coordinator),
            endWindow(workers),
          ]);
          stubAfter = await stubStats(fleet!, run.fleet);
          metricsAfter = await scrape();
          statsAfter = await pgStats(db);
          lockWaits = await lockSampler!.stop();
          statusesAtEnd = await db.query(
            `SELECT status, count(*)::int AS n FROM reservations GROUP BY status ORDER BY status`,
          );
        }
      },
      pace,
    );

    const { windowStart, windowEnd, cycles } = outcome;
    const seconds = (windowEnd - windowStart) / 1000;
    const loadCpu = (load.user + load.system) / 1e6;
    const completed = cycles.filter(
      (c) => c.activeAt !== undefined && c.activeAt >= windowStart && c.activeAt < windowEnd,
    );
    const reserved = cycles.filter((c) => c.reservedAt >= windowStart && c.reservedAt < windowEnd);
    const reserveMs = reserved.map((c) => c.reserveMs);
    const toActive = completed.map((c) => c.activeAt! - c.reservedAt);
    const byId = await phasesOf(
      db,
      completed.map((c) => c.id),
    );
    const phases = completed.flatMap((c) => (byId.has(c.id) ? [byId.get(c.id)!] : []));
    const phaseRow = (phase: string, values: number[]) => ({
      'from → to': phase,
      'p50 ms': fmt(p(values, 50), 1),
      'p99 ms': fmt(p(values, 99), 1),
      'mean ms': fmt(values.reduce((a, b) => a + b, 0) / Math.max(1, values.length), 1),
    });
    const result: ScenarioResult = {
      fleet: run.fleet,
      clients,
      latencyMs,
      ...(pace ? { pace, paceShare: run.paceShare } : {}),
      perSecond: completed.length / seconds,
      reserveP50: p(reserveMs, 50),
      reserveP99: p(reserveMs, 99),
      activeP50: p(toActive, 50),
      activeP99: p(toActive, 99),
      baseline,
      floor,
      coordinatorCpuMs: (coordinatorCpu * 1000) / Math.max(1, completed.length),
      loadCpuMs: (loadCpu * 1000) / Math.max(1, completed.length),
      workersCpuMs: (workersCpu * 1000) / Math.max(1, completed.length),
      fleetCpuMs: (fleetCpu * 1000) / Math.max(1, completed.length),
      postgresCpuMs: (pgCpu * 1000) / Math.max(1, completed.length),
      otherCores: Math.max(0, machine - coordinatorCpu - loadCpu - workersCpu - pgCpu - fleetCpu) / seconds,
    };

    report(
      `Reservations: ${run.fleet === 'stub' ? 'stub fleet (deployers answering from memory), ' : ''}${CLUSTERS} clusters x ${NODES_PER_CLUSTER} nodes x ${GPUS_PER_NODE} H100, ${clients} clients reserving and cancelling${pace ? ` at ${pace}/s in all (paced)` : ' as fast as they can'}, ${run.fleet === 'stub' ? `pods ready ${STUB_READY_MS} ms after apply` : `K8s API latency ${latencyMs} ms`}, ${fmt(seconds, 1)} s window`,
      [
        {
          path: `baseline SKIP LOCKED queue (${BASELINE_WORKERS} workers x batch ${BASELINE_BATCH})`,
          'reserve→active /s': fmt(baseline.perSecond, 0),
          'reserve p50 ms': '-',
          'reserve p99 ms': '-',
          'to active p50 ms': fmt(baseline.p50, 1),
          'to active p99 ms': fmt(baseline.p99, 1),
        },
        {
          path: `baseline ${run.fleet === 'stub' ? 'stub floor' : 'Kubernetes floor'} (deployer apply + delete, no control plane; fleet CPU ${fmt(floor.fleetCpuMs, 1)} ms/cycle)`,
          'reserve→active /s': fmt(floor.perSecond, 0),
          'reserve p50 ms': '-',
          'reserve p99 ms': '-',
          'to active p50 ms': fmt(floor.p50, 1),
          'to active p99 ms': fmt(floor.p99, 1),
        },
        {
          path: 'ODC API (POST, watcher sees active, cancel)',
          'reserve→active /s': fmt(result.perSecond, 1),
          'reserve p50 ms': fmt(result.reserveP50, 1),
          'reserve p99 ms': fmt(result.reserveP99, 1),
          'to active p50 ms': fmt(result.activeP50, 1),
          'to active p99 ms': fmt(result.activeP99, 1),
        },
      ],
    );
    console.log(
      `ratio ODC/baseline reserve→active throughput: ${fmt(result.perSecond / baseline.perSecond, 3)} (SKIP LOCKED), ${fmt(result.perSecond / floor.perSecond, 3)} (Kubernetes floor); cancel p50 ${fmt(p(outcome.cancelMs, 50), 1)} ms, p99 ${fmt(p(outcome.cancelMs, 99), 1)} ms; reservations made ${cycles.length}, errors: ${outcome.errors.size === 0 ? 'none' : JSON.stringify(Object.fromEntries(outcome.errors))}`,
    );

    // Where the time went.
    report(`Reserve→active by phase (reservation events, database clock), ${phases.length} reservations`, [
      phaseRow(
        'queued → placing (admission)',
        phases.map((p) => p.queued),
      ),
      phaseRow(
        'placing → provisioning (provision job, deployer apply)',
        phases.map((p) => p.placing),
      ),
      phaseRow(
        'provisioning → active (pod ready, status sync)',
        phases.map((p) => p.provisioning),
      ),
      phaseRow(
        'queued → active (server side)',
        phases.map((p) => p.total),
      ),
    ]);
    const h = (metric: string, filter: string[] = []) =>
      minus(
        histogram(bothReplicas(metricsAfter), metric, filter),
        histogram(bothReplicas(metricsBefore), metric, filter),
      );
    const deployerCall = (operation: string) =>
      h('odc_deployer_request_duration_seconds', [`operation="${operation}"`]);
    const serverSide = (method: string, route: string) =>
      h('odc_http_request_duration_seconds', [`method="${method}"`, `route="${route}"`]);
    const histoRow = (what: string, histo: Histo) => ({
      what,
      'per s': fmt(histo.count / seconds, 1),
      'mean ms': fmt(meanMs(histo), 2),
      'p50 ms (buckets)': fmt(quantileMs(histo, 0.5), 1),
      'p99 ms (buckets)': fmt(quantileMs(histo, 0.99), 1),
    });
    report('Server side, from GET /metrics over the window', [
      histoRow('admission pass (odc_admission_pass_seconds)', h('odc_admission_pass_seconds')),
      histoRow('deployer POST /deployments (provision)', deployerCall('POST /deployments')),
      histoRow('deployer GET /deployments (status sync)', deployerCall('GET /deployments')),
      histoRow('deployer DELETE /deployments/{id} (teardown)', deployerCall('DELETE /deployments/{id}')),
      histoRow('HTTP POST /api/v1/reservations', serverSide('POST', '/api/v1/reservations')),
      histoRow('HTTP GET /api/v1/reservations (poll)', serverSide('GET', '/api/v1/reservations')),
      histoRow('HTTP GET /api/v1/reservations/:id', serverSide('GET', '/api/v1/reservations/:id')),
      histoRow(
        'HTTP POST /api/v1/reservations/:id/cancel',
        serverSide('POST', '/api/v1/reservations/:id/cancel'),
      ),
    ]);
    const perReservation = (cpuSeconds: number) =>
      fmt((cpuSeconds * 1000) / Math.max(1, completed.length), 1);
    const cpuShare = (cpuSeconds: number) =>
      `CPU ${fmt(cpuSeconds / seconds, 2)} cores (${perReservation(cpuSeconds)} ms per reservation)`;
    // A replica's loop delay: its own monitor (prom-client's default metrics), reset by the scrape
    // at the window's start and read by the one at its end.
    const replicaLoop = (window: ReplicaWindow | undefined, metrics: string, cpuSeconds: number) => {
      const lag = eventLoopLag(metrics);
      return `event loop utilization ${window ? `${fmt(window.utilization * 100, 0)} %` : 'unknown (the process did not answer)'}, ${cpuShare(cpuSeconds)}, loop delay p50 ${fmt(lag.p50, 1)} ms p99 ${fmt(lag.p99, 1)} ms max ${fmt(lag.max, 1)} ms`;
    };
    console.log(
      `${run.fleet === 'stub' ? `Stub fleet (${CLUSTERS} processes: deployers answering from memory)` : `Fleet (${CLUSTERS} processes: simulated API servers, controllers, deployers)`}: ${cpuShare(fleetCpu)}`,
    );
    if (stubBefore && stubAfter) {
      const d = (key: keyof StubDeployerStats) => stubAfter![key] - stubBefore![key];
      console.log(
        `Stub deployers per reservation: ${perReservation(d('applies') / 1000)} applies, ${perReservation(d('deletes') / 1000)} deletes, ${perReservation(d('lists') / 1000)} status lists (${fmt(d('listed') / Math.max(1, d('lists')), 1)} deployments each), ${perReservation(d('requests') / 1000)} requests; pods left Pending for want of GPUs (overbooking): ${d('unschedulable')}`,
      );
    }
    console.log(
      `Worker and cron replica (its own process): ${replicaLoop(workersWindow, metricsAfter.workers, workersCpu)}`,
    );
    console.log(
      `Coordinator (its own process): ${replicaLoop(coordinatorWindow, metricsAfter.coordinator, coordinatorCpu)}`,
    );
    console.log(
      `Load (this process: ${clients} clients and the watcher): event loop utilization ${fmt(elu.utilization * 100, 0)} %, ${cpuShare(loadCpu)}, loop delay p50 ${fmt(delay.percentile(50) / 1e6, 1)} ms p99 ${fmt(delay.percentile(99) / 1e6, 1)} ms`,
    );
    console.log(
      `PostgreSQL ${cpuShare(pgCpu)}; other processes on the machine ${fmt(result.otherCores, 2)} cores (of ${availableParallelism()})`,
    );
    const allCpuMs =
      ((coordinatorCpu + workersCpu + fleetCpu + pgCpu) * 1000) / Math.max(1, completed.length);
    const marginal = (cpuSeconds: number, idleCores: number) =>
      fmt(((cpuSeconds - idleCores * seconds) * 1000) / Math.max(1, completed.length), 1);
    console.log(
      `Idle (no clients, 3 s before the load), cores: coordinator ${fmt(idle.coordinator, 3)}, load ${fmt(idle.load, 3)}, worker ${fmt(idle.workers, 3)}, fleet ${fmt(idle.fleet, 3)}, PostgreSQL ${fmt(idle.postgres, 3)}; marginal CPU per reservation (window less idle), ms: coordinator ${marginal(coordinatorCpu, idle.coordinator)}, load ${marginal(loadCpu, idle.load)}, worker ${marginal(workersCpu, idle.workers)}, fleet ${marginal(fleetCpu, idle.fleet)}, PostgreSQL ${marginal(pgCpu, idle.postgres)}`,
    );
    console.log(
      `CPU per reservation in all (the control plane: coordinator, worker and PostgreSQL; and the fleet; the load apart, ${perReservation(loadCpu)} ms): ${fmt(allCpuMs, 1)} ms: this machine's ${availableParallelism()} cores, with nothing else running, would sustain at most ${fmt((availableParallelism() * 1000) / allCpuMs, 0)} reservations/s`,
    );
    const per = (n: number) => fmt(n / Math.max(1, completed.length), 1);
    const counters = { before: statsBefore!.database, after: statsAfter!.database };
    const delta = (key: keyof PgStats['database']) => per(counters.after[key] - counters.before[key]);
    console.log(
      `PostgreSQL per reservation: ${delta('commits')} commits, ${delta('rollbacks')} rollbacks, ${delta('returned')} rows returned (scans), ${delta('fetched')} rows fetched (index)`,
    );
    const tableRows = [...statsAfter!.tables]
      .map(([table, after]) => {
        const before = statsBefore!.tables.get(table) ?? {
          seqScans: 0,
          seqRows: 0,
          idxScans: 0,
          inserts: 0,
          updates: 0,
        };
        return {
          table,
          'seq scans': per(after.seqScans - before.seqScans),
          'seq rows read': per(after.seqRows - before.seqRows),
          'index scans': per(after.idxScans - before.idxScans),
          inserts: per(after.inserts - before.inserts),
          updates: per(after.updates - before.updates),
          weight:
            after.seqRows -
            before.seqRows +
            after.idxScans -
            before.idxScans +
            after.inserts -
            before.inserts,
        };
      })
      .filter((row) => row.weight > 0)
      .sort((a, b) => b.weight - a.weight)
      .slice(0, 12)
      .map(({ weight: _weight, ...row }) => row);
    report('PostgreSQL tables, per reservation that reached active in the window', tableRows);
    console.log(
      `sessions waiting for a lock, on average over the window: ${
        [...lockWaits.waits]
          .sort((a, b) => b[1] - a[1])
          .map(([what, n]) => `${what} ${fmt(n / Math.max(1, lockWaits.samples), 2)}`)
          .join(', ') || 'none'
      }`,
    );
    const coordinatorSql = coordinatorWindow?.sql;
    const workersSql = workersWindow?.sql;
    if (coordinatorSql) {
      reportSql('the coordinator', 'Coordinator', coordinatorSql, per);
    }
    if (workersSql) {
      reportSql('the worker-and-cron replica', 'Worker replica', workersSql, per);
      const passes = h('odc_admission_pass_seconds').count;
      const admission = workersSql.origins.filter(([caller]) =>
        /Admission|QueueStandings|SchedulingState/.test(caller),
      );
      const perPass = (n: number) => fmt(n / Math.max(1, passes), 1);
      console.log(
        `Admission: ${passes} passes in the window (${fmt(passes / seconds, 1)}/s, ${fmt(completed.length / Math.max(1, passes), 1)} reservations reaching active per pass), ${perPass(statementCount(admission))} statements per pass: ${admission
          .sort((a, b) => b[1] - a[1])
          .map(([caller, n]) => `${caller} ${perPass(n)}`)
          .join(', ')}`,
      );
    }
    console.log(
      `reservations by status at the window's end: ${statusesAtEnd.map((s) => `${s.status} ${s.n}`).join(', ')}`,
    );
    return result;
  } finally {
    await api?.close();
    await workerMetrics?.close();
    await controlPlane?.close();
    await fleet?.close();
    await withAdmin(database.url, (client) =>
      client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(name)} WITH (FORCE)`),
    );
  }
}

/** CPU ms per reservation of every process of a run: the control plane, the fleet and the load. */
function allCpuMsOf(r: ScenarioResult): number {
  return r.coordinatorCpuMs + r.loadCpuMs + r.workersCpuMs + r.fleetCpuMs + r.postgresCpuMs;
}

/**
 * The share of the machine's cores a run kept busy, other work included: a paced run's latency is
 * mostly its wait for a core, which grows steeply as this nears 1.
 */
function busyShare(r: ScenarioResult): number {
  return ((allCpuMsOf(r) * r.perSecond) / 1000 + r.otherCores) / availableParallelism();
}

/** The saturating run a paced one took its pace from. */
function saturatedOf(paced: ScenarioResult, results: ScenarioResult[]): ScenarioResult {
  return results.find((r) => r.fleet === paced.fleet && r.latencyMs === paced.latencyMs && !r.pace) ?? paced;
}

export async function benchReservations(database: BenchDatabase): Promise<void> {
  const results: ScenarioResult[] = [];
  for (const fleet of ['simulated', 'stub'] as const) {
    if (!FLEETS.includes(fleet)) {
      continue;
    }
    const clients = fleet === 'stub' ? STUB_CLIENTS : CLIENTS;
    const saturating: ScenarioResult[] = [];
    // The stub has no Kubernetes API to be slow: one run, at 0 ms.
    for (const latencyMs of fleet === 'stub' ? [0] : LATENCIES_MS) {
      saturating.push(await scenario(database, { fleet, latencyMs, clients }));
    }
    results.push(...saturating);
    // The reserve API's latency below saturation: half the rate the first run sustained, paced.
    for (const share of PACED && saturating.length > 0 ? PACE_SHARES : []) {
      const pace = Math.max(1, Math.round(saturating[0]!.perSecond * share));
      results.push(
        await scenario(database, {
          fleet,
          latencyMs: saturating[0]!.latencyMs,
          clients,
          pace,
          paceShare: share,
        }),
      );
    }
  }
  report(
    'Reservations: summary',
    results.map((r) => ({
      fleet: r.fleet,
      'K8s latency ms': r.latencyMs,
      load: r.pace ? `${r.pace}/s paced` : `saturating, ${r.clients} clients`,
      'reserve→active /s': fmt(r.perSecond, 1),
      'baseline /s': fmt(r.baseline.perSecond, 0),
      'floor /s': fmt(r.floor.perSecond, 0),
      'ratio ODC/floor': fmt(r.perSecond / r.floor.perSecond, 2),
      'reserve p50 ms': fmt(r.reserveP50, 1),
      'reserve p99 ms': fmt(r.reserveP99, 1),
      'to active p99 ms': fmt(r.activeP99, 1),
      'coordinator CPU ms/resv': fmt(r.coordinatorCpuMs, 1),
      'worker+cron CPU ms/resv': fmt(r.workersCpuMs, 1),
      'fleet CPU ms/resv': fmt(r.fleetCpuMs, 1),
      'PG CPU ms/resv': fmt(r.postgresCpuMs, 1),
      'load CPU ms/resv': fmt(r.loadCpuMs, 1),
      'other load, cores': fmt(r.otherCores, 2),
    })),
  );
  const verdict = (pass: boolean) => (pass ? 'PASS' : 'FAIL');
  for (const r of results) {
    const setting = `${r.fleet} fleet, ${r.latencyMs} ms${r.pace ? `, paced at ${r.pace}/s (${r.paceShare === TARGET_PACE_SHARE ? 'half' : `${r.paceShare} ×`} the saturated rate)` : ''}`;
    if (r.pace) {
      const target = r.paceShare === TARGET_PACE_SHARE;
      console.log(
        `${target ? 'target ' : ''}reserve p99 <= ${TARGETS.pacedReserveP99Ms} ms (${setting}): ${fmt(r.reserveP99, 1)} ms${target ? `: ${verdict(r.reserveP99 <= TARGETS.pacedReserveP99Ms)}` : ''}; ` +
          `at this pace the machine's ${availableParallelism()} cores were ${fmt(busyShare(r) * 100, 0)} % busy (${fmt(allCpuMsOf(r), 1)} ms of CPU per reservation, the load included, against ${fmt(allCpuMsOf(saturatedOf(r, results)), 1)} ms saturated)`,
      );
    } else if (r.fleet === 'stub') {
      console.log(
        `target reserve→active >= ${TARGETS.stubPerSecond}/s (${setting}): ${fmt(r.perSecond, 1)}/s: ${verdict(r.perSecond >= TARGETS.stubPerSecond)}; CPU ms per reservation: coordinator ${fmt(r.coordinatorCpuMs, 1)}, worker ${fmt(r.workersCpuMs, 1)}, stub fleet ${fmt(r.fleetCpuMs, 1)}, PostgreSQL ${fmt(r.postgresCpuMs, 1)}; the load apart ${fmt(r.loadCpuMs, 1)}`,
      );
    } else if (TARGETS.floorLatenciesMs.includes(r.latencyMs)) {
      const bound = TARGETS.ofFloor * r.floor.perSecond;
      // The fleet and the control plane share this machine's cores: what both cost per reservation
      // bounds the rate, whatever the control plane's latency. The load is the bench's, not theirs.
      const controlPlaneMs = r.coordinatorCpuMs + r.workersCpuMs + r.postgresCpuMs;
      const ceiling = (availableParallelism() * 1000) / (r.fleetCpuMs + controlPlaneMs);
      console.log(
        `target reserve→active >= ${TARGETS.ofFloor} x Kubernetes floor = ${fmt(bound, 1)}/s (${setting}; floor ${fmt(r.floor.perSecond, 1)}/s): ${fmt(r.perSecond, 1)}/s (${fmt(r.perSecond / r.floor.perSecond, 2)} x floor): ${verdict(r.perSecond >= bound)}; ` +
          `on ${availableParallelism()} shared cores the fleet (${fmt(r.fleetCpuMs, 1)} ms) and the control plane (coordinator, worker and PostgreSQL: ${fmt(controlPlaneMs, 1)} ms per reservation; the load apart, ${fmt(r.loadCpuMs, 1)} ms) allow at most ${fmt(ceiling, 0)}/s (${fmt(ceiling / r.floor.perSecond, 2)} x floor)`,
      );
    }
  }
}

/**
 * Memory of the production process: `node dist/src/main.js` with NODE_ENV=production and every
 * role, in a process of its own, its deployer driving one of three simulated clusters (the other
 * two have deployers of their own, bench/fleet.ts). Figures:
 *
 * 1. idle: after start, the fleet registered and its capacity synced, no reservation; RSS over a
 *    window, against 300 MB;
 * 2. BENCH_MEMORY_ACTIVE (5,000) reservations active, made through the API as users make them
 *    (1 GPU each, 24 h), so every part that keeps something per reservation (the planner, status
 *    rounds, the deployer, pg-boss, TypeORM, metrics, logs) holds them as it would in production;
 *    RSS against 600 MB. Rows inserted by hand would skip the deployer and the simulated cluster,
 *    and a status round would then fail them;
 * 3. on top of them, the saturated rate of whole cycles (reserve, active, cancel; SATURATE_CLIENTS
 *    closed loops), then a soak of BENCH_SOAK_MINUTES (30) at half that rate (open loop),
 *    sampling RSS and the heap every SAMPLE_MS, and the least-squares slope of RSS in MB/min after
 *    a warm-up, against 0.5 MB/min (why that bound: see SLOPE_BOUND_MB_PER_MIN).
 *
 * How Node sizes its heap matters more than anything ODC does: Node 24 derives V8's heap from the
 * memory it sees, the container limit when there is one. On this 24 GB machine without a limit a
 * semi-space of the young generation may grow to 64 MiB (three of them: up to 192 MiB), and it
 * grows to that while the modules load at start, and stays resident. Under the Helm chart's limit
 * for the coordinator and the worker (1 GiB) Node picks 512 MiB of old space and 16 MiB
 * semi-spaces by itself (measured with a 1 GiB /proc/meminfo: heap limit 560 MiB = 512 + 3 × 16).
 * The figures are for the process as production runs it: the child gets those two sizes, which
 * is what Node would pick in that container, and no other flag. Idle is also measured with this
 * machine's defaults, for comparison with earlier figures taken without a limit (308–344 MB).
 * BENCH_MEMORY_NODE_FLAGS overrides the child's flags ('' = this machine's defaults throughout).
 *
 * Other settings are production's defaults, except: the per-user limits (users hold 20 GPUs
 * here), the API rate limit (lifted: few users make many requests) and the deployers' client-side
 * Kubernetes rate limit (lifted, as in bench/reservations). BENCH_MEMORY_HEAP_SNAPSHOT (a
 * directory) writes a heap snapshot of the child after the soak.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, openSync, readFileSync, rmSync, closeSync } from 'node:fs';
import { availableParallelism, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { Pool } from 'undici';
import { createUserWithKey } from '../src/auth/first-admin';
import { kubeConfigForServer } from '../src/deployer/kube/kube-access';
import { loadAppConfig, type AppConfig } from '../src/app/config';
import { dataSourceOptions } from '../src/app/entities';
import { withDatabase } from '../src/infra/database/database-url';
import { freePort } from '../src/infra/os/free-port';
import { identicalClusters, registerClusters, startFleet, waitForCapacity, type Fleet } from './fleet';
import {
  benchApi,
  fmt,
  issueKey,
  median,
  report,
  withAdmin,
  type BenchApi,
  type BenchDatabase,
} from './support';

const ACTIVE = Number(process.env.BENCH_MEMORY_ACTIVE ?? 5000);
const SOAK_MINUTES = Number(process.env.BENCH_SOAK_MINUTES ?? 30);
/** What Node 24 picks itself under the chart's 1 GiB limit (see the header). */
const PRODUCTION_FLAGS = (
  process.env.BENCH_MEMORY_NODE_FLAGS ?? '--max-old-space-size=512 --max-semi-space-size=16'
)
  .split(' ')
  .filter((flag) => flag !== '');
const HEAP_SNAPSHOT_DIR = process.env.BENCH_MEMORY_HEAP_SNAPSHOT;

const IDLE_BOUND_MB = 300;
const ACTIVE_BOUND_MB = 600;
/**
 * A leak of b bytes per reservation at the soak's rate r/s grows RSS by r × 60 × b per minute: at
 * 16/s, 0.5 MB/min is 0.5 KB per reservation, about what one Reservation entity and its Dates
 * take in a heap snapshot (some 800 B), so a reservation's worth of anything kept per reservation
 * shows. And it is above the noise: the young generation's sawtooth (up to 3 × 16 MiB) averages
 * out over a least-squares fit of some 300 samples. The printed line says the leak size it
 * detects at the run's rate.
 */
const SLOPE_BOUND_MB_PER_MIN = 0.5;

/** Three clusters of 250 × 8 H100: 6,000 GPUs, 2,000 per cluster (under the 2,768 NodePorts). */
const CLUSTERS = 3;
const NODES_PER_CLUSTER = 250;
const GPUS_PER_NODE = 8;
const H100 = 'NVIDIA-H100-80GB-HBM3';
const NAMESPACE = 'gpu-dev';
const DEPLOYER_TOKEN = `bench-deployer-${randomBytes(12).toString('hex')}`;
const GPUS_PER_USER = 20;
const RAMP_USERS = Math.ceil(ACTIVE / GPUS_PER_USER);
const RAMP_CLIENTS = 32;
const SOAK_USERS = 50;
const IDLE_SETTLE_MS = 30_000;
const WINDOW_MS = 30_000;
const SAMPLE_MS = 5000;
const RAMP_STALL_MS = 120_000;
const START_TIMEOUT_MS = 120_000;
const CYCLE_TIMEOUT_MS = 60_000;
/** Closed loops for the saturated rate: enough that the rate, not a cycle's latency, bounds them. */
const SATURATE_CLIENTS = 128;
const SATURATE_WARM_UP_MS = 10_000;
const SATURATE_MS = 30_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const MB = 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// The process being measured

interface Sample {
  /** ms since the bench started. */
  at: number;
  rssMb: number;
  /** RssAnon (heaps: V8's, malloc's) and RssFile (the node binary and libraries, mapped). */
  anonMb: number;
  fileMb: number;
  heapUsedMb: number;
  heapTotalMb: number;
  externalMb: number;
  newSpaceMb: number;
  /** The planner thread's V8 heap (an isolate of its own, not in the heap figures above). */
  plannerHeapTotalMb: number;
  /** smapsBreakdown's parts. */
  v8PagesMb: number;
  mallocMb: number;
  otherAnonMb: number;
}

/** VmRSS, RssAnon and RssFile of a process (kB in /proc), MB. */
function rssOf(pid: number): { rss: number; anon: number; file: number } {
  const fields = new Map(
    readFileSync(`/proc/${pid}/status`, 'utf8')
      .split('\n')
      .map((line) => line.split(/:\s+/))
      .map(([key, value]) => [key, Number.parseInt(value ?? '', 10) / 1024]),
  );
  return { rss: fields.get('VmRSS')!, anon: fields.get('RssAnon')!, file: fields.get('RssFile')! };
}

/**
 * Where a process's RSS is, from /proc/<pid>/smaps, MB: V8's heap pages (V8 maps its heap in
 * anonymous 256 KiB pages: what they hold beyond `heap total` is pages V8 keeps pooled), glibc
 * malloc's main arena (`[heap]`), other anonymous memory (threads' malloc arenas, large objects,
 * stacks) and files (the node binary, libraries). A heuristic: the 256 KiB size is V8's page size
 * on x64 without pointer compression, Node's default build.
 */
function smapsBreakdown(pid: number): { v8Pages: number; malloc: number; otherAnon: number; files: number } {
  const result = { v8Pages: 0, malloc: 0, otherAnon: 0, files: 0 };
  let kind: keyof typeof result = 'otherAnon';
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const mapping = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (mapping) {
      const size = Number.parseInt(mapping[2]!, 16) - Number.parseInt(mapping[1]!, 16);
      const name = mapping[3]!;
      kind =
        name === '[heap]'
          ? 'malloc'
          : name.startsWith('/')
            ? 'files'
            : name === '' && size === 256 * 1024
              ? 'v8Pages'
              : 'otherAnon';
    } else if (line.startsWith('Rss:')) {
      result[kind] += Number.parseInt(line.slice(4), 10) / 1024;
    }
  }
  return result;
}

function smapsMb(pid: number): Pick<Sample, 'v8PagesMb' | 'mallocMb' | 'otherAnonMb'> {
  const w = smapsBreakdown(pid);
  return { v8PagesMb: w.v8Pages, mallocMb: w.malloc, otherAnonMb: w.otherAnon };
}

/** A value of the Prometheus text, by series name (labels included), bytes → MB. */
function metricMb(metrics: string, series: string): number {
  const line = metrics.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) / MB : Number.NaN;
}

interface Production {
  pid: number;
  api: Pool;
  deployerUrl: string;
  sample(): Promise<Sample>;
  /** Where its RSS is now (smapsBreakdown), as one line. */
  where(): string;
  heapSnapshot(dir: string): Promise<void>;
  close(): Promise<void>;
}

interface ProductionSettings {
  databaseUrl: string;
  apiPort: number;
  deployerPort: number;
  /** The simulated cluster its deployer drives. */
  clusterUrl: string;
  masterKey: string;
  flags: string[];
  logFile: string;
}

const started = performance.now();

/**
 * `node [flags] dist/src/main.js`, every role, production mode, its log to a file; serving once
 * /readyz answers 200. Its working directory is a scratch one (no `.env` of the checkout).
 */
async function startProduction(settings: ProductionSettings): Promise<Production> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    NODE_ENV: 'production',
    DATABASE_URL: settings.databaseUrl,
    ODC_ROLES: 'coordinator,worker,cron,deployer',
    ODC_HOST: '127.0.0.1',
    ODC_PORT: String(settings.apiPort),
    ODC_MASTER_KEY: settings.masterKey,
    ODC_DEPLOYER_HOST: '127.0.0.1',
    ODC_DEPLOYER_PORT: String(settings.deployerPort),
    ODC_DEPLOYER_TOKEN: DEPLOYER_TOKEN,
    ODC_DEPLOYER_NAMESPACES: NAMESPACE,
    ODC_KUBECONFIG_BASE64: Buffer.from(kubeConfigForServer(settings.clusterUrl).exportConfig()).toString(
      'base64',
    ),
    ODC_DEPLOYER_KUBE_QPS: '10000',
    ODC_DEPLOYER_KUBE_BURST: '10000',
    ODC_MAX_GPUS_PER_USER: String(GPUS_PER_USER),
    ODC_MAX_QUEUED_PER_USER: String(GPUS_PER_USER),
    ODC_RATE_LIMIT_API_PER_MINUTE: '100000000',
    ODC_SHUTDOWN_TIMEOUT_SECONDS: '5',
  };
  const scratch = mkdtempSync(join(tmpdir(), 'odc-bench-memory-'));
  const log = openSync(settings.logFile, 'a');
  const child: ChildProcess = spawn(
    process.execPath,
    [
      ...settings.flags,
      ...(HEAP_SNAPSHOT_DIR
        ? ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${HEAP_SNAPSHOT_DIR}`]
        : []),
      join(__dirname, '..', 'src', 'main.js'),
    ],
    { cwd: scratch, env, stdio: ['ignore', log, log] },
  );
  closeSync(log);
  const apiUrl = `http://127.0.0.1:${settings.apiPort}`;
  const api = new Pool(apiUrl, { connections: SATURATE_CLIENTS });
  const close = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    }
    await api.close();
    rmSync(scratch, { recursive: true, force: true });
  };
  const deadline = performance.now() + START_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null) {
      await close();
      throw new Error(`the production process exited (${child.exitCode}); its log: ${settings.logFile}`);
    }
    const ready = await api
      .request({ method: 'GET', path: '/readyz' })
      .then(async (res) => {
        await res.body.text();
        return res.statusCode === 200;
      })
      .catch(() => false);
    if (ready) {
      break;
    }
    if (performance.now() > deadline) {
      await close();
      throw new Error(`the production process did not get ready in time; its log: ${settings.logFile}`);
    }
    await sleep(250);
  }
  const pid = child.pid!;
  return {
    pid,
    api,
    deployerUrl: `http://127.0.0.1:${settings.deployerPort}`,
    async sample() {
      const res = await api.request({ method: 'GET', path: '/metrics' });
      const metrics = await res.body.text();
      const rss = rssOf(pid);
      return {
        at: performance.now() - started,
        rssMb: rss.rss,
        anonMb: rss.anon,
        fileMb: rss.file,
        heapUsedMb: metricMb(metrics, 'odc_nodejs_heap_size_used_bytes'),
        heapTotalMb: metricMb(metrics, 'odc_nodejs_heap_size_total_bytes'),
        externalMb: metricMb(metrics, 'odc_nodejs_external_memory_bytes'),
        newSpaceMb: metricMb(metrics, 'odc_nodejs_heap_space_size_total_bytes{space="new"}'),
        plannerHeapTotalMb: metricMb(metrics, 'odc_planner_thread_heap_bytes{kind="total"}'),
        ...smapsMb(pid),
      };
    },
    where() {
      const w = smapsBreakdown(pid);
      return `V8 heap pages ${fmt(w.v8Pages, 0)} MB, malloc main arena ${fmt(w.malloc, 0)} MB, other anonymous ${fmt(w.otherAnon, 0)} MB, files (node binary, libraries) ${fmt(w.files, 0)} MB`;
    },
    async heapSnapshot(dir: string) {
      child.kill('SIGUSR2');
      console.log(`heap snapshot of pid ${pid} requested into ${dir}`);
      await sleep(20_000); // the child writes it synchronously, answering nothing meanwhile
    },
    close,
  };
}

/** Samples every SAMPLE_MS for `ms`. */
async function sampleFor(production: Production, ms: number): Promise<Sample[]> {
  const samples: Sample[] = [];
  const end = performance.now() + ms;
  while (performance.now() < end) {
    samples.push(await production.sample());
    await sleep(Math.min(SAMPLE_MS, Math.max(0, end - performance.now())));
  }
  return samples;
}

type Summary = ReturnType<typeof summary>;

function summary(samples: Sample[]) {
  const pick = (f: (s: Sample) => number) => samples.map(f);
  return {
    rssMedian: median(pick((s) => s.rssMb)),
    rssMax: Math.max(...pick((s) => s.rssMb)),
    anon: median(pick((s) => s.anonMb)),
    file: median(pick((s) => s.fileMb)),
    heapUsed: median(pick((s) => s.heapUsedMb)),
    heapTotal: median(pick((s) => s.heapTotalMb)),
    external: median(pick((s) => s.externalMb)),
    newSpace: median(pick((s) => s.newSpaceMb)),
  };
}

/** One line of the report: the figures of `samples` (medians unless said), its bound, PASS/FAIL. */
function row(
  what: string,
  flags: string[],
  samples: Sample[],
  check: { bound: string; ok: (s: Summary) => boolean; result?: string },
): Record<string, string | number> {
  const s = summary(samples);
  return {
    what,
    'node flags': flags.join(' ') || '(none)',
    'RSS MB': fmt(s.rssMedian, 0),
    'RSS max MB': fmt(s.rssMax, 0),
    'anon / file MB': `${fmt(s.anon, 0)} / ${fmt(s.file, 0)}`,
    'heap used / total MB': `${fmt(s.heapUsed, 0)} / ${fmt(s.heapTotal, 0)}`,
    'new space MB': fmt(s.newSpace, 0),
    'external MB': fmt(s.external, 1),
    bound: check.bound,
    result: check.result ?? verdict(check.ok(s)),
  };
}

/** Least-squares slope of `y` against time, per minute. */
function slopePerMinute(samples: Sample[], y: (s: Sample) => number): number {
  const xs = samples.map((s) => s.at / 60_000);
  const ys = samples.map(y);
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const my = ys.reduce((a, b) => a + b, 0) / ys.length;
  let num = 0;
  let den = 0;
  for (let i = 0; i < xs.length; i += 1) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return den === 0 ? Number.NaN : num / den;
}

const verdict = (ok: boolean) => (ok ? 'PASS' : 'FAIL');

// ---------------------------------------------------------------------------------------------
// Users, clusters, reservations

/** `count` users and a key each, made as the API makes them (the admin's: as `npm run admin:create`). */
async function makeUsers(
  db: DataSource,
  config: AppConfig,
  prefix: string,
  count: number,
): Promise<string[]> {
  const result: string[] = [];
  for (let i = 0; i < count; i += 1) {
    result.push(await issueKey(db, config, `${prefix}-${i}`, ['reservations:read', 'reservations:write']));
  }
  return result;
}

async function countByStatus(db: DataSource): Promise<Map<string, number>> {
  const rows = await db.query<{ status: string; n: number }[]>(
    'SELECT status, count(*)::int AS n FROM reservations GROUP BY status',
  );
  return new Map(rows.map((row) => [row.status, row.n]));
}

const LIVE = ['queued', 'placing', 'provisioning', 'active'];

/**
 * RAMP_CLIENTS loops over the ramp users reserve 1 GPU each until ACTIVE are live (what failed is
 * made again); done when ACTIVE are active. Returns the rate they reached active.
 */
async function rampUp(
  api: BenchApi,
  db: DataSource,
  keys: string[],
): Promise<{ seconds: number; perSecond: number; errors: Map<string, number> }> {
  const errors = new Map<string, number>();
  let live = 0;
  let inFlight = 0;
  let active = 0;
  let done = false;
  const t0 = performance.now();
  let lastProgress = t0;
  const watcher = (async () => {
    let lastActive = 0;
    while (!done) {
      const counts = await countByStatus(db);
      live = LIVE.reduce((sum, status) => sum + (counts.get(status) ?? 0), 0);
      active = counts.get('active') ?? 0;
      if (active > lastActive) {
        lastActive = active;
        lastProgress = performance.now();
      }
      if (active >= ACTIVE) {
        done = true;
      } else if (performance.now() - lastProgress > RAMP_STALL_MS) {
        done = true;
        throw new Error(
          `the ramp stalled at ${active} active (${JSON.stringify(Object.fromEntries(counts))}; errors ${JSON.stringify(Object.fromEntries(errors))})`,
        );
      }
      await sleep(500);
    }
  })();
  const full = new Set<number>();
  let next = 0;
  const clients = Array.from({ length: RAMP_CLIENTS }, async () => {
    while (!done) {
      if (live + inFlight >= ACTIVE || full.size === keys.length) {
        await sleep(200);
        continue;
      }
      const user = next++ % keys.length;
      if (full.has(user)) {
        continue;
      }
      inFlight += 1;
      const res = await api
        .request<{ code?: string }>('POST', '/api/v1/reservations', keys[user], {
          gpu_type: 'h100',
          gpu_count: 1,
          hours: 24,
        })
        .finally(() => (inFlight -= 1));
      if (res.status === 202) {
        live += 1; // until the watcher's next count
      } else {
        const what = `${res.status} ${res.body?.code ?? ''}`;
        errors.set(what, (errors.get(what) ?? 0) + 1);
        if (res.body?.code === 'quota_exceeded') {
          full.add(user);
          // Freed again when one of theirs fails; the watcher's count lets the others make it up.
          setTimeout(() => full.delete(user), 10_000);
        } else {
          await sleep(100);
        }
      }
    }
  });
  await Promise.all([watcher, ...clients]);
  const seconds = (performance.now() - t0) / 1000;
  return { seconds, perSecond: active / seconds, errors };
}

/**
 * Reserve → active → cancel cycles by the soak users, one at a time per call: 1 GPU for 1 h,
 * cancelled once active. Reservations are watched in the database every 250 ms (one query for all
 * in flight), not through the API: the load is the reservations' life, not reads.
 */
class Cycles {
  readonly errors = new Map<string, number>();
  completed = 0;
  notActive = 0;
  inFlight = 0;
  private readonly waiting = new Map<string, (status: string) => void>();
  private stopped = false;
  private next = 0;
  private readonly watching: Promise<void>;

  constructor(
    private readonly api: BenchApi,
    private readonly db: DataSource,
    private readonly keys: string[],
  ) {
    this.watching = this.watch();
  }

  private error(what: string): void {
    this.errors.set(what, (this.errors.get(what) ?? 0) + 1);
  }

  private async watch(): Promise<void> {
    while (!this.stopped || this.waiting.size > 0) {
      if (this.waiting.size > 0) {
        const rows = await this.db.query<{ id: string; status: string }[]>(
          `SELECT id, status FROM reservations
           WHERE id = ANY($1) AND status NOT IN ('queued', 'placing', 'provisioning')`,
          [[...this.waiting.keys()]],
        );
        for (const row of rows) {
          this.waiting.get(row.id)?.(row.status);
          this.waiting.delete(row.id);
        }
      }
      await sleep(250);
    }
  }

  /** One cycle; resolves when the cancel has answered (or the reservation did not get active). */
  async run(): Promise<void> {
    const key = this.keys[this.next++ % this.keys.length];
    this.inFlight += 1;
    try {
      const res = await this.api.request<{ id?: string; code?: string }>(
        'POST',
        '/api/v1/reservations',
        key,
        {
          gpu_type: 'h100',
          gpu_count: 1,
          hours: 1,
        },
      );
      if (res.status !== 202 || !res.body?.id) {
        this.error(`reserve ${res.status} ${res.body?.code ?? ''}`);
        await sleep(100);
        return;
      }
      const id = res.body.id;
      const status = await Promise.race([
        new Promise<string>((resolve) => this.waiting.set(id, resolve)),
        sleep(CYCLE_TIMEOUT_MS).then(() => 'still starting after 60 s'),
      ]);
      this.waiting.delete(id);
      if (status !== 'active') {
        this.notActive += 1;
        this.error(`reached ${status}`);
      }
      const cancelled = await this.api.request<{ code?: string }>(
        'POST',
        `/api/v1/reservations/${id}/cancel`,
        key,
      );
      if (cancelled.status >= 300 && status === 'active') {
        this.error(`cancel ${cancelled.status} ${cancelled.body?.code ?? ''}`);
      }
      this.completed += 1;
    } catch (e) {
      this.error(e instanceof Error ? e.message : String(e));
    } finally {
      this.inFlight -= 1;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.watching;
  }
}

/** Cycles/s that SATURATE_CLIENTS closed loops sustain, over SATURATE_MS after SATURATE_WARM_UP_MS. */
async function saturatedRate(cycles: Cycles): Promise<number> {
  const t0 = performance.now();
  const windowStart = t0 + SATURATE_WARM_UP_MS;
  const windowEnd = windowStart + SATURATE_MS;
  let atStart = 0;
  const edge = sleep(SATURATE_WARM_UP_MS).then(() => (atStart = cycles.completed));
  let atEnd = 0;
  const clients = Array.from({ length: SATURATE_CLIENTS }, async () => {
    while (performance.now() < windowEnd) {
      await cycles.run();
    }
  });
  await Promise.all([edge, sleep(SATURATE_WARM_UP_MS + SATURATE_MS).then(() => (atEnd = cycles.completed))]);
  await Promise.all(clients);
  return (atEnd - atStart) / (SATURATE_MS / 1000);
}

interface SoakOutcome {
  samples: Sample[];
  started: number;
  skipped: number;
}

/**
 * Open loop at `pace` cycles/s for SOAK_MINUTES, sampling every SAMPLE_MS. A tick that finds
 * `pace` × 30 cycles already in flight (the process has fallen behind) is skipped and counted.
 */
async function soak(production: Production, cycles: Cycles, pace: number): Promise<SoakOutcome> {
  const cap = pace * 30;
  const samples: Sample[] = [];
  const t0 = performance.now();
  const end = t0 + SOAK_MINUTES * 60_000;
  let stopped = false;
  let startedCycles = 0;
  let skipped = 0;
  const sampler = (async () => {
    while (!stopped) {
      samples.push(await production.sample());
      await sleep(SAMPLE_MS);
    }
  })();
  const running = new Set<Promise<void>>();
  for (let tick = 1; performance.now() < end; tick += 1) {
    if (cycles.inFlight >= cap) {
      skipped += 1;
    } else {
      startedCycles += 1;
      const cycle = cycles.run().finally(() => running.delete(cycle));
      running.add(cycle);
    }
    // Ticks on a schedule from the start, so a slow tick does not slow the rate.
    await sleep(Math.max(0, t0 + (tick * 1000) / pace - performance.now()));
  }
  await Promise.all(running);
  stopped = true;
  await sampler;
  return { samples, started: startedCycles, skipped };
}

// ---------------------------------------------------------------------------------------------

export async function benchMemory(database: BenchDatabase): Promise<void> {
  const name = `odc_bench_memory_${randomBytes(5).toString('hex')}`;
  await withAdmin(database.url, (client) => client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`));
  const url = withDatabase(database.url, name);
  const logDir = mkdtempSync(join(tmpdir(), 'odc-bench-memory-logs-'));
  const masterKey = randomBytes(32).toString('base64');
  const [apiPort, deployerPort] = [await freePort(), await freePort()];
  let fleet: Fleet | undefined;
  let production: Production | undefined;
  let db: DataSource | undefined;
  try {
    fleet = await startFleet(
      identicalClusters(CLUSTERS, 'sim', {
        nodes: NODES_PER_CLUSTER,
        gpusPerNode: GPUS_PER_NODE,
        gpuProduct: H100,
        namespace: NAMESPACE,
        deployerToken: DEPLOYER_TOKEN,
        latencyMs: 0,
      }),
    );
    const settings = (flags: string[], log: string): ProductionSettings => ({
      databaseUrl: url,
      apiPort,
      deployerPort,
      clusterUrl: fleet!.members[0]!.clusterUrl,
      masterKey,
      flags,
      logFile: join(logDir, log),
    });
    const rows: Record<string, string | number>[] = [];
    const where: string[] = [];
    const idleBound = { bound: `<= ${IDLE_BOUND_MB} MB`, ok: (s: Summary) => s.rssMax <= IDLE_BOUND_MB };

    // Idle with this machine's defaults first: registers the fleet (its own deployer is sim0's).
    production = await startProduction(settings([], 'machine-defaults.log'));
    db = await new DataSource(
      dataSourceOptions({ url, poolSize: 4, applicationName: 'odc-bench:memory' }),
    ).initialize();
    // The production process's settings, for the keys and the audit chain they are recorded in.
    const config = loadAppConfig({ NODE_ENV: 'production', DATABASE_URL: url, ODC_MASTER_KEY: masterKey });
    const admin = await createUserWithKey(db, config, {
      username: 'bench-admin',
      admin: true,
      origin: 'user-create',
    });
    await registerClusters(
      benchApi(production.api),
      admin.key,
      [
        { name: 'sim0', url: production.deployerUrl },
        ...fleet.members.slice(1).map((member) => ({ name: member.name, url: member.deployerUrl })),
      ],
      { token: DEPLOYER_TOKEN, namespace: NAMESPACE, gpuProduct: H100, gpusPerNode: GPUS_PER_NODE },
    );
    await waitForCapacity(db, CLUSTERS * NODES_PER_CLUSTER, GPUS_PER_NODE, 60_000);
    await sleep(IDLE_SETTLE_MS);
    if (PRODUCTION_FLAGS.length > 0) {
      rows.push(
        row(
          'idle, this machine’s defaults (no container limit)',
          [],
          await sampleFor(production, WINDOW_MS),
          idleBound,
        ),
      );
      where.push(`idle, this machine's defaults: ${production.where()}`);
      await production.close();
      production = await startProduction(settings(PRODUCTION_FLAGS, 'production.log'));
      await waitForCapacity(db, CLUSTERS * NODES_PER_CLUSTER, GPUS_PER_NODE, 60_000);
      await sleep(IDLE_SETTLE_MS);
    }
    rows.push(
      row('idle, as in production', PRODUCTION_FLAGS, await sampleFor(production, WINDOW_MS), idleBound),
    );
    where.push(`idle, as in production: ${production.where()}`);

    // The reservations.
    const api = benchApi(production.api);
    const rampKeys = await makeUsers(db, config, 'bench-ramp', RAMP_USERS);
    const soakKeys = await makeUsers(db, config, 'bench-soak', SOAK_USERS);
    const ramp = await rampUp(api, db, rampKeys);
    console.log(
      `${ACTIVE} reservations active in ${fmt(ramp.seconds, 0)} s (${fmt(ramp.perSecond, 1)}/s reached active); refused on the way: ${ramp.errors.size === 0 ? 'none' : JSON.stringify(Object.fromEntries(ramp.errors))}`,
    );
    await sleep(IDLE_SETTLE_MS);
    rows.push(
      row(`${ACTIVE} active`, PRODUCTION_FLAGS, await sampleFor(production, WINDOW_MS * 2), {
        bound: `<= ${ACTIVE_BOUND_MB} MB`,
        ok: (s) => s.rssMax <= ACTIVE_BOUND_MB,
      }),
    );
    where.push(`${ACTIVE} active: ${production.where()}`);

    // The saturated rate of whole cycles on top of them, then the soak at half of it.
    const cycles = new Cycles(api, db, soakKeys);
    const saturated = await saturatedRate(cycles);
    const pace = Math.max(1, Math.round(saturated / 2));
    console.log(
      `saturated: ${fmt(saturated, 1)} cycles/s (reserve → active → cancel, ${SATURATE_CLIENTS} closed loops, on ${ACTIVE} active); the soak runs at ${pace}/s`,
    );
    const outcome = await soak(production, cycles, pace);
    await cycles.stop();
    where.push(`after the soak: ${production.where()}`);
    const warmUpMs = Math.max(60_000, (SOAK_MINUTES * 60_000) / 10);
    const soakStart = outcome.samples[0]?.at ?? 0;
    const measured = outcome.samples.filter((s) => s.at - soakStart >= warmUpMs);
    const rssSlope = slopePerMinute(measured, (s) => s.rssMb);
    const heapSlope = slopePerMinute(measured, (s) => s.heapUsedMb);
    const partSlopes = (
      [
        ['heap total', (s) => s.heapTotalMb],
        ["planner thread's heap total", (s) => s.plannerHeapTotalMb],
        ["V8's heap pages", (s) => s.v8PagesMb],
        ["malloc's main arena", (s) => s.mallocMb],
        ['other anonymous', (s) => s.otherAnonMb],
      ] as [string, (s: Sample) => number][]
    ).map(([what, y]) => `${what} ${fmt(slopePerMinute(measured, y), 3)}`);
    const detectsKb = (SLOPE_BOUND_MB_PER_MIN * MB) / (pace * 60) / 1024;
    // One-sided: memory handed back is not a leak.
    const flat = measured.length >= 3 && rssSlope < SLOPE_BOUND_MB_PER_MIN;
    rows.push(
      row(
        `soak ${SOAK_MINUTES} min at ${pace}/s (half of ${fmt(saturated, 1)}/s) on ${ACTIVE} active`,
        PRODUCTION_FLAGS,
        outcome.samples,
        {
          bound: `RSS slope < ${SLOPE_BOUND_MB_PER_MIN} MB/min`,
          ok: () => flat,
          result: `${verdict(flat)} (${fmt(rssSlope, 2)} MB/min)`,
        },
      ),
    );
    report(
      `Memory of the all-roles production process (node dist/src/main.js), ${CLUSTERS} clusters × ${NODES_PER_CLUSTER} nodes × ${GPUS_PER_NODE} H100; this machine: ${fmt(totalmem() / 1024 ** 3, 0)} GB, ${availableParallelism()} cores`,
      rows,
    );
    console.log(
      `soak: ${outcome.started} cycles started (${cycles.completed} ended in all, saturation included), ${cycles.notActive} did not get active, ${outcome.skipped} ticks skipped (${pace * 30} in flight); errors: ${cycles.errors.size === 0 ? 'none' : JSON.stringify(Object.fromEntries(cycles.errors))}`,
    );
    console.log(
      `soak slopes after a ${fmt(warmUpMs / 60_000, 1)} min warm-up, ${measured.length} samples every ${SAMPLE_MS / 1000} s: RSS ${fmt(rssSlope, 3)} MB/min, heap used ${fmt(heapSlope, 3)} MB/min (${partSlopes.join(', ')}); at ${pace}/s the bound of ${SLOPE_BOUND_MB_PER_MIN} MB/min is a leak of ${fmt(detectsKb, 2)} KB per reservation${SOAK_MINUTES < 10 ? ' (a soak this short measures mostly noise: the bound is for 30 minutes)' : ''}`,
    );
    console.log(`where the RSS is (/proc/<pid>/smaps):\n  ${where.join('\n  ')}`);
    if (HEAP_SNAPSHOT_DIR) {
      // Last: writing a snapshot grows the process's native memory for good.
      await production.heapSnapshot(HEAP_SNAPSHOT_DIR);
    }
    console.log(`the process's log: ${logDir}`);
  } finally {
    await production?.close();
    await db?.destroy();
    await fleet?.close();
    await withAdmin(database.url, (client) =>
      client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(name)} WITH (FORCE)`),
    );
  }
}

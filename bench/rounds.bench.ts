/**
 * Rounds that cost what changes: the status-sync cron's round over thousands of running
 * reservations, and a burst of re-apply jobs (expiry warnings written into the notice file).
 *
 * The fleet: CLUSTERS simulated clusters of NODES_PER_CLUSTER × 8 H100, each in a process of its
 * own (bench/fleet.ts), and in front of each a deployer with the production defaults in a process of
 * its own (bench/rounds-deployer.ts): its Kubernetes client keeps to 100 requests/s with bursts of
 * 200, which is what bounds a cluster's re-applies (the fleet's own deployers, which lift that
 * limit, stay idle). Reached over HTTP as in production. This process is one worker-and-cron
 * replica on a fresh database (the API is not on these paths). ACTIVE reservations are written
 * straight to the database as active on their nodes (the API's path to active is another bench's)
 * and their objects applied through the re-apply worker's own code, so every cluster holds what
 * production would.
 *
 * Figures, each with its bound and a baseline of the same run:
 * - the status round (StatusSyncTask.sync, every reservation asked about: a health round), median
 *   and p99 over ROUNDS; baseline: the same deployer calls, paced the same, from a bare HTTP client
 *   with no control plane (the fleet's own floor);
 * - deployer status calls per cluster per round (bound: ⌈active on it / 100⌉) and the most in
 *   flight at once on one cluster (bound: ODC_DEPLOYER_CLIENT_STATUS_CONCURRENCY), counted at the
 *   HTTP client (undici's diagnostics channels), not by the code under test;
 * - the drain rate of a burst of BURST re-apply jobs with an expiry warning (all enqueued at once,
 *   as one expiry round can), to all completed in pg-boss; baseline: the same specs POSTed straight
 *   to the deployers as many at once as the worker runs, with no control plane (the fleet's floor).
 *
 * On this 2-core machine the fleet's 20 processes, PostgreSQL and this process share the cores: the
 * floors show how much of a figure is the fleet. Environment: BENCH_ROUNDS_CPU_PROFILE (a directory:
 * a CPU profile of this process over the rounds and over the burst), BENCH_CHILD_CPU_PROFILE (of
 * each child process, bench/processes.ts).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import pino from 'pino';
import { DataSource } from 'typeorm';
import { Pool } from 'undici';
import { startRuntime, type Runtime } from '../src/app/runtime';
import { ClusterClients } from '../src/clusters/client/cluster-clients';
import { Cluster } from '../src/clusters/cluster.entity';
import { ClusterRegistry } from '../src/clusters/registry/cluster-registry';
import { clusterSecretContext, SecretBox } from '../src/clusters/secrets/secret-box';
import { MAX_EXTERNAL_IDS, type DeploymentSpec } from '../src/deployer/contract';
import { loadAppConfig } from '../src/app/config';
import { withDatabase } from '../src/infra/database/database-url';
import { QueueService } from '../src/infra/queue/queue.service';
import { StatusSyncTask } from '../src/reservations/lifecycle/status-sync.task';
import { DeploymentSpecs } from '../src/reservations/provisioning/deployment-specs';
import { REAPPLY_BATCH, ReapplyWorker } from '../src/reservations/provisioning/reapply.worker';
import { REAPPLY_QUEUE } from '../src/reservations/reservation-queues';
import { Reservation } from '../src/reservations/reservation.entity';
import { identicalClusters, startFleet, type Fleet } from './fleet';
import { startBenchProcess, type BenchProcess } from './processes';
import type { RoundsDeployerSettings } from './rounds-deployer';
import type { RoundsReplaySettings } from './rounds-replay';
import { fmt, median, percentile, report, withAdmin, type BenchDatabase } from './support';

const CLUSTERS = 10;
const ACTIVE = 5_000;
const GPUS_PER_NODE = 8;
/** One GPU each, nodes filled in turn: ACTIVE / CLUSTERS / 8 nodes per cluster are used. */
const NODES_PER_CLUSTER = Math.ceil(ACTIVE / CLUSTERS / GPUS_PER_NODE) + 1;
const H100 = 'NVIDIA-H100-80GB-HBM3';
const NAMESPACE = 'gpu-dev';
const USERS = 100;
const SSH_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBenchBenchBenchBenchBenchBenchBenchBench bench';
const DEPLOYER_TOKEN = `bench-deployer-${randomBytes(12).toString('hex')}`;
const WARM_UP_ROUNDS = 2;
const ROUNDS = 15;
/** Between rounds (production's are 2 s apart, a health round every 10 s). */
const ROUND_PAUSE_MS = 250;
const BURST = 1_500;
/** Objects applied at once while the fleet is filled (each cluster's client queues the rest). */
const FILL_CONCURRENCY = 40;
const STATUS_CONCURRENCY = 2;
/** Re-applies the worker runs at once (its batch). */
const REAPPLY_CONCURRENCY = REAPPLY_BATCH;
/** A deployer's Kubernetes rate limit refills its burst (200 at 100/s) in 2 s: each drain starts full. */
const BUCKET_REFILL_MS = 2_500;
const CPU_PROFILE_DIR = process.env.BENCH_ROUNDS_CPU_PROFILE;
const TARGETS = { roundMs: 500, reapplyPerSecond: 50 };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const verdict = (ok: boolean) => (ok ? 'PASS' : 'FAIL');

/** CPU seconds (user + system) of a process, from /proc. */
function processCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

/** CPU seconds of the fleet: the simulated clusters' processes and their deployers'. */
const fleetCpuSeconds = (setup: Setup) =>
  [...setup.fleet.members.map((m) => m.pid), ...setup.deployers.map((d) => d.pid)].reduce(
    (sum, pid) => sum + processCpuSeconds(pid),
    0,
  );

/** Runs `work` over `items`, `concurrency` at a time. */
async function eachLimited<T>(
  items: T[],
  concurrency: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) {
        await work(items[next++]!);
      }
    }),
  );
}

/**
 * Status calls (`GET …/deployments?…`) seen by undici in this process, by origin: how many, and the
 * most in flight at once. From a request's creation on its connection to its last byte or error.
 */
class StatusCallCounter {
  readonly calls = new Map<string, number>();
  readonly mostInFlight = new Map<string, number>();
  private readonly inFlight = new Map<string, number>();
  private readonly open = new WeakSet<object>();

  private readonly onCreate = (message: unknown) => {
    const request = (message as { request: { origin: string; path: string; method: string } }).request;
    if (request.method !== 'GET' || !/\/api\/v1\/deployments(\?|$)/.test(request.path)) {
      return;
    }
    this.open.add(request);
    const now = (this.inFlight.get(request.origin) ?? 0) + 1;
    this.inFlight.set(request.origin, now);
    this.calls.set(request.origin, (this.calls.get(request.origin) ?? 0) + 1);
    this.mostInFlight.set(request.origin, Math.max(now, this.mostInFlight.get(request.origin) ?? 0));
  };

  private readonly onEnd = (message: unknown) => {
    const request = (message as { request: { origin: string } }).request;
    if (this.open.delete(request)) {
      this.inFlight.set(request.origin, (this.inFlight.get(request.origin) ?? 1) - 1);
    }
  };

  start(): void {
    subscribe('undici:request:create', this.onCreate);
    subscribe('undici:request:trailers', this.onEnd);
    subscribe('undici:request:error', this.onEnd);
  }

  stop(): void {
    unsubscribe('undici:request:create', this.onCreate);
    unsubscribe('undici:request:trailers', this.onEnd);
    unsubscribe('undici:request:error', this.onEnd);
  }

  reset(): void {
    this.calls.clear();
    this.mostInFlight.clear();
  }
}

async function profiled<T>(name: string, work: () => Promise<T>): Promise<T> {
  if (!CPU_PROFILE_DIR) {
    return work();
  }
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  try {
    return await work();
  } finally {
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(join(CPU_PROFILE_DIR, `rounds-${name}.cpuprofile`), JSON.stringify(profile));
    session.disconnect();
  }
}

// ---------------------------------------------------------------------------------------------
// The fleet and the control plane

interface Setup {
  fleet: Fleet;
  /**
   * A deployer with production defaults per cluster, in its own process (bench/rounds-deployer.ts);
   * later also the deployers answering from memory (bench/rounds-replay.ts).
   */
  deployers: BenchProcess<unknown>[];
  core: Runtime;
  db: DataSource;
  clusters: { id: string; name: string; deployerUrl: string }[];
  reservations: { id: string; externalId: string; clusterId: string }[];
}

async function startControlPlane(url: string): Promise<Runtime> {
  return startRuntime({
    config: loadAppConfig({
      NODE_ENV: 'production',
      DATABASE_URL: url,
      ODC_ROLES: 'worker,cron',
      ODC_LOG_LEVEL: 'warn',
      ODC_MASTER_KEY: randomBytes(32).toString('base64'),
      ODC_SHUTDOWN_TIMEOUT_SECONDS: '5',
      ODC_QUEUE_POLL_INTERVAL_SECONDS: '0.5',
      // The rounds are run by the bench (StatusSyncTask.sync), every one a health round; the other
      // periodic work stays out of the way.
      ODC_STATUS_SYNC_INTERVAL_SECONDS: '3600',
      ODC_HEALTH_SYNC_INTERVAL_SECONDS: '0.1',
      ODC_EXPIRY_INTERVAL_SECONDS: '3600',
      ODC_CLUSTER_HEALTH_INTERVAL_SECONDS: '3600',
      ODC_ADMISSION_INTERVAL_SECONDS: '3600',
      ODC_DEPLOYER_CLIENT_STATUS_CONCURRENCY: String(STATUS_CONCURRENCY),
      ODC_DB_POOL_SIZE: '20',
    }),
    logger: pino({ level: 'warn' }),
  });
}

/**
 * The fleet's clusters, written as a registration leaves them (healthy, the token sealed): the
 * coordinator's API is not part of what is measured, and this replica runs without it.
 */
async function registerClusters(
  core: Runtime,
  members: { name: string; deployerUrl: string }[],
): Promise<Setup['clusters']> {
  const app = core.core!;
  const secretBox = app.get(SecretBox);
  const registry = app.get(ClusterRegistry);
  const clusters: Setup['clusters'] = [];
  for (const member of members) {
    const id = randomUUID();
    await app
      .get(DataSource)
      .getRepository(Cluster)
      .insert({
        id,
        name: member.name,
        deployerUrl: member.deployerUrl,
        enabled: true,
        draining: false,
        priority: 100,
        mtlsEnabled: false,
        caCert: null,
        clientCert: null,
        clientKeyEncrypted: null,
        tokenEncrypted: secretBox.encrypt(DEPLOYER_TOKEN, clusterSecretContext(id, 'token')),
        keyId: secretBox.currentKeyId,
        status: 'healthy',
        profile: {
          namespace: NAMESPACE,
          ssh_host: 'gpu.example.com',
          gpu_types: [
            { name: 'h100', node_selector: { 'nvidia.com/gpu.product': H100 }, gpus_per_node: GPUS_PER_NODE },
          ],
        },
      });
    await registry.reloadOne(id);
    clusters.push({ id, name: member.name, deployerUrl: member.deployerUrl });
  }
  return clusters;
}

/** ACTIVE reservations, active on their nodes (one GPU each), round robin over clusters and users. */
async function writeReservations(core: Runtime, clusters: Setup['clusters']): Promise<Setup['reservations']> {
  const app = core.core!;
  const db = app.get(DataSource);
  const owners = (
    await db.query<{ id: string }[]>(
      `INSERT INTO users (username, ssh_keys)
       SELECT 'bench-user-' || u, $2::jsonb FROM generate_series(1, $1::int) AS u
       RETURNING id`,
      [USERS, JSON.stringify([SSH_KEY])],
    )
  ).map((row) => row.id);
  const clients = app.get(ClusterClients);
  const nodes = new Map<string, string[]>();
  for (const cluster of clusters) {
    const capacity = await clients.for(cluster.id).capacity();
    nodes.set(cluster.id, capacity.nodes.map((n) => n.name).sort());
  }
  const rows = Array.from({ length: ACTIVE }, (_, i) => {
    const cluster = clusters[i % CLUSTERS]!;
    const onCluster = Math.floor(i / CLUSTERS);
    return {
      owner: owners[i % USERS],
      clusterId: cluster.id,
      node: nodes.get(cluster.id)![Math.floor(onCluster / GPUS_PER_NODE)],
      // As the coordinator names them: random, so no two share a long prefix.
      externalId: `odc-${randomBytes(6).toString('hex')}`,
    };
  });
  const inserted = await db.query<{ id: string; external_id: string; cluster_id: string }[]>(
    `INSERT INTO reservations (owner_id, gpu_type, gpu_count, duration_minutes, status, cluster_id,
                               node_name, external_id, started_at, expires_at, ssh_command, version)
     SELECT o, 'h100', 1, 240, 'active', c, n, e, now(), now() + interval '4 hours', 'ssh -p 30000 dev@gpu.example.com', 1
     FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[]) AS r(o, c, n, e)
     RETURNING id, external_id, cluster_id`,
    [
      rows.map((r) => r.owner),
      rows.map((r) => r.clusterId),
      rows.map((r) => r.node),
      rows.map((r) => r.externalId),
    ],
  );
  return inserted.map((r) => ({ id: r.id, externalId: r.external_id, clusterId: r.cluster_id }));
}

async function setUp(url: string): Promise<Setup> {
  const fleet = await startFleet(
    identicalClusters(CLUSTERS, 'sim', {
      nodes: NODES_PER_CLUSTER,
      gpusPerNode: GPUS_PER_NODE,
      gpuProduct: H100,
      namespace: NAMESPACE,
      deployerToken: DEPLOYER_TOKEN,
      latencyMs: 0,
    }),
  );
  const deployers: BenchProcess<{ deployer: string }>[] = [];
  let core: Runtime | undefined;
  try {
    for (const member of fleet.members) {
      const settings: RoundsDeployerSettings = {
        clusterUrl: member.clusterUrl,
        namespace: NAMESPACE,
        deployerToken: DEPLOYER_TOKEN,
      };
      deployers.push(await startBenchProcess('rounds-deployer.js', settings));
    }
    core = await startControlPlane(url);
    const clusters = await registerClusters(
      core,
      fleet.members.map((member, i) => ({ name: member.name, deployerUrl: deployers[i]!.ready.deployer })),
    );
    const reservations = await writeReservations(core, clusters);
    const t0 = performance.now();
    const worker = core.core!.get(ReapplyWorker);
    await eachLimited(reservations, FILL_CONCURRENCY, (r) => worker.reapply({ reservation_id: r.id }));
    console.log(
      `fleet filled: ${reservations.length} reservations' objects applied in ${fmt((performance.now() - t0) / 1000, 1)} s`,
    );
    return { fleet, deployers, core, db: core.core!.get(DataSource), clusters, reservations };
  } catch (error) {
    await core?.close();
    await Promise.all(deployers.map((d) => d.close()));
    await fleet.close();
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------
// Status rounds

interface RoundFigures {
  medianMs: number;
  p99Ms: number;
  callsPerCluster: number;
  callsBound: number;
  mostInFlight: number;
  floorMedianMs: number;
  floorP99Ms: number;
  stillActive: number;
  fleetCpuMsPerRound: number;
  thisCpuMsPerRound: number;
}

/** Every cluster's reservations asked about straight from a bare client, paced as ODC paces them. */
async function floorRound(setup: Setup, pools: Map<string, Pool>): Promise<number> {
  const t0 = performance.now();
  await Promise.all(
    setup.clusters.map(async (cluster) => {
      const ids = setup.reservations.filter((r) => r.clusterId === cluster.id).map((r) => r.externalId);
      const chunks: string[][] = [];
      for (let i = 0; i < ids.length; i += MAX_EXTERNAL_IDS) {
        chunks.push(ids.slice(i, i + MAX_EXTERNAL_IDS));
      }
      await eachLimited(chunks, STATUS_CONCURRENCY, async (chunk) => {
        const res = await pools.get(cluster.id)!.request({
          method: 'GET',
          path: `/api/v1/deployments?external_id=${chunk.join(',')}`,
          headers: { authorization: `Bearer ${DEPLOYER_TOKEN}`, accept: 'application/json' },
        });
        const statuses = (await res.body.json()) as unknown[];
        if (res.statusCode !== 200 || statuses.length !== chunk.length) {
          throw new Error(`the floor's status call answered ${res.statusCode} with ${statuses.length}`);
        }
      });
    }),
  );
  return performance.now() - t0;
}

/**
 * ROUNDS status rounds of ODC (after WARM_UP_ROUNDS), each followed by a floor round, so both see
 * the same machine (other work on a shared machine comes and goes).
 */
async function statusRounds(setup: Setup, name: string): Promise<RoundFigures> {
  const task = setup.core.core!.get(StatusSyncTask);
  const counter = new StatusCallCounter();
  const pools = new Map(
    setup.clusters.map((c) => [c.id, new Pool(c.deployerUrl, { connections: STATUS_CONCURRENCY })]),
  );
  try {
    for (let i = 0; i < WARM_UP_ROUNDS; i += 1) {
      await task.sync();
      await floorRound(setup, pools);
      await sleep(ROUND_PAUSE_MS);
    }
    const times: number[] = [];
    const floors: number[] = [];
    let fleetCpu = 0;
    let thisCpu = 0;
    await profiled(name, async () => {
      for (let i = 0; i < ROUNDS; i += 1) {
        const fleetBefore = fleetCpuSeconds(setup);
        const cpuBefore = process.cpuUsage();
        counter.start();
        const t0 = performance.now();
        await task.sync();
        times.push(performance.now() - t0);
        counter.stop();
        const cpu = process.cpuUsage(cpuBefore);
        thisCpu += (cpu.user + cpu.system) / 1000;
        fleetCpu += (fleetCpuSeconds(setup) - fleetBefore) * 1000;
        await sleep(ROUND_PAUSE_MS);
        floors.push(await floorRound(setup, pools));
        await sleep(ROUND_PAUSE_MS);
      }
    });
    const [{ n }] = await setup.db.query<[{ n: number }]>(
      `SELECT count(*)::int AS n FROM reservations WHERE status = 'active'`,
    );
    return {
      medianMs: median(times),
      p99Ms: percentile(times, 99),
      callsPerCluster: Math.max(...counter.calls.values()) / ROUNDS,
      callsBound: Math.ceil(ACTIVE / CLUSTERS / MAX_EXTERNAL_IDS),
      mostInFlight: Math.max(...counter.mostInFlight.values()),
      floorMedianMs: median(floors),
      floorP99Ms: percentile(floors, 99),
      stillActive: n,
      fleetCpuMsPerRound: fleetCpu / ROUNDS,
      thisCpuMsPerRound: thisCpu / ROUNDS,
    };
  } finally {
    counter.stop();
    await Promise.all([...pools.values()].map((pool) => pool.close()));
  }
}

/**
 * The clusters' deployers replaced by ones answering status lists from memory (bench/rounds-replay.ts,
 * a snapshot of what the real ones answer), for the control plane's own cost: a new connection
 * per cluster, as after any change of a cluster's deployer URL.
 */
async function replayDeployers(setup: Setup): Promise<BenchProcess<{ deployers: string[] }>> {
  const settings: RoundsReplaySettings = {
    deployers: setup.clusters.map((c) => c.deployerUrl),
    token: DEPLOYER_TOKEN,
  };
  const replay = await startBenchProcess<{ deployers: string[] }>('rounds-replay.js', settings);
  const registry = setup.core.core!.get(ClusterRegistry);
  for (const [i, cluster] of setup.clusters.entries()) {
    cluster.deployerUrl = replay.ready.deployers[i]!;
    await setup.db.query(`UPDATE clusters SET deployer_url = $2 WHERE id = $1`, [
      cluster.id,
      cluster.deployerUrl,
    ]);
    await registry.reloadOne(cluster.id);
  }
  setup.deployers.push(replay);
  return replay;
}

// ---------------------------------------------------------------------------------------------
// Re-apply burst

interface DrainFigures {
  perSecond: number;
  seconds: number;
  failed: number;
  floorPerSecond: number;
  fleetCpuMsPerJob: number;
  thisCpuMsPerJob: number;
}

const warningOf = (expiresAt: Date) =>
  `Expires in 30 minutes (at ${expiresAt.toISOString()}); extend it to keep working`;

async function jobCounts(db: DataSource): Promise<{ completed: number; failed: number; pending: number }> {
  const rows = await db.query<{ state: string; n: number }[]>(
    `SELECT state, count(*)::int AS n FROM pgboss.job WHERE name = $1 GROUP BY state`,
    [REAPPLY_QUEUE],
  );
  const of = (state: string) => rows.find((r) => r.state === state)?.n ?? 0;
  return {
    completed: of('completed'),
    failed: of('failed'),
    pending: of('created') + of('retry') + of('active'),
  };
}

/** The burst's specs POSTed straight to the deployers, as many at once as the worker runs them. */
async function drainFloor(setup: Setup, burst: Setup['reservations'], concurrency: number): Promise<number> {
  const app = setup.core.core!;
  const specs = app.get(DeploymentSpecs);
  const registry = app.get(ClusterRegistry);
  const rows = await setup.db.getRepository(Reservation).findBy(burst.map((r) => ({ id: r.id })));
  const built: { clusterId: string; spec: DeploymentSpec }[] = [];
  for (const reservation of rows) {
    const cluster = registry.get(reservation.clusterId!)!;
    built.push({
      clusterId: cluster.id,
      spec: await specs.build(reservation, cluster, `${warningOf(reservation.expiresAt!)} (floor)`),
    });
  }
  const pools = new Map(setup.clusters.map((c) => [c.id, new Pool(c.deployerUrl, { connections: 16 })]));
  try {
    const t0 = performance.now();
    await eachLimited(built, concurrency, async ({ clusterId, spec }) => {
      const res = await pools.get(clusterId)!.request({
        method: 'POST',
        path: '/api/v1/deployments',
        headers: { authorization: `Bearer ${DEPLOYER_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify(spec),
      });
      await res.body.text();
      if (res.statusCode !== 200 && res.statusCode !== 201) {
        throw new Error(`the floor's apply answered ${res.statusCode}`);
      }
    });
    return built.length / ((performance.now() - t0) / 1000);
  } finally {
    await Promise.all([...pools.values()].map((pool) => pool.close()));
  }
}

async function reapplyBurst(setup: Setup): Promise<DrainFigures> {
  const queue = setup.core.core!.get(QueueService);
  // The burst: BURST reservations spread over the clusters, as expiry warnings of one round.
  const step = Math.floor(setup.reservations.length / BURST);
  const burst = Array.from({ length: BURST }, (_, i) => setup.reservations[i * step]!);
  const expiresAt = new Map(
    (await setup.db.getRepository(Reservation).findBy(burst.map((r) => ({ id: r.id })))).map((r) => [
      r.id,
      r.expiresAt!,
    ]),
  );
  await sleep(BUCKET_REFILL_MS);
  const before = await jobCounts(setup.db);
  const fleetBefore = fleetCpuSeconds(setup);
  const cpuBefore = process.cpuUsage();
  const t0 = performance.now();
  const counts = await profiled('reapply', async () => {
    await queue.sendMany(
      REAPPLY_QUEUE,
      burst.map((r) => ({ reservation_id: r.id, warning: warningOf(expiresAt.get(r.id)!) })),
    );
    for (;;) {
      await sleep(50);
      const now = await jobCounts(setup.db);
      if (now.completed - before.completed + (now.failed - before.failed) >= BURST && now.pending === 0) {
        return now;
      }
      if (performance.now() - t0 > 180_000) {
        throw new Error(`the burst did not drain in 3 minutes: ${JSON.stringify(now)}`);
      }
    }
  });
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const fleetCpu = fleetCpuSeconds(setup) - fleetBefore;
  await sleep(BUCKET_REFILL_MS);
  const floorPerSecond = await drainFloor(setup, burst, REAPPLY_CONCURRENCY);
  return {
    perSecond: BURST / seconds,
    seconds,
    failed: counts.failed - before.failed,
    floorPerSecond,
    fleetCpuMsPerJob: (fleetCpu * 1000) / BURST,
    thisCpuMsPerJob: (cpu.user + cpu.system) / 1000 / BURST,
  };
}

// ---------------------------------------------------------------------------------------------

export async function benchRounds(database: BenchDatabase): Promise<void> {
  const name = `odc_bench_rounds_${randomBytes(5).toString('hex')}`;
  await withAdmin(database.url, (client) => client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`));
  let setup: Setup | undefined;
  try {
    setup = await setUp(withDatabase(database.url, name));
    const rounds = await statusRounds(setup, 'status');
    const drain = await reapplyBurst(setup);
    await replayDeployers(setup);
    const alone = await statusRounds(setup, 'status-alone');
    const roundRows = (what: string, figures: RoundFigures, baseline: string) => [
      {
        figure: `status round ${what}, median ms`,
        value: fmt(figures.medianMs, 1),
        'bound or baseline': `<= ${TARGETS.roundMs}; ${baseline} ${fmt(figures.floorMedianMs, 1)}`,
        result: verdict(figures.medianMs <= TARGETS.roundMs),
      },
      {
        figure: `status round ${what}, p99 ms`,
        value: fmt(figures.p99Ms, 1),
        'bound or baseline': `<= ${TARGETS.roundMs}; ${baseline} ${fmt(figures.floorP99Ms, 1)}`,
        result: verdict(figures.p99Ms <= TARGETS.roundMs),
      },
    ];
    report(
      `Rounds: ${ACTIVE} active across ${CLUSTERS} simulated clusters, deployers over HTTP (every process on the same 2 cores)`,
      [
        ...roundRows('over the simulated fleet', rounds, 'fleet floor (same calls, no control plane)'),
        ...roundRows(
          'of the control plane alone (deployers answering from memory)',
          alone,
          'same calls, no control plane',
        ),
        {
          figure: 'deployer status calls per cluster per round',
          value: fmt(rounds.callsPerCluster, 1),
          'bound or baseline': `<= ${rounds.callsBound} (${ACTIVE / CLUSTERS} ids / ${MAX_EXTERNAL_IDS})`,
          result: verdict(rounds.callsPerCluster <= rounds.callsBound),
        },
        {
          figure: 'most status calls in flight on one cluster',
          value: rounds.mostInFlight,
          'bound or baseline': `<= ${STATUS_CONCURRENCY} (ODC_DEPLOYER_CLIENT_STATUS_CONCURRENCY)`,
          result: verdict(rounds.mostInFlight <= STATUS_CONCURRENCY),
        },
        {
          figure: `re-apply drain, ${BURST} expiry-warning jobs, jobs/s`,
          value: fmt(drain.perSecond, 1),
          'bound or baseline': `>= ${TARGETS.reapplyPerSecond}; fleet floor ${fmt(drain.floorPerSecond, 1)} (${REAPPLY_CONCURRENCY} at once, no control plane)`,
          result: verdict(drain.perSecond >= TARGETS.reapplyPerSecond && drain.failed === 0),
        },
      ],
    );
    console.log(
      `status round over the fleet, CPU per round: this process ${fmt(rounds.thisCpuMsPerRound, 1)} ms, fleet ${fmt(rounds.fleetCpuMsPerRound, 1)} ms; control plane alone: this process ${fmt(alone.thisCpuMsPerRound, 1)} ms; reservations still active after the rounds: ${alone.stillActive} of ${ACTIVE}`,
    );
    console.log(
      `re-apply burst: drained in ${fmt(drain.seconds, 1)} s, ${drain.failed} failed; CPU per job: this process (worker) ${fmt(drain.thisCpuMsPerJob, 1)} ms, fleet ${fmt(drain.fleetCpuMsPerJob, 1)} ms`,
    );
  } finally {
    await setup?.core.close();
    await Promise.all(setup?.deployers.map((d) => d.close()) ?? []);
    await setup?.fleet.close();
    await withAdmin(database.url, (client) =>
      client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(name)} WITH (FORCE)`),
    );
  }
}

/**
 * Cluster registry propagation through LISTEN/NOTIFY: 3 replicas (ClusterRegistry, each on its own
 * pool and LISTEN connection, polling set to an hour so only NOTIFY counts), then 200 sequential
 * UPDATEs of one cluster from a separate writer. Each is timed from just before the UPDATE is
 * issued until a replica's `onChange` reports that cluster with the new value (per replica, and
 * until all 3 have it). Baseline, same run and updates: the UPDATE round-trip alone (the commit,
 * seen from the writer), so propagation/write shows what NOTIFY + reload add. For context, the
 * platform ODC replaces polled every 30 s (15 s expected staleness). Target: all-replica p99 < 100 ms.
 */
import { SchedulerRegistry } from '@nestjs/schedule';
import { DataSource } from 'typeorm';
import { ClusterRegistry } from '../src/clusters/registry/cluster-registry';
import { loadAppConfig } from '../src/app/config';
import { dataSourceOptions } from '../src/app/entities';
import { SystemClock } from '../src/infra/time/clock';
import { migrateExclusively } from '../src/infra/database/migrate';
import { fmt, median, percentile, report, type BenchDatabase } from './support';

const REPLICAS = 3;
const UPDATES = 200;
const WARMUP = 20;
const TIMEOUT_MS = 5000;
const SEED_POLL_MS = 30_000;
const TARGET_P99_MS = 100;

/** When `replica` reports `id` holding `priority` (performance.now()); rejects after TIMEOUT_MS. */
function arrival(replica: ClusterRegistry, id: string, priority: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`no notification of priority ${priority} within ${TIMEOUT_MS} ms`));
    }, TIMEOUT_MS);
    const stop = replica.onChange((change) => {
      if (change.id === id && replica.get(id)?.priority === priority) {
        clearTimeout(timer);
        stop();
        resolve(performance.now());
      }
    });
  });
}

const row = (path: string, ms: number[]) => ({
  path,
  'p50 ms': fmt(median(ms), 2),
  'p90 ms': fmt(percentile(ms, 90), 2),
  'p99 ms': fmt(percentile(ms, 99), 2),
  'max ms': fmt(Math.max(...ms), 2),
});

export async function benchRegistry(database: BenchDatabase): Promise<void> {
  const open = (applicationName: string) =>
    new DataSource(dataSourceOptions({ url: database.url, poolSize: 2, applicationName })).initialize();
  const config = loadAppConfig({ ODC_REGISTRY_POLL_SECONDS: '3600' });
  const writer = await open('odc-bench:writer');
  const sources = [writer];
  const replicas: ClusterRegistry[] = [];
  let id: string | undefined;
  try {
    await migrateExclusively(writer);
    for (let i = 0; i < REPLICAS; i += 1) {
      const source = await open(`odc-bench:replica-${i}`);
      sources.push(source);
      const replica = new ClusterRegistry(source, config, new SchedulerRegistry(), new SystemClock());
      replicas.push(replica);
      await replica.onApplicationBootstrap();
    }
    [{ id }] = await writer.query<[{ id: string }]>(
      `INSERT INTO clusters (name, deployer_url) VALUES ($1, 'http://127.0.0.1:1') RETURNING id`,
      [`bench-registry-${process.pid}`],
    );
    const deadline = performance.now() + TIMEOUT_MS;
    while (!replicas.every((replica) => replica.get(id!))) {
      if (performance.now() > deadline) {
        throw new Error('the inserted cluster did not reach every replica');
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }

    const write: number[] = [];
    const perReplica: number[][] = replicas.map(() => []);
    const all: number[] = [];
    for (let n = 0; n < WARMUP + UPDATES; n += 1) {
      const priority = 1000 + n;
      const waits = replicas.map((replica) => arrival(replica, id!, priority));
      const t0 = performance.now();
      await writer.query('UPDATE clusters SET priority = $2 WHERE id = $1', [id, priority]);
      const committed = performance.now() - t0;
      const arrived = (await Promise.all(waits)).map((t) => t - t0);
      if (n >= WARMUP) {
        write.push(committed);
        arrived.forEach((ms, i) => perReplica[i]!.push(ms));
        all.push(Math.max(...arrived));
      }
    }

    report(`Registry: NOTIFY propagation of ${UPDATES} updates to ${REPLICAS} replicas`, [
      row('baseline UPDATE round-trip (writer)', write),
      ...perReplica.map((ms, i) => row(`replica ${i + 1} has it`, ms)),
      row(`all ${REPLICAS} replicas have it`, all),
    ]);
    const p99 = percentile(all, 99);
    console.log(
      `ratio propagation/write p50: ${fmt(median(all) / median(write), 2)} (+${fmt(median(all) - median(write), 2)} ms beyond the commit)`,
    );
    console.log(
      `seed ${SEED_POLL_MS / 1000} s polling: ${SEED_POLL_MS / 2} ms expected staleness; all-replica p99 is ${fmt(SEED_POLL_MS / p99, 0)}× better than ${SEED_POLL_MS / 1000} s polling`,
    );
    console.log(`target p99 < ${TARGET_P99_MS} ms: ${p99 < TARGET_P99_MS ? 'met' : 'NOT met'}`);
  } finally {
    // Replicas first: the delete's notification would otherwise reach pools being closed.
    await Promise.all(replicas.map((replica) => replica.onModuleDestroy()));
    if (id) {
      await writer.query('DELETE FROM clusters WHERE id = $1', [id]);
    }
    await Promise.all(sources.map((source) => source.destroy()));
  }
}

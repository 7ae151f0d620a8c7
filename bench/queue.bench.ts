/**
 * Job throughput through QueueService (pg-boss: send, then workers fetch, run an empty handler and
 * complete), against a baseline of the same work done with raw PostgreSQL `FOR UPDATE SKIP LOCKED`
 * on a plain table (insert, then claim-and-delete in batches), in the same run and database.
 */
import { Pool } from 'pg';
import { QueueService } from '../src/infra/queue/queue.service';
import { fmt, median, report, type BenchDatabase } from './support';

const JOBS = 2000;
const ROUNDS = 3;
const BATCH = 50;
const WORKERS = 4;

async function pgBossRound(queue: QueueService, name: string): Promise<{ enqueue: number; drain: number }> {
  let done = 0;
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const t0 = performance.now();
  for (let i = 0; i < JOBS; i += BATCH) {
    await Promise.all(
      Array.from({ length: Math.min(BATCH, JOBS - i) }, (_, k) => queue.send(name, { n: i + k })),
    );
  }
  const t1 = performance.now();
  await Promise.all(
    Array.from({ length: WORKERS }, () =>
      queue.work<{ n: number }>(name, { batchSize: BATCH }, async (jobs) => {
        done += jobs.length;
        if (done >= JOBS) {
          finish();
        }
      }),
    ),
  );
  await finished;
  const t2 = performance.now();
  await queue.offWork(name);
  return { enqueue: JOBS / ((t1 - t0) / 1000), drain: JOBS / ((t2 - t1) / 1000) };
}

async function skipLockedRound(pool: Pool): Promise<{ enqueue: number; drain: number }> {
  await pool.query('CREATE TABLE IF NOT EXISTS bench_jobs (id bigserial PRIMARY KEY, data jsonb NOT NULL)');
  await pool.query('TRUNCATE bench_jobs');
  const t0 = performance.now();
  for (let i = 0; i < JOBS; i += BATCH) {
    await Promise.all(
      Array.from({ length: Math.min(BATCH, JOBS - i) }, (_, k) =>
        pool.query('INSERT INTO bench_jobs (data) VALUES ($1)', [{ n: i + k }]),
      ),
    );
  }
  const t1 = performance.now();
  await Promise.all(
    Array.from({ length: WORKERS }, async () => {
      for (;;) {
        const { rowCount } = await pool.query(
          `DELETE FROM bench_jobs WHERE id IN (SELECT id FROM bench_jobs ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)`,
          [BATCH],
        );
        if (!rowCount) {
          return;
        }
      }
    }),
  );
  const t2 = performance.now();
  return { enqueue: JOBS / ((t1 - t0) / 1000), drain: JOBS / ((t2 - t1) / 1000) };
}

export async function benchQueue(database: BenchDatabase): Promise<void> {
  const queue = new QueueService({
    url: database.url,
    supervise: false,
    listen: true,
    pollIntervalSeconds: 0.5,
    monitorIntervalSeconds: 60,
    shutdownTimeoutSeconds: 5,
    applicationName: 'odc-bench',
  });
  await queue.onModuleInit();
  const pool = new Pool({ connectionString: database.url, max: 8 });
  try {
    const boss: { enqueue: number; drain: number }[] = [];
    const raw: { enqueue: number; drain: number }[] = [];
    for (let round = 0; round < ROUNDS; round += 1) {
      const name = `bench.round${round}`;
      await queue.defineQueue({ name });
      boss.push(await pgBossRound(queue, name));
      raw.push(await skipLockedRound(pool));
    }
    const b = { enqueue: median(boss.map((r) => r.enqueue)), drain: median(boss.map((r) => r.drain)) };
    const r = { enqueue: median(raw.map((x) => x.enqueue)), drain: median(raw.map((x) => x.drain)) };
    report(`Queue: ${JOBS} jobs, ${WORKERS} workers x batch ${BATCH}, median of ${ROUNDS} rounds`, [
      { path: 'baseline SKIP LOCKED', 'enqueue jobs/s': fmt(r.enqueue, 0), 'drain jobs/s': fmt(r.drain, 0) },
      {
        path: 'QueueService (pg-boss)',
        'enqueue jobs/s': fmt(b.enqueue, 0),
        'drain jobs/s': fmt(b.drain, 0),
      },
    ]);
    console.log(
      `ratio pg-boss/baseline: enqueue ${fmt(b.enqueue / r.enqueue, 2)}, drain ${fmt(b.drain / r.drain, 2)}`,
    );
  } finally {
    await pool.end();
    await queue.beforeApplicationShutdown();
  }
}

import { DataSource } from 'typeorm';
import { QueueService } from '../../src/infra/queue/queue.service';
import { startTestApp, type TestApp } from '../support/app';
import { eventually } from '../support/eventually';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { ConsumerProbe, TEST_QUEUE, testConsumerModule } from '../support/test-consumer';

describe('job queue (pg-boss)', () => {
  let database: TestDatabase;
  let producer: TestApp;
  let queue: QueueService;
  const workers: TestApp[] = [];

  const startWorker = async (probe: ConsumerProbe, env: Record<string, string> = {}) => {
    const worker = await startTestApp({
      roles: 'worker',
      database,
      env,
      imports: [testConsumerModule(probe)],
    });
    workers.push(worker);
    return worker;
  };
  const stateOf = async (id: string) => (await queue.findJob(TEST_QUEUE, id))?.state;

  beforeAll(async () => {
    database = await createTestDatabase();
    producer = await startTestApp({ roles: 'coordinator', database });
    queue = producer.core().get(QueueService);
    await queue.defineQueue({ name: TEST_QUEUE, retryLimit: 3 });
  });

  afterEach(async () => {
    await Promise.all(workers.splice(0).map((worker) => worker.close()));
  });

  afterAll(async () => {
    await producer.close();
    await database.drop();
  });

  it('a coordinator produces but never consumes; a worker consumes', async () => {
    const id = (await queue.send(TEST_QUEUE, { n: 1 }))!;
    expect(await stateOf(id)).toBe('created');

    const probe = new ConsumerProbe();
    await startWorker(probe);
    await eventually(
      () => stateOf(id),
      (state) => state === 'completed',
    );
    // By the worker: had the coordinator taken it first, the worker's probe would not have it (a
    // job is fetched by one consumer at a time, and a completed one never again).
    expect(probe.finished).toEqual([1]);
  });

  it('enqueues inside a transaction: a rollback leaves no job, a commit leaves exactly one', async () => {
    const dataSource = producer.core().get(DataSource);
    let rolledBackId: string | null = null;
    await expect(
      dataSource.transaction(async (manager) => {
        rolledBackId = await queue.send(TEST_QUEUE, { n: 2 }, { manager });
        throw new Error('abort the transaction');
      }),
    ).rejects.toThrow('abort the transaction');
    expect(rolledBackId).toEqual(expect.any(String));
    expect(await queue.findJob(TEST_QUEUE, rolledBackId!)).toBeNull();

    const committedId = await dataSource.transaction((manager) =>
      queue.send(TEST_QUEUE, { n: 3 }, { manager }),
    );
    expect(await stateOf(committedId!)).toBe('created');
  });

  it('works a batch job by job: one that throws is retried alone, the others complete once', async () => {
    const name = 'test.each';
    await queue.defineQueue({ name, retryLimit: 2, retryDelay: 0 });
    const runs = new Map<number, number>();
    await queue.workEach<{ n: number }>(name, { batchSize: 8 }, async (job) => {
      runs.set(job.data.n, (runs.get(job.data.n) ?? 0) + 1);
      if (job.data.n === 2 && runs.get(2) === 1) {
        throw new Error('first try fails');
      }
    });
    try {
      const dataSource = producer.core().get(DataSource);
      await dataSource.transaction((manager) =>
        queue.sendMany(name, [{ n: 1 }, { n: 2 }, { n: 3 }], { manager }),
      );
      await eventually(
        () =>
          dataSource.query<{ n: number; state: string; retry_count: number }[]>(
            `SELECT (data->>'n')::int AS n, state, retry_count FROM pgboss.job WHERE name = $1 ORDER BY 1`,
            [name],
          ),
        (jobs) => jobs.length === 3 && jobs.every((job) => job.state === 'completed'),
      );
      expect(Object.fromEntries(runs)).toEqual({ 1: 1, 2: 2, 3: 1 });
    } finally {
      await queue.offWork(name);
    }
  });

  it('notifies listeners when the transaction commits, never when it rolls back', async () => {
    const dataSource = producer.core().get(DataSource);
    const channel = 'odc_test_wakeup';
    let heard = 0;
    await queue.listen(channel, () => {
      heard += 1;
    });
    await expect(
      dataSource.transaction(async (manager) => {
        await queue.notify(channel, { manager });
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    await dataSource.transaction(async (manager) => {
      await queue.notify(channel, { manager });
      await queue.notify(channel, { manager }); // one transaction's repeats arrive once
    });
    // Notifications arrive in commit order: had the rollback notified, it would be heard first.
    await eventually(
      () => heard,
      (count) => count >= 1,
    );
    await queue.notify(channel);
    await eventually(
      () => heard,
      (count) => count >= 2,
    );
    expect(heard).toBe(2);
  });

  it('a job enqueued in a transaction wakes the workers once it commits, with nothing notified before', async () => {
    const dataSource = producer.core().get(DataSource);
    const probe = new ConsumerProbe();
    // A poll far away: only the wake-up can bring the job in time.
    await startWorker(probe, { ODC_QUEUE_POLL_INTERVAL_SECONDS: '60' });
    const heard: string[] = [];
    await queue.listen('odc_queue_wake', (payload) => heard.push(payload ?? '(missed)'));
    heard.length = 0; // the call a new listener gets for what it missed
    const sentInside: string[] = [];
    await dataSource.transaction(async (manager) => {
      // What goes over the transaction's connection, whichever way (plain or prepared).
      const client = (await manager.queryRunner!.connect()) as { query: (...args: unknown[]) => unknown };
      const query = client.query.bind(client);
      client.query = (statement: unknown, ...rest: unknown[]) => {
        sentInside.push(typeof statement === 'string' ? statement : (statement as { text: string }).text);
        return query(statement, ...rest);
      };
      await queue.send(TEST_QUEUE, { n: 40 }, { manager });
      client.query = query;
    });
    // The job was inserted in the transaction, its NOTIFY was not (it is sent after the commit).
    expect(sentInside.some((text) => text.includes('job_common'))).toBe(true);
    expect(sentInside.filter((text) => /pg_notify/i.test(text))).toEqual([]);
    // Within eventually's 10 s, well before the worker's next poll.
    await eventually(
      () => probe.finished,
      (finished) => finished.includes(40),
    );
    expect(heard).toEqual([TEST_QUEUE]);
  });

  it('a listener whose connection is lost listens again, and is called once for what it missed', async () => {
    const dataSource = producer.core().get(DataSource);
    const channel = 'odc_test_relisten';
    let heard = 0;
    await queue.listen(channel, () => {
      heard += 1;
    });
    const [{ ended }] = await dataSource.query<[{ ended: number }]>(
      `SELECT count(pg_terminate_backend(pid))::int AS ended FROM pg_stat_activity
       WHERE application_name LIKE '%:listen' AND query = $1`,
      [`LISTEN "${channel}"`],
    );
    expect(ended).toBe(1);
    await eventually(
      () => heard,
      (count) => count >= 1,
    );
    await queue.notify(channel);
    await eventually(
      () => heard,
      (count) => count >= 2,
    );
  });

  it('refuses a manager outside a transaction rather than enqueueing non-atomically', async () => {
    const dataSource = producer.core().get(DataSource);
    await expect(queue.send(TEST_QUEUE, { n: 4 }, { manager: dataSource.manager })).rejects.toThrow(
      'open transaction',
    );
  });

  it('shutdown lets an in-flight job finish', async () => {
    const probe = new ConsumerProbe();
    const worker = await startWorker(probe);
    const id = (await queue.send(TEST_QUEUE, { n: 5, holdMs: 1500 }))!;
    await eventually(
      () => probe.started,
      (started) => started.includes(5),
    );
    await worker.close();
    workers.splice(workers.indexOf(worker), 1);
    expect(probe.finished).toContain(5);
    expect(await stateOf(id)).toBe('completed');
  });

  it('a job still running at the shutdown deadline goes back to the queue and is done by the next worker', async () => {
    const slow = new ConsumerProbe();
    const worker = await startWorker(slow, { ODC_SHUTDOWN_TIMEOUT_SECONDS: '1' });
    const id = (await queue.send(TEST_QUEUE, { n: 6, holdMs: 2500 }))!;
    await eventually(
      () => slow.started,
      (started) => started.includes(6),
    );
    await worker.close();
    workers.splice(workers.indexOf(worker), 1);
    expect(await stateOf(id)).toBe('retry');

    const next = new ConsumerProbe();
    await startWorker(next);
    await eventually(
      () => stateOf(id),
      (state) => state === 'completed',
      15_000,
    );
    expect(next.finished).toContain(6);
  });
});

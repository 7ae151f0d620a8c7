import {
  Inject,
  Injectable,
  Logger,
  type BeforeApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import { Client } from 'pg';
import { PgBoss, type Job, type Queue, type SendOptions, type WorkOptions } from 'pg-boss';
import type { EntityManager } from 'typeorm';
import { queryPrepared } from '../database/prepared';
import { notifyAfterCommit } from './notify-after-commit';

export const QUEUE_SETTINGS = Symbol('QUEUE_SETTINGS');

export interface QueueSettings {
  url: string;
  /** Only worker and cron replicas run pg-boss maintenance (expiry, retention); producers need not. */
  supervise: boolean;
  /** Consumers (worker role) hold a LISTEN connection so a new job wakes them at once, not at the next poll. */
  listen: boolean;
  pollIntervalSeconds: number;
  /**
   * How often maintenance fails jobs whose worker stopped sending heartbeats (a killed process) or
   * that outlived their expiry, so they are retried.
   */
  monitorIntervalSeconds: number;
  shutdownTimeoutSeconds: number;
  applicationName: string;
}

export type QueueDefinition = Omit<Queue, 'partition'>;

export interface EnqueueOptions extends Omit<SendOptions, 'db'> {
  /** Enqueue inside this transaction: the job exists exactly when the transaction commits. */
  manager?: EntityManager;
}

const SCHEMA = 'pgboss';

/**
 * Where an enqueue wakes the queue's workers (the payload: the queue's name). ODC's own rather
 * than pg-boss's in-statement NOTIFY, so that an enqueue inside a transaction notifies after the
 * commit (see NotifyAfterCommit).
 */
const WAKE_CHANNEL = 'odc_queue_wake';

/** How long a listener waits before connecting again after its connection was lost. */
const RELISTEN_DELAY_MS = 1000;

/**
 * The job queue (pg-boss, in its own schema of ODC's database). Producers use it from any role;
 * only modules composed for the `worker` role call `work()`. On shutdown it stops fetching, lets
 * in-flight jobs finish within the timeout and fails the rest back to retry, so none is lost.
 */
@Injectable()
export class QueueService implements OnModuleInit, BeforeApplicationShutdown {
  private readonly logger = new Logger('Queue');
  private readonly boss: PgBoss;
  private started = false;
  private readonly listeners = new Set<Listener>();
  /** This process's pg-boss workers, per queue: the ones a wake-up for that queue wakes. */
  private readonly workers = new Map<string, Set<string>>();
  private wakeListener?: Promise<void>;

  constructor(@Inject(QUEUE_SETTINGS) private readonly settings: QueueSettings) {
    this.boss = new PgBoss({
      connectionString: settings.url,
      schema: SCHEMA,
      application_name: settings.applicationName,
      max: 4,
      supervise: settings.supervise,
      superviseIntervalSeconds: settings.monitorIntervalSeconds,
      monitorIntervalSeconds: settings.monitorIntervalSeconds,
      // Workers are woken through WAKE_CHANNEL (see defineQueue): pg-boss's own listener has nothing to hear.
      useListenNotify: false,
      schedule: false,
      migrate: true,
    });
    this.boss.on('error', (error) => this.logger.error({ err: error }, 'queue error'));
  }

  async onModuleInit(): Promise<void> {
    await this.boss.start();
    this.started = true;
  }

  async beforeApplicationShutdown(): Promise<void> {
    await Promise.all([...this.listeners].map((listener) => listener.close()));
    this.listeners.clear();
    if (!this.started) {
      return;
    }
    this.started = false;
    await this.boss.stop({
      graceful: true,
      close: true,
      timeout: this.settings.shutdownTimeoutSeconds * 1000,
    });
  }

  /** Started, and its schema answers (a query through the queue's own pool). */
  async isReady(): Promise<boolean> {
    return this.started && (await this.boss.isInstalled());
  }

  /**
   * Creates the queue or brings its options up to date (idempotent; safe from every replica).
   * Enqueueing wakes listening workers instead of waiting for a poll: through WAKE_CHANNEL, after
   * the enqueueing transaction commits, not through pg-boss's own NOTIFY (off: it would notify
   * inside the transaction).
   */
  async defineQueue(definition: QueueDefinition): Promise<void> {
    const { name, policy, ...options } = { ...definition, notify: false };
    await this.boss.createQueue(name, { policy, ...options });
    await this.boss.updateQueue(name, options);
  }

  async send<T extends object>(queue: string, data: T, options: EnqueueOptions = {}): Promise<string | null> {
    const { manager, ...sendOptions } = options;
    const id = await this.boss.send(
      queue,
      data,
      manager ? { ...sendOptions, db: transactionDb(manager) } : sendOptions,
    );
    await this.wake(queue, manager);
    return id;
  }

  /** One job per item, in one statement (inside `manager`'s transaction when given). */
  async sendMany<T extends object>(
    queue: string,
    items: T[],
    options: Pick<EnqueueOptions, 'manager'> = {},
  ): Promise<void> {
    if (items.length === 0) {
      return;
    }
    await this.boss.insert(
      queue,
      items.map((data) => ({ data })),
      options.manager ? { db: transactionDb(options.manager) } : {},
    );
    await this.wake(queue, options.manager);
  }

  /** Tells the queue's listening workers (every replica's) that a job is there: when `manager` commits. */
  private async wake(queue: string, manager?: EntityManager): Promise<void> {
    await this.notify(WAKE_CHANNEL, manager ? { manager } : {}, queue);
  }

  /**
   * Starts consuming a queue. Call only from worker-role modules. With a batch size above one, a
   * full batch means a backlog, so the worker fetches again at once instead of waiting to poll.
   */
  async work<T extends object>(
    queue: string,
    options: Omit<WorkOptions, 'pollingIntervalSeconds'>,
    handler: (jobs: Job<T>[]) => Promise<void>,
  ): Promise<string> {
    if (this.settings.listen) {
      this.wakeListener ??= this.listen(WAKE_CHANNEL, (queue) => this.wakeWorkers(queue));
      await this.wakeListener;
    }
    const id = await this.boss.work<T>(
      queue,
      {
        pollingIntervalSeconds: this.settings.pollIntervalSeconds,
        // NOTIFY wakes a worker at once, but not for a job whose retry delay ends or one whose
        // notification came while every poller was busy: polling stays the floor, not a 30 s backstop.
        notifyPollingIntervalSeconds: this.settings.pollIntervalSeconds,
        burstWhenBatchFull: true,
        ...options,
      },
      async (jobs: Job<T>[]) => handler(jobs),
    );
    this.workers.set(queue, (this.workers.get(queue) ?? new Set()).add(id));
    return id;
  }

  /** The queue's workers fetch now; all queues' when the listener missed notifications (no queue). */
  private wakeWorkers(queue: string | undefined): void {
    const ids =
      queue === undefined ? [...this.workers.values()].flatMap((set) => [...set]) : this.workers.get(queue);
    for (const id of ids ?? []) {
      this.boss.notifyWorker(id);
    }
  }

  /**
   * Starts consuming a queue one job per handler call, fetched in batches (one fetch and one
   * completion per batch instead of per job): a batch's jobs run at once, except those with the
   * same `orderBy` key, which run one after another in the order they were sent; one that throws
   * is failed back to retry on its own, and the others complete.
   */
  async workEach<T extends object>(
    queue: string,
    options: { batchSize: number; localConcurrency?: number; orderBy?: (data: T) => string },
    handler: (job: Job<T>) => Promise<void>,
  ): Promise<string> {
    const { orderBy, ...workOptions } = options;
    return this.work<T>(queue, workOptions, async (jobs) => {
      const lanes = new Map<string, Job<T>[]>();
      for (const job of jobs) {
        const lane = orderBy ? orderBy(job.data) : job.id;
        const queued = lanes.get(lane);
        if (queued) {
          queued.push(job);
        } else {
          lanes.set(lane, [job]);
        }
      }
      const failed: { job: Job<T>; error: unknown }[] = [];
      await Promise.all(
        [...lanes.values()].map(async (lane) => {
          for (const job of lane) {
            await handler(job).catch((error: unknown) => failed.push({ job, error }));
          }
        }),
      );
      for (const { job, error } of failed) {
        this.logger.warn({ queue, job: job.id, err: error }, 'job failed; it will be retried');
        await this.boss.fail(queue, job.id, {
          message: error instanceof Error ? error.message : String(error),
        });
      }
    });
  }

  /**
   * Wakes `channel`'s listeners (`listen`) once `manager`'s transaction commits, and not if it rolls
   * back (several alike in one transaction arrive as one); without a manager, now. Nothing is
   * stored: a wake-up for work whose own row is durable and that a timer finds anyway, at a
   * fraction of a job's cost (no insert, fetch, completion or foreign key checks).
   */
  async notify(channel: string, options: Pick<EnqueueOptions, 'manager'> = {}, payload = ''): Promise<void> {
    const sql = 'SELECT pg_notify($1, $2)';
    if (options.manager) {
      if (!notifyAfterCommit(options.manager, channel, payload)) {
        await transactionDb(options.manager).executeSql(sql, [channel, payload]);
      }
    } else {
      await this.boss.getDb().executeSql(sql, [channel, payload]);
    }
  }

  /**
   * Calls `handler` on each notification of `channel` (worker role) with its payload, over a
   * connection of its own that comes back when lost; then the handler runs once too, with no
   * payload, for what came while it was away. Resolves once listening.
   */
  async listen(channel: string, handler: (payload?: string) => void): Promise<void> {
    const listener = new Listener(this.settings, channel, handler, this.logger);
    this.listeners.add(listener);
    await listener.open();
  }

  /** Stops this process's consumers of a queue (waiting for their in-flight jobs). */
  async offWork(queue: string): Promise<void> {
    await this.boss.offWork(queue, { wait: true });
  }

  async findJob<T extends object>(queue: string, id: string) {
    const [job] = await this.boss.findJobs<T>(queue, { id });
    return job ?? null;
  }
}

function transactionDb(manager: EntityManager) {
  const runner = manager.queryRunner;
  if (!runner?.isTransactionActive) {
    throw new Error('QueueService.send({ manager }) needs the manager of an open transaction');
  }
  // pg-boss's statements are a fixed few, planned once per connection (see queryPrepared).
  return {
    executeSql: async (text: string, values?: unknown[]) => ({
      rows: values?.length
        ? await queryPrepared(manager, text, values)
        : await manager.query<unknown[]>(text),
    }),
  };
}

/** One LISTEN connection, opened again (after RELISTEN_DELAY_MS) whenever it is lost. */
class Listener {
  private client?: Client;
  private closed = false;
  private retry?: NodeJS.Timeout;

  constructor(
    private readonly settings: QueueSettings,
    private readonly channel: string,
    private readonly handler: (payload?: string) => void,
    private readonly logger: Logger,
  ) {}

  async open(): Promise<void> {
    const client = new Client({
      connectionString: this.settings.url,
      application_name: `${this.settings.applicationName}:listen`,
    });
    client.on('notification', (message) => {
      if (message.channel === this.channel) {
        this.handler(message.payload);
      }
    });
    // Until it listens, a failure is the caller's (the promise rejects); an 'error' event with no
    // listener would throw.
    const ignore = () => undefined;
    client.on('error', ignore);
    try {
      await client.connect();
      await client.query(`LISTEN ${client.escapeIdentifier(this.channel)}`);
    } catch (error) {
      await client.end().catch(ignore);
      throw error;
    }
    if (this.closed) {
      await client.end().catch(ignore);
      return;
    }
    let lost = false;
    const reconnect = (error?: unknown) => {
      if (lost || this.closed) {
        return;
      }
      lost = true;
      this.client = undefined;
      this.logger.warn({ channel: this.channel, err: error }, 'listen connection lost; connecting again');
      client.end().catch(ignore);
      this.scheduleReopen();
    };
    client.off('error', ignore);
    client.on('error', reconnect);
    client.on('end', () => reconnect());
    this.client = client;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retry);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  private scheduleReopen(): void {
    this.retry = setTimeout(() => void this.reopen(), RELISTEN_DELAY_MS);
    this.retry.unref();
  }

  private async reopen(): Promise<void> {
    if (this.closed) {
      return;
    }
    try {
      await this.open();
    } catch (error) {
      this.logger.warn({ channel: this.channel, err: error }, 'listen connection failed; trying again');
      this.scheduleReopen();
      return;
    }
    if (!this.closed) {
      this.handler(); // what was notified while no connection listened
    }
  }
}

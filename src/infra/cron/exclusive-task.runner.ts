import { type BeforeApplicationShutdown, Injectable, Logger, Optional } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { hostname } from 'node:os';
import { DataSource } from 'typeorm';
import { LOCK_NAMESPACE } from '../database/advisory-locks';
import { Clock } from '../time/clock';
import { scheduleInterval } from '../time/scheduled-interval';

export type TickResult = 'ran' | 'failed' | 'skipped-locked' | 'skipped-recent';

export interface TickOptions {
  /**
   * The task's period. A replica whose timer fires just after another replica finished the same
   * tick skips it: a run counts for the period when it started less than 80% of it ago.
   */
  periodMs: number;
}

const RECENT_FRACTION = 0.8;

/**
 * Runs a scheduled tick in exactly one replica: the one that takes the task's advisory lock, and
 * only if no replica already ran it this period (measured on the database clock, not the
 * replicas' possibly skewed ones). Every run is recorded in `scheduled_tasks`.
 */
@Injectable()
export class ExclusiveTaskRunner implements BeforeApplicationShutdown {
  private readonly logger = new Logger('Cron');
  private readonly instance = `${hostname()}:${process.pid}`;
  /** Ticks of `every` under way: a shutdown lets them finish before the database closes. */
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly dataSource: DataSource,
    /** What the timers run on, and what the tasks read the time from (the claim reads the database's). */
    readonly clock: Clock,
    /** Where the timers are registered (the application's ScheduleModule); tests that only `run` have none. */
    @Optional() private readonly schedules?: SchedulerRegistry,
  ) {}

  /**
   * Runs the task on a timer of the clock every `periodMs` (and at once with `runAtStart`), each
   * tick through `run`; a tick that cannot run (the database away) is logged and the next one tries
   * again. The timer is registered in @nestjs/schedule's SchedulerRegistry under the task's name
   * (one timer per task: a second registration of a name throws). Returns the function that stops it.
   */
  every(
    task: string,
    periodMs: number,
    work: () => Promise<void>,
    options: { runAtStart?: boolean } = {},
  ): () => void {
    const tick = () => {
      const running = this.run(task, { periodMs }, work).then(
        () => undefined,
        (error: unknown) => this.logger.warn(`${task}: tick not run: ${String(error)}`),
      );
      this.inFlight.add(running);
      return running.finally(() => this.inFlight.delete(running));
    };
    const stop = scheduleInterval(this.clock, this.schedules, task, periodMs, tick);
    if (options.runAtStart) {
      void tick();
    }
    return stop;
  }

  /**
   * Before the database closes (onApplicationShutdown): the timers are stopped by then (each
   * task's onModuleDestroy), and a tick under way finishes rather than failing on a closed pool,
   * which would log an error and record a failed run at every deploy (or a failed start).
   */
  async beforeApplicationShutdown(): Promise<void> {
    await Promise.all([...this.inFlight]);
  }

  async run(task: string, options: TickOptions, work: () => Promise<void>): Promise<TickResult> {
    const runner = this.dataSource.createQueryRunner();
    await runner.connect();
    try {
      const acquired: unknown = await runner.query(
        'SELECT pg_try_advisory_lock($1, hashtext($2)) AS locked',
        [LOCK_NAMESPACE.scheduledTask, task],
      );
      const [{ locked }] = acquired as [{ locked: boolean }];
      if (!locked) {
        return 'skipped-locked';
      }
      try {
        if (!(await this.claimPeriod(task, options.periodMs))) {
          return 'skipped-recent';
        }
        return await this.execute(task, work);
      } finally {
        await runner.query('SELECT pg_advisory_unlock($1, hashtext($2))', [
          LOCK_NAMESPACE.scheduledTask,
          task,
        ]);
      }
    } finally {
      await runner.release();
    }
  }

  /** Records the start unless a run already started within this period; true when we may run. */
  private async claimPeriod(task: string, periodMs: number): Promise<boolean> {
    const rows = await this.dataSource.query<unknown[]>(
      `INSERT INTO scheduled_tasks AS t (name, last_started_at, last_outcome, last_instance, run_count)
       VALUES ($1, now(), 'running', $2, 1)
       ON CONFLICT (name) DO UPDATE
         SET last_started_at = now(), last_finished_at = NULL, last_outcome = 'running', last_error = NULL,
             last_instance = $2, run_count = t.run_count + 1
         WHERE t.last_started_at <= now() - make_interval(secs => $3)
       RETURNING name`,
      [task, this.instance, (periodMs * RECENT_FRACTION) / 1000],
    );
    return rows.length === 1;
  }

  private async execute(task: string, work: () => Promise<void>): Promise<TickResult> {
    try {
      await work();
      await this.finish(task, 'succeeded', null);
      return 'ran';
    } catch (error) {
      this.logger.error({ err: error, task }, 'scheduled task failed');
      await this.finish(task, 'failed', error instanceof Error ? error.message : String(error));
      return 'failed';
    }
  }

  private async finish(task: string, outcome: 'succeeded' | 'failed', error: string | null): Promise<void> {
    await this.dataSource.query(
      `UPDATE scheduled_tasks SET last_finished_at = now(), last_outcome = $2, last_error = $3 WHERE name = $1`,
      [task, outcome, error],
    );
  }
}

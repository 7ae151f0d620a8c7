import { Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { dataSourceOptions } from '../../../src/app/entities';
import { ExclusiveTaskRunner } from '../../../src/infra/cron/exclusive-task.runner';
import { SchedulerRegistry } from '@nestjs/schedule';
import { SystemClock } from '../../../src/infra/time/clock';
import { ManualClock } from '../../support/manual-clock';
import { createTestDatabase, type TestDatabase } from '../../support/database';

/** Two replicas = two runners on two connection pools to one database. */
describe('exactly-once scheduled ticks', () => {
  Logger.overrideLogger(false); // the failing tick below logs an expected error
  let database: TestDatabase;
  let pools: DataSource[];
  let replicaA: ExclusiveTaskRunner;
  let replicaB: ExclusiveTaskRunner;

  beforeAll(async () => {
    database = await createTestDatabase();
    pools = await Promise.all(
      ['a', 'b'].map((name) =>
        new DataSource(
          dataSourceOptions({ url: database.url, poolSize: 3, applicationName: `replica-${name}` }),
        ).initialize(),
      ),
    );
    replicaA = new ExclusiveTaskRunner(pools[0]!, new SystemClock());
    replicaB = new ExclusiveTaskRunner(pools[1]!, new SystemClock());
  });

  afterAll(async () => {
    await Promise.all(pools.map((pool) => pool.destroy()));
    await database.drop();
  });

  const taskRow = async (name: string) =>
    (
      await pools[0]!.query<Record<string, unknown>[]>('SELECT * FROM scheduled_tasks WHERE name = $1', [
        name,
      ])
    )[0];

  it('two contenders at once: exactly one runs, the other skips', async () => {
    let runs = 0;
    const tick = async () => {
      runs += 1;
      await new Promise((resolve) => setTimeout(resolve, 300));
    };
    const results = await Promise.all([
      replicaA.run('contended', { periodMs: 60_000 }, tick),
      replicaB.run('contended', { periodMs: 60_000 }, tick),
    ]);
    expect(runs).toBe(1);
    expect(results.sort()).toEqual(['ran', 'skipped-locked']);
    expect(await taskRow('contended')).toMatchObject({ last_outcome: 'succeeded', run_count: '1' });
  });

  it('a replica whose timer fires just after another finished the same tick skips it', async () => {
    let runs = 0;
    const tick = async () => {
      runs += 1;
    };
    expect(await replicaA.run('staggered', { periodMs: 60_000 }, tick)).toBe('ran');
    expect(await replicaB.run('staggered', { periodMs: 60_000 }, tick)).toBe('skipped-recent');
    expect(runs).toBe(1);
  });

  it('runs again once the period has passed, on either replica', async () => {
    const tick = async () => undefined;
    expect(await replicaA.run('periodic', { periodMs: 200 }, tick)).toBe('ran');
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect(await replicaB.run('periodic', { periodMs: 200 }, tick)).toBe('ran');
    expect(await taskRow('periodic')).toMatchObject({ run_count: '2', last_outcome: 'succeeded' });
  });

  it('records a failing tick and releases the lock', async () => {
    const result = await replicaA.run('failing', { periodMs: 100 }, async () => {
      throw new Error('cluster unreachable');
    });
    expect(result).toBe('failed');
    expect(await taskRow('failing')).toMatchObject({
      last_outcome: 'failed',
      last_error: 'cluster unreachable',
    });
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(await replicaB.run('failing', { periodMs: 100 }, async () => undefined)).toBe('ran');
  });

  it('ticks on its clock, registered by name in the scheduler, each tick through the exclusive run', async () => {
    const clock = new ManualClock();
    const schedules = new SchedulerRegistry();
    const runner = new ExclusiveTaskRunner(pools[0]!, clock, schedules);
    let runs = 0;
    const stop = runner.every('clocked', 60_000, async () => {
      runs += 1;
    });
    expect(schedules.getIntervals()).toEqual(['clocked']);
    await clock.advance(59_999);
    expect(runs).toBe(0);
    await clock.advance(1); // the tick is waited for, its row written
    expect(runs).toBe(1);
    expect(await taskRow('clocked')).toMatchObject({ last_outcome: 'succeeded', run_count: '1' });
    stop();
    expect(schedules.getIntervals()).toEqual([]);
    expect(clock.running).toBe(0);
  });
});

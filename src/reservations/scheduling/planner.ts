import { Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { HeapInfo } from 'node:v8';
import { Piscina } from 'piscina';
import { expandSchedule, type CompactSchedule } from './plan-transfer';
import { scheduleInSlices, type Schedule, type ScheduleInput } from './schedule';

/**
 * Where admission passes plan: on a thread of their own (a piscina pool of one, started with the
 * first pass), so a pass over a deep queue — its CPU and its garbage — never holds up the requests
 * and probes the process serves. The thread runs the compiled planner (`plan.worker.js`); where
 * there is none (specs run from the TypeScript sources without a build), the plan is made on the
 * event loop in slices that give it back every 10 ms.
 */
@Injectable()
export class Planner implements OnModuleDestroy {
  private readonly logger = new Logger('Planner');
  private pool?: Piscina<ScheduleInput, CompactSchedule>;
  private readonly workerFile = compiledWorker();

  /** Plans run on the thread (a compiled planner is there), not in slices on the event loop. */
  get onThread(): boolean {
    return this.workerFile !== undefined;
  }

  async plan(input: ScheduleInput): Promise<Schedule> {
    if (!this.workerFile) {
      return scheduleInSlices(input);
    }
    this.pool ??= this.startPool(this.workerFile);
    return expandSchedule(await this.pool.run(input), input.queued);
  }

  /**
   * The planner thread's V8 heap, undefined before the first pass started it (or without a build).
   * Its own isolate: `process.memoryUsage()` and the default heap metrics do not count it.
   */
  async threadHeap(): Promise<HeapInfo | undefined> {
    return this.pool?.threads[0]?.getHeapStatistics();
  }

  /** A pass in flight finishes first (the process's shutdown timeout bounds it). */
  async onModuleDestroy(): Promise<void> {
    await this.pool?.close();
  }

  private startPool(filename: string): Piscina<ScheduleInput, CompactSchedule> {
    this.logger.debug(`planning on a thread of its own (${filename})`);
    // One thread, kept: passes run one at a time per process.
    return new Piscina({ filename, minThreads: 1, maxThreads: 1, idleTimeout: Number.POSITIVE_INFINITY });
  }
}

/** plan.worker.js beside this file in a build; from the sources, the build's (if there is one). */
function compiledWorker(): string | undefined {
  const file = __filename.endsWith('.js')
    ? join(__dirname, 'plan.worker.js')
    : join(__dirname, '..', '..', '..', 'dist', 'src', 'reservations', 'scheduling', 'plan.worker.js');
  return existsSync(file) ? file : undefined;
}

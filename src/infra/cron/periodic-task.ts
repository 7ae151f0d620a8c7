import type { OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import type { Clock } from '../time/clock';
import type { ExclusiveTaskRunner, TickResult } from './exclusive-task.runner';

/**
 * A cron task of the `cron` role: one round every `periodMs`, run by exactly one replica
 * (ExclusiveTaskRunner), started with the app and stopped with it; `tick()` runs a round through
 * the same exclusivity (tests, and replicas racing for one). Subclasses say what a round does,
 * reading the time from `clock`: the one the ticks run on, so a test that steps it moves both.
 */
export abstract class PeriodicTask implements OnApplicationBootstrap, OnModuleDestroy {
  private stop?: () => void;

  protected constructor(
    private readonly runner: ExclusiveTaskRunner,
    private readonly taskName: string,
    readonly periodMs: number,
    private readonly options: { runAtStart?: boolean } = {},
  ) {}

  /** One round (subclasses also expose it under a name of their own, some with the time to run it at). */
  protected abstract runRound(): Promise<unknown>;

  protected get clock(): Clock {
    return this.runner.clock;
  }

  onApplicationBootstrap(): void {
    this.stop = this.runner.every(
      this.taskName,
      this.periodMs,
      () => this.runRound().then(() => undefined),
      this.options,
    );
  }

  onModuleDestroy(): void {
    this.stop?.();
  }

  tick(): Promise<TickResult> {
    return this.runner.run(this.taskName, { periodMs: this.periodMs }, async () => {
      await this.runRound();
    });
  }
}

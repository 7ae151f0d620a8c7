import { Clock, type ClockTimer } from '../../src/infra/time/clock';

interface ManualTimer {
  dueAt: number;
  readonly periodMs: number;
  /** Creation order: timers due at the same instant fire in the order they were set. */
  readonly order: number;
  readonly tick: () => unknown;
}

/**
 * A clock that moves only when a test moves it. `advance(ms)` fires every timer that falls due
 * within those `ms`, one at a time in the order they fall due, with `now()` at each one's instant,
 * and waits for what each tick returns: when it resolves, the work those ticks started is done.
 * It starts at the real time, so what it says stays comparable with times the database stamps.
 */
export class ManualClock extends Clock {
  private current: number;
  private created = 0;
  private readonly timers = new Set<ManualTimer>();

  constructor(start: Date = new Date()) {
    super();
    this.current = start.getTime();
  }

  now(): Date {
    return new Date(this.current);
  }

  setInterval(tick: () => unknown, periodMs: number): ClockTimer {
    if (!(periodMs > 0)) {
      throw new Error(`an interval needs a period above 0 ms, not ${periodMs}`);
    }
    const timer: ManualTimer = { dueAt: this.current + periodMs, periodMs, order: this.created++, tick };
    this.timers.add(timer);
    return timer;
  }

  clearInterval(timer: ClockTimer): void {
    this.timers.delete(timer as ManualTimer);
  }

  /** Timers set and not cleared: a test can see that a component started or stopped its own. */
  get running(): number {
    return this.timers.size;
  }

  /** Moves the time `ms` forward, firing what falls due on the way (see the class). */
  async advance(ms: number): Promise<void> {
    if (ms < 0) {
      throw new Error('a clock does not go back');
    }
    const until = this.current + ms;
    for (let timer = this.nextDue(until); timer; timer = this.nextDue(until)) {
      this.current = timer.dueAt;
      timer.dueAt += timer.periodMs;
      await timer.tick();
    }
    this.current = until;
  }

  private nextDue(until: number): ManualTimer | undefined {
    let next: ManualTimer | undefined;
    for (const timer of this.timers) {
      const earlier =
        !next || timer.dueAt < next.dueAt || (timer.dueAt === next.dueAt && timer.order < next.order);
      if (timer.dueAt <= until && earlier) {
        next = timer;
      }
    }
    return next;
  }
}

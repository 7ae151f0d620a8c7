import { Injectable } from '@nestjs/common';

/** A timer started by `Clock.setInterval`; only the clock that made it can stop it. */
export type ClockTimer = object;

/**
 * What the periodic tasks, workers, expiry and retention read the time from and run their timers
 * on. Bound once for the whole app (`ClockModule`): production gets `SystemClock`; a test hands the
 * app a manual clock and steps it, instead of sleeping and hoping a timer fired (or did not).
 */
export abstract class Clock {
  abstract now(): Date;

  nowMs(): number {
    return this.now().getTime();
  }

  /**
   * Calls `tick` every `periodMs`, the first time one period from now, until `clearInterval`. A
   * tick's promise must not reject (a tick catches its own errors); a test clock waits for it.
   * Real timers do not keep the process alive.
   */
  abstract setInterval(tick: () => unknown, periodMs: number): ClockTimer;

  abstract clearInterval(timer: ClockTimer): void;
}

/** The real time and Node's own timers. */
@Injectable()
export class SystemClock extends Clock {
  now(): Date {
    return new Date();
  }

  override nowMs(): number {
    return Date.now();
  }

  setInterval(tick: () => unknown, periodMs: number): NodeJS.Timeout {
    const timer = setInterval(tick, periodMs);
    timer.unref();
    return timer;
  }

  clearInterval(timer: ClockTimer): void {
    clearInterval(timer as NodeJS.Timeout);
  }
}

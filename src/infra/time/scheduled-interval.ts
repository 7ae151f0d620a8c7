import type { SchedulerRegistry } from '@nestjs/schedule';
import type { Clock } from './clock';

/**
 * Runs `tick` every `periodMs` on `clock`, registered under `name` in @nestjs/schedule's
 * SchedulerRegistry, where the app's timers are listed (a second registration of a name throws).
 * Returns the function that stops it. Without a registry (a test that builds the class by hand)
 * the timer only runs.
 */
export function scheduleInterval(
  clock: Clock,
  schedules: SchedulerRegistry | undefined,
  name: string,
  periodMs: number,
  tick: () => unknown,
): () => void {
  const timer = clock.setInterval(tick, periodMs);
  try {
    schedules?.addInterval(name, timer);
  } catch (error) {
    clock.clearInterval(timer);
    throw error;
  }
  return () => {
    // The registry clears Node's timers only: the clock clears its own, whichever kind.
    clock.clearInterval(timer);
    if (schedules?.doesExist('interval', name)) {
      schedules.deleteInterval(name);
    }
  };
}

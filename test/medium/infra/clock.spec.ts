import { SchedulerRegistry } from '@nestjs/schedule';
import { scheduleInterval } from '../../../src/infra/time/scheduled-interval';
import { ManualClock } from '../../support/manual-clock';

describe('ManualClock and scheduled intervals', () => {
  it('fires what falls due in order, each at its own instant, and waits for each tick', async () => {
    const clock = new ManualClock(new Date('2030-01-01T00:00:00Z'));
    const fired: string[] = [];
    let finished = 0;
    clock.setInterval(async () => {
      fired.push(`a@${clock.nowMs() % 100_000}`);
      await Promise.resolve();
      finished += 1;
    }, 300);
    clock.setInterval(() => fired.push(`b@${clock.nowMs() % 100_000}`), 200);

    await clock.advance(199);
    expect(fired).toEqual([]);
    await clock.advance(401);
    expect(fired).toEqual(['b@200', 'a@300', 'b@400', 'a@600', 'b@600']);
    expect(finished).toBe(2);
    expect(clock.now().toISOString()).toBe('2030-01-01T00:00:00.600Z');
  });

  it('registers the timer under its name, and stops it (clock and registry) when told', async () => {
    const clock = new ManualClock();
    const schedules = new SchedulerRegistry();
    let ticks = 0;
    const stop = scheduleInterval(clock, schedules, 'poll', 1000, () => (ticks += 1));
    expect(schedules.getIntervals()).toEqual(['poll']);
    expect(() => scheduleInterval(clock, schedules, 'poll', 1000, () => undefined)).toThrow();
    expect(clock.running).toBe(1); // the refused second one was cleared

    await clock.advance(2000);
    expect(ticks).toBe(2);
    stop();
    expect(schedules.getIntervals()).toEqual([]);
    expect(clock.running).toBe(0);
    await clock.advance(5000);
    expect(ticks).toBe(2);
  });
});

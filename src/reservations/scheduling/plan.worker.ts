/**
 * The planner's thread (see planner.ts): one admission pass's plan, made off the event loop that
 * serves requests. Loaded by piscina from the compiled build.
 */
import { compactSchedule, type CompactSchedule } from './plan-transfer';
import { schedule, type ScheduleInput } from './schedule';

export default function plan(input: ScheduleInput): CompactSchedule {
  return compactSchedule(schedule(input), input.queued);
}

import type { PlannedStart, QueuedRequest, Schedule } from './schedule';

/** A planned start as it crosses to and from the planner's thread: the request by its index. */
type CompactStart = [request: number, clusterId: string, nodeName: string, start: number];

/**
 * A plan in a form that is cheap to copy between threads: requests by their index in the input
 * (the caller has them already), starts as numbers.
 */
export interface CompactSchedule {
  admit: CompactStart[];
  waiting: CompactStart[];
  unplaceable: number[];
  order: number[];
}

export function compactSchedule(plan: Schedule, queued: readonly QueuedRequest[]): CompactSchedule {
  const index = new Map(queued.map((request, i) => [request, i]));
  const start = (planned: PlannedStart): CompactStart => [
    index.get(planned.request)!,
    planned.clusterId,
    planned.nodeName,
    planned.start.getTime(),
  ];
  return {
    admit: plan.admit.map(start),
    waiting: plan.waiting.map(start),
    unplaceable: plan.unplaceable.map((request) => index.get(request)!),
    order: plan.order.map((request) => index.get(request)!),
  };
}

export function expandSchedule(plan: CompactSchedule, queued: readonly QueuedRequest[]): Schedule {
  const requestAt = (index: number): QueuedRequest => {
    const request = queued[index];
    if (!request) {
      throw new Error(`the plan names request ${index} of ${queued.length} queued`);
    }
    return request;
  };
  const start = ([request, clusterId, nodeName, at]: CompactStart): PlannedStart => ({
    request: requestAt(request),
    clusterId,
    nodeName,
    start: new Date(at),
  });
  return {
    admit: plan.admit.map(start),
    waiting: plan.waiting.map(start),
    unplaceable: plan.unplaceable.map(requestAt),
    order: plan.order.map(requestAt),
  };
}

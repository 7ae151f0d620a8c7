/**
 * The planner as first written: every request scans every node, and each node's timeline is a list
 * of intervals searched afresh. Quadratic and worse, but short enough to read as the specification:
 * the fast planner (schedule.ts) must return exactly what this one returns (schedule.spec.ts checks
 * it on random inputs), and `npm run bench -- scale` measures the fast one against it.
 */

import { inScopes } from '../../storage/public';
import {
  ClusterSlots,
  compareFairly,
  nodeCanHold,
  type NodeState,
  type PlannedStart,
  type QueuedRequest,
  type Schedule,
  type ScheduleInput,
} from './schedule';

interface Interval {
  from: number;
  to: number;
  gpus: number;
}

const FOREVER = Number.POSITIVE_INFINITY;

/** One node's GPUs over time. */
class NodeTimeline {
  private readonly intervals: Interval[] = [];

  constructor(readonly node: NodeState) {}

  hold(from: number, to: number, gpus: number): void {
    this.intervals.push({ from, to, gpus });
  }

  /** Instants at which the free count may go up (a claim ends), at or after `from`. */
  releasesAfter(from: number): number[] {
    return this.intervals.map((interval) => interval.to).filter((to) => to > from && to !== FOREVER);
  }

  /** The fewest GPUs free at any instant of [from, to). */
  minFree(from: number, to: number): number {
    const capacity = this.node.allocatable - this.node.foreign;
    const instants = [from, ...this.intervals.map((i) => i.from).filter((at) => at > from && at < to)];
    let least = capacity;
    for (const at of instants) {
      const held = this.intervals
        .filter((interval) => interval.from <= at && at < interval.to)
        .reduce((sum, interval) => sum + interval.gpus, 0);
      least = Math.min(least, capacity - held);
    }
    return least;
  }
}

function key(clusterId: string, nodeName: string): string {
  return `${clusterId}\u0000${nodeName}`;
}

/**
 * The plan at `now`: every queued request gets a node and a start, earliest first in fair order
 * (see the file's comment). `usage` is each owner's GPUs in use now (active and being started).
 */
export function referenceSchedule(input: ScheduleInput): Schedule {
  const now = input.now.getTime();
  const slots = new ClusterSlots(input.slots, input.claims);
  const timelines = new Map<string, NodeTimeline>();
  for (const node of input.nodes) {
    timelines.set(key(node.clusterId, node.nodeName), new NodeTimeline(node));
  }
  for (const claim of input.claims) {
    timelines
      .get(key(claim.clusterId, claim.nodeName))
      ?.hold(now, claim.until?.getTime() ?? FOREVER, claim.gpus);
  }
  const usage = new Map(input.usage);
  const pending = [...input.queued];
  const result: Schedule = { admit: [], waiting: [], unplaceable: [], order: [] };
  while (pending.length > 0) {
    const request = pending.reduce((next, candidate) =>
      compareFairly(candidate, next, usage) < 0 ? candidate : next,
    );
    pending.splice(pending.indexOf(request), 1);
    result.order.push(request);
    const placed = placement(request, [...timelines.values()], now, slots);
    if (!placed) {
      result.unplaceable.push(request);
      continue;
    }
    placed.timeline.hold(placed.start, placed.start + request.durationMs, request.gpuCount);
    const planned: PlannedStart = {
      request,
      clusterId: placed.timeline.node.clusterId,
      nodeName: placed.timeline.node.nodeName,
      start: new Date(placed.start),
    };
    if (placed.start === now) {
      result.admit.push(planned);
      slots.started(planned.clusterId, request, placed.start + request.durationMs);
      usage.set(request.ownerId, (usage.get(request.ownerId) ?? 0) + request.gpuCount);
    } else {
      result.waiting.push(planned);
    }
  }
  return result;
}

/**
 * Where the request goes among these nodes, avoiding clusters that refused it unless only they
 * could hold it. With a disk: the nodes where its volume is, unless none can start it now and its
 * snapshot may start it now elsewhere (or no home node could ever hold it).
 */
function placement(
  request: QueuedRequest,
  timelines: readonly NodeTimeline[],
  now: number,
  slots: ClusterSlots,
): Option | undefined {
  const avoided = new Set(request.avoidClusters ?? []);
  const earliestAmong = (candidates: readonly NodeTimeline[]) =>
    (avoided.size > 0
      ? earliestPlacement(
          request,
          candidates.filter((timeline) => !avoided.has(timeline.node.clusterId)),
          now,
          slots,
        )
      : undefined) ?? earliestPlacement(request, candidates, now, slots);
  if (!request.disk) {
    return earliestAmong(timelines);
  }
  const { homes, elsewhere } = request.disk;
  const home = earliestAmong(timelines.filter((timeline) => inScopes(timeline.node, homes)));
  if (home?.start === now || elsewhere.length === 0) {
    return home;
  }
  const away = earliestAmong(timelines.filter((timeline) => inScopes(timeline.node, elsewhere)));
  return away?.start === now ? away : (home ?? away);
}

type Option = { timeline: NodeTimeline; start: number; leftover: number };

/**
 * The earliest start on any node of the type, and among the nodes allowing it the best fit;
 * undefined when no node of the type is large enough. Taken per cluster and zone: a cluster with
 * no slot left (see ClusterSlots) starts nothing now, so its best node is planned from when the
 * cluster's next reservation ends instead.
 */
function earliestPlacement(
  request: QueuedRequest,
  timelines: readonly NodeTimeline[],
  now: number,
  slots: ClusterSlots,
): Option | undefined {
  const groups = new Map<string, NodeTimeline[]>();
  for (const timeline of timelines) {
    if (nodeCanHold(timeline.node, request)) {
      const group = `${timeline.node.clusterId}\u0000${timeline.node.zone ?? ''}`;
      groups.set(group, [...(groups.get(group) ?? []), timeline]);
    }
  }
  let best: Option | undefined;
  for (const group of groups.values()) {
    let found: Option | undefined;
    for (const timeline of group) {
      const option = earliestOn(timeline, request, now);
      if (option && (!found || isBetter(option, found))) {
        found = option;
      }
    }
    if (found) {
      // The group's nodes share a cluster: the one found speaks for it.
      const notBefore = slots.notBefore(found.timeline.node.clusterId, request, now);
      if (found.start < notBefore) {
        // No reservation there ever ends (as far as is known): nothing can start there.
        found = notBefore === FOREVER ? undefined : earliestOn(found.timeline, request, notBefore);
      }
    }
    if (found && (!best || isBetter(found, best))) {
      best = found;
    }
  }
  return best;
}

/**
 * The earliest start on this node from `from` on. Its free count only rises when one of its own
 * claims ends, so its candidate starts are `from` and those instants.
 */
function earliestOn(timeline: NodeTimeline, request: QueuedRequest, from: number): Option | undefined {
  const starts = [from, ...timeline.releasesAfter(from).sort((a, b) => a - b)];
  for (const start of starts) {
    const leftover = timeline.minFree(start, start + request.durationMs) - request.gpuCount;
    if (leftover >= 0) {
      return { timeline, start, leftover };
    }
  }
  return undefined;
}

/** Earlier start, then the preferred cluster, then the best fit (fewest left over), then names. */
function isBetter(a: Option, b: Option): boolean {
  return (
    (a.start - b.start ||
      a.timeline.node.clusterPriority - b.timeline.node.clusterPriority ||
      a.leftover - b.leftover ||
      a.timeline.node.clusterId.localeCompare(b.timeline.node.clusterId) ||
      a.timeline.node.nodeName.localeCompare(b.timeline.node.nodeName)) < 0
  );
}

/**
 * The planner as first written: every request scans every node, and each node's timeline is a list
 * of intervals searched afresh. Quadratic and worse, but short enough to read as the specification:
 * the fast planner (schedule.ts) must return exactly what this one returns (schedule.spec.ts checks
 * it on random inputs), and `npm run bench -- scale` measures the fast one against it.
 */

import { inScopes } from '../../storage/placement';
import {
  compareFairly,
  nodeCanHold,
  type Claim,
  type NodeState,
  type PlannedStart,
  type QueuedRequest,
  type Schedule,
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
export function referenceSchedule(input: {
  now: Date;
  nodes: readonly NodeState[];
  claims: readonly Claim[];
  queued: readonly QueuedRequest[];
  usage: ReadonlyMap<string, number>;
}): Schedule {
  const now = input.now.getTime();
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
    let next = 0;
    for (let i = 1; i < pending.length; i++) {
      if (compareFairly(pending[i], pending[next], usage) < 0) {
        next = i;
      }
    }
    const [request] = pending.splice(next, 1);
    result.order.push(request);
    const placed = placement(request, [...timelines.values()], now);
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
): { timeline: NodeTimeline; start: number } | undefined {
  const avoided = new Set(request.avoidClusters ?? []);
  const earliestAmong = (candidates: readonly NodeTimeline[]) =>
    (avoided.size > 0
      ? earliestPlacement(
          request,
          candidates.filter((timeline) => !avoided.has(timeline.node.clusterId)),
          now,
        )
      : undefined) ?? earliestPlacement(request, candidates, now);
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

/**
 * The earliest start on any node of the type, and among the nodes allowing it the best fit;
 * undefined when no node of the type is large enough. A node's free count only rises when one of
 * its own claims ends, so its candidate starts are now and those instants.
 */
function earliestPlacement(
  request: QueuedRequest,
  timelines: readonly NodeTimeline[],
  now: number,
): { timeline: NodeTimeline; start: number } | undefined {
  let best: { timeline: NodeTimeline; start: number; leftover: number } | undefined;
  for (const timeline of timelines) {
    if (!nodeCanHold(timeline.node, request)) {
      continue;
    }
    const starts = [now, ...timeline.releasesAfter(now).sort((a, b) => a - b)];
    for (const start of starts) {
      if (best && start > best.start) {
        break;
      }
      const leftover = timeline.minFree(start, start + request.durationMs) - request.gpuCount;
      if (leftover < 0) {
        continue;
      }
      const option = { timeline, start, leftover };
      if (!best || isBetter(option, best)) {
        best = option;
      }
      break;
    }
  }
  return best && { timeline: best.timeline, start: best.start };
}

/** Earlier start, then the preferred cluster, then the best fit (fewest left over), then names. */
function isBetter(
  a: { timeline: NodeTimeline; start: number; leftover: number },
  b: { timeline: NodeTimeline; start: number; leftover: number },
): boolean {
  return (
    (a.start - b.start ||
      a.timeline.node.clusterPriority - b.timeline.node.clusterPriority ||
      a.leftover - b.leftover ||
      a.timeline.node.clusterId.localeCompare(b.timeline.node.clusterId) ||
      a.timeline.node.nodeName.localeCompare(b.timeline.node.nodeName)) < 0
  );
}

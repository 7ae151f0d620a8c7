/**
 * Admission and placement as pure functions: which queued reservations start now, on which node,
 * and when the others are expected to start. No I/O; the worker feeds it the database's view and
 * claims what it returns under row locks (reservations/admission).
 *
 * The model is a timeline per node: its GPUs, those used by pods ODC does not manage (they stay),
 * and ODC's claims, each an interval (active reservations until they expire; queued ones from
 * their planned start for their hours). Requests are taken in fair order — priority (higher
 * first), then the owner's GPUs in use (fewer first, counting what this plan starts), then age —
 * and each gets the earliest start at which one node has enough GPUs free for its whole duration;
 * among the nodes that allow that start, the best fit (the fewest GPUs left over), so large free
 * blocks stay whole for large requests. A request later in the order may start now only where it
 * does not overlap a claim planned for an earlier one: small requests fill gaps (backfill) without
 * ever delaying the large request ahead of them. A reservation never spans nodes.
 *
 * What it returns is exactly what reference-schedule.ts (the same rules, written as plainly as
 * possible) returns; schedule.spec.ts checks that on random inputs. What differs is the cost, so a
 * pass stays near-linear in nodes and in queued requests (`npm run bench -- scale`):
 * - each node's timeline is a step function of its free GPUs, rebuilt only when it changes;
 * - nodes sit in pools (GPU type, cluster, zone: the scopes that requests filter by), and each pool
 *   keeps, for every count of GPUs g, its nodes ordered by a lower bound of where a request for g
 *   could go (the first instant at which g are free, then what would be left over). A request
 *   walks that order only until the bound passes the best exact answer found: on a node whose free
 *   count never drops again (no reservation planned later on it) the bound is exact, so the walk
 *   usually ends at its first node;
 * - the fair order is a sorted set of each owner's requests at one priority, keyed by its oldest:
 *   starting one re-keys only that owner's sets.
 * A pass can run in slices that give the event loop back (scheduleInSlices), so a deep queue
 * never stalls the process that plans it.
 */

import BTree from 'sorted-btree';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { matchesLabels } from '../../clusters/public';
import { inScopes, type DiskPlacement } from '../../storage/public';

export interface NodeState {
  clusterId: string;
  nodeName: string;
  gpuType: string;
  /** GPUs of this node on which ODC may place (allocatable, the node ready and schedulable). */
  allocatable: number;
  /** GPUs held by pods ODC does not manage: not ODC's to give. */
  foreign: number;
  /** Lower is preferred (the cluster's priority); ties go to the best fit, then names. */
  clusterPriority: number;
  labels?: Readonly<Record<string, string>>;
  /** Its zone (the value of its cluster profile's zone label): disks' volumes are zonal. */
  zone?: string;
}

/** A reservation holding GPUs on a node: active until `until` (or open-ended when undefined). */
export interface Claim {
  clusterId: string;
  nodeName: string;
  gpus: number;
  until?: Date;
}

export interface QueuedRequest {
  id: string;
  ownerId: string;
  gpuType: string;
  gpuCount: number;
  /** How long it will hold the GPUs once started. */
  durationMs: number;
  /** Higher first. */
  priority: number;
  createdAt: Date;
  /** Clusters that refused it: used only when no other cluster could ever hold it. */
  avoidClusters?: readonly string[];
  /** Only nodes with all these labels. */
  nodeLabels?: Readonly<Record<string, string>>;
  /** With a disk: where its volume is, and where its snapshot could be restored instead. */
  disk?: DiskPlacement;
  /** NodePorts its Service takes (SSH, and Jupyter's): counted against its cluster's slots. Default 1. */
  nodePorts?: number;
}

/** The node can hold the request at all: its type, enough GPUs that are ODC's to give, its labels. */
export function nodeCanHold(
  node: NodeState,
  request: Pick<QueuedRequest, 'gpuType' | 'gpuCount' | 'nodeLabels'>,
): boolean {
  return (
    node.gpuType === request.gpuType &&
    node.allocatable - node.foreign >= request.gpuCount &&
    matchesLabels(node.labels, request.nodeLabels)
  );
}

export interface PlannedStart {
  request: QueuedRequest;
  clusterId: string;
  nodeName: string;
  start: Date;
}

export interface Schedule {
  /** Start now: to be claimed and provisioned. */
  admit: PlannedStart[];
  /** Start later (expected), in fair order per type: the queue with its ETA. */
  waiting: PlannedStart[];
  /** No node of the type is large enough (or none accepts it): they cannot start as things are. */
  unplaceable: QueuedRequest[];
  /** Every request, in the fair order it was taken in (queue positions come from it). */
  order: QueuedRequest[];
}

/** Everything the planner reads: the database's view at `now`. */
export interface ScheduleInput {
  now: Date;
  nodes: readonly NodeState[];
  claims: readonly Claim[];
  queued: readonly QueuedRequest[];
  /** Each owner's GPUs in use now (active and being started). */
  usage: ReadonlyMap<string, number>;
  /** NodePorts each cluster has left for new reservations' Services; a cluster absent has no limit. */
  slots?: ReadonlyMap<string, number>;
}

const FOREVER = Number.POSITIVE_INFINITY;
/**
 * A cluster's slots: how many more NodePorts its new reservations' Services may take, and when a
 * reservation on it next ends (gives some back). A cluster without enough left starts nothing now
 * for that request: the planner places it there from that instant, so it queues with an estimate
 * instead of bouncing off a full range. Later starts are not counted against the slots (an
 * estimate, like the rest of a waiting request's plan).
 */
export class ClusterSlots {
  private readonly left: Map<string, number>;
  private readonly nextEnd = new Map<string, number>();

  constructor(slots: ReadonlyMap<string, number> | undefined, claims: readonly Claim[]) {
    this.left = new Map(slots ?? []);
    for (const claim of claims) {
      this.ends(claim.clusterId, claim.until?.getTime() ?? FOREVER);
    }
  }

  /** The earliest instant the cluster may start the request: now while it has the slots left. */
  notBefore(clusterId: string, request: QueuedRequest, now: number): number {
    const left = this.left.get(clusterId);
    return left === undefined || left >= portsOf(request) ? now : (this.nextEnd.get(clusterId) ?? FOREVER);
  }

  /** The request planned to start now there, until `end`. */
  started(clusterId: string, request: QueuedRequest, end: number): void {
    const left = this.left.get(clusterId);
    if (left !== undefined) {
      this.left.set(clusterId, left - portsOf(request));
    }
    this.ends(clusterId, end);
  }

  private ends(clusterId: string, at: number): void {
    if (at < (this.nextEnd.get(clusterId) ?? FOREVER)) {
      this.nextEnd.set(clusterId, at);
    }
  }
}

function portsOf(request: QueuedRequest): number {
  return request.nodePorts ?? 1;
}

/** Names compare as the reference planner's `localeCompare` does. */
const names = new Intl.Collator();

interface Interval {
  from: number;
  to: number;
  gpus: number;
}

/** Where a request for some GPUs could go on one node: its start and the GPUs left free beside it. */
interface Option {
  timeline: NodeTimeline;
  start: number;
  leftover: number;
}

/**
 * A node's place in its pool's order for requests of one size: never after where such a request
 * could really go (its start, then leftover, then the node's name rank in its pool).
 */
interface Bound {
  start: number;
  leftover: number;
  rank: number;
}

function compareBounds(a: Bound, b: Bound): number {
  return a.start - b.start || a.leftover - b.leftover || a.rank - b.rank;
}

/**
 * One node's GPUs over time: `free[i]` GPUs are free from `at[i]` until `at[i + 1]` (the last one
 * for ever). `at[0]` is now; the other instants are where a claim starts or ends, and those where
 * one ends are the node's only candidate starts besides now: its free count rises only there.
 */
class NodeTimeline {
  readonly capacity: number;
  private readonly intervals: Interval[] = [];
  private at: number[];
  private free: number[];
  private release: boolean[];
  /** The last index at which the free count drops: from there on it never falls again. */
  private lastDrop = 0;
  /** Its bounds in its pool's orders, by GPUs asked for (index g - 1); undefined: it never has g free. */
  readonly bounds: (Bound | undefined)[] = [];
  rank = 0;

  constructor(
    readonly node: NodeState,
    readonly pool: Pool,
    private readonly now: number,
  ) {
    this.capacity = node.allocatable - node.foreign;
    this.at = [now];
    this.free = [this.capacity];
    this.release = [true];
  }

  /** Holds GPUs over [from, to); the step function is rebuilt by `settle`. */
  hold(from: number, to: number, gpus: number): void {
    if (to > from) {
      this.intervals.push({ from, to, gpus });
    }
  }

  settle(): void {
    const changes = new Map<number, { delta: number; release: boolean }>();
    const change = (at: number, delta: number, release: boolean) => {
      const known = changes.get(at);
      if (known) {
        known.delta += delta;
        known.release ||= release;
      } else {
        changes.set(at, { delta, release });
      }
    };
    for (const interval of this.intervals) {
      change(interval.from, -interval.gpus, false);
      if (interval.to !== FOREVER) {
        change(interval.to, interval.gpus, true);
      }
    }
    change(this.now, 0, true);
    const instants = [...changes.keys()].sort((a, b) => a - b);
    this.at = instants;
    this.free = [];
    this.release = [];
    this.lastDrop = 0;
    let free = this.capacity;
    for (const [i, at] of instants.entries()) {
      const { delta, release } = changes.get(at)!;
      free += delta;
      this.free.push(free);
      this.release.push(release);
      if (delta < 0) {
        this.lastDrop = i;
      }
    }
  }

  /** The bound for a request of `gpus`: the first candidate start with that many free. */
  boundFor(gpus: number): Bound | undefined {
    // at, free and release have an entry per instant: i < at.length indexes all three.
    for (let i = 0; i < this.at.length; i++) {
      if (this.release[i] && this.free[i]! >= gpus) {
        // Exact when the count never falls after it; else a later dip could leave less over.
        const leftover = i >= this.lastDrop ? this.free[i]! - gpus : 0;
        return { start: this.at[i]!, leftover, rank: this.rank };
      }
    }
    return undefined;
  }

  /**
   * The earliest candidate start from `from` on (`from` itself, then each instant a claim ends) at
   * which `gpus` stay free for `durationMs`, with the fewest GPUs free meanwhile less those.
   */
  earliest(gpus: number, durationMs: number, from = this.at[0]!): Option | undefined {
    // `at` always holds now (the constructor, settle): at[0] is there. The loops index at, free
    // and release (an entry per instant) below at.length.
    let first = 0;
    while (first + 1 < this.at.length && this.at[first + 1]! <= from) {
      first++;
    }
    for (let i = first; i < this.at.length; i++) {
      if ((i > first && !this.release[i]) || this.free[i]! < gpus) {
        continue;
      }
      const start = i === first ? from : this.at[i]!;
      const end = start + durationMs;
      let least = this.free[i]!;
      for (let j = i + 1; j < this.at.length && this.at[j]! < end && least >= gpus; j++) {
        least = Math.min(least, this.free[j]!);
      }
      if (least >= gpus) {
        return { timeline: this, start, leftover: least - gpus };
      }
    }
    return undefined;
  }
}

/** The nodes of one GPU type in one cluster and zone, ordered for each size of request. */
class Pool {
  readonly clusterId: string;
  readonly zone?: string;
  readonly clusterPriority: number;
  readonly timelines: NodeTimeline[] = [];
  /** By GPUs asked for (index g - 1). */
  private orders: BTree<Bound, NodeTimeline>[] = [];

  constructor(first: NodeState) {
    this.clusterId = first.clusterId;
    this.clusterPriority = first.clusterPriority;
    if (first.zone !== undefined) {
      this.zone = first.zone;
    }
  }

  /** Ranks names, settles every timeline and loads the orders in bulk. */
  build(): void {
    const byName = [...this.timelines].sort((a, b) => names.compare(a.node.nodeName, b.node.nodeName));
    byName.forEach((timeline, rank) => (timeline.rank = rank));
    const most = Math.max(0, ...this.timelines.map((timeline) => timeline.capacity));
    const entries: [Bound, NodeTimeline][][] = Array.from({ length: most }, () => []);
    for (const timeline of this.timelines) {
      timeline.settle();
      for (let gpus = 1; gpus <= timeline.capacity; gpus++) {
        const bound = timeline.boundFor(gpus);
        timeline.bounds[gpus - 1] = bound;
        if (bound) {
          // One list per GPU count up to the largest capacity, gpus among them.
          entries[gpus - 1]!.push([bound, timeline]);
        }
      }
    }
    this.orders = entries.map((pairs) => {
      pairs.sort(([a], [b]) => compareBounds(a, b));
      const order = new BTree<Bound, NodeTimeline>(undefined, compareBounds);
      for (const [bound, timeline] of pairs) {
        order.set(bound, timeline);
      }
      return order;
    });
  }

  /** A claim planned on one of its nodes: that node moves in every order. */
  hold(timeline: NodeTimeline, from: number, to: number, gpus: number): void {
    timeline.hold(from, to, gpus);
    timeline.settle();
    for (let count = 1; count <= timeline.capacity; count++) {
      const before = timeline.bounds[count - 1];
      const after = timeline.boundFor(count);
      if (before && after && compareBounds(before, after) === 0) {
        continue;
      }
      // build made an order per GPU count up to the largest capacity, count among them.
      if (before) {
        this.orders[count - 1]!.delete(before);
      }
      timeline.bounds[count - 1] = after;
      if (after) {
        this.orders[count - 1]!.set(after, timeline);
      }
    }
  }

  /**
   * Its best node for the request: the earliest start, then the fewest GPUs left over, then the
   * name. Walks the order of bounds until a bound is past the best answer found. Before
   * `notBefore` (its cluster has no slot left) that node is planned from then instead.
   */
  best(request: QueuedRequest, notBefore: number): Option | undefined {
    const order = this.orders[request.gpuCount - 1];
    if (!order) {
      return undefined;
    }
    let best: Option | undefined;
    for (const [bound, timeline] of order.entries()) {
      if (best && compareBounds(bound, { ...best, rank: best.timeline.rank }) > 0) {
        break;
      }
      if (request.nodeLabels && !matchesLabels(timeline.node.labels, request.nodeLabels)) {
        continue;
      }
      const option = timeline.earliest(request.gpuCount, request.durationMs);
      if (option && (!best || compareBounds(optionBound(option), optionBound(best)) < 0)) {
        best = option;
      }
    }
    if (!best || best.start >= notBefore) {
      return best;
    }
    // No reservation there ever ends (as far as is known): nothing can start there.
    return notBefore === FOREVER
      ? undefined
      : best.timeline.earliest(request.gpuCount, request.durationMs, notBefore);
  }
}

function optionBound(option: Option): Bound {
  return { start: option.start, leftover: option.leftover, rank: option.timeline.rank };
}

/** Fair order's comparison: priority (higher first), then the owner's GPUs in use, then age, then id. */
export function compareFairly(
  a: QueuedRequest,
  b: QueuedRequest,
  usage: ReadonlyMap<string, number>,
): number {
  return (
    b.priority - a.priority || (usage.get(a.ownerId) ?? 0) - (usage.get(b.ownerId) ?? 0) || olderFirst(a, b)
  );
}

function olderFirst(a: QueuedRequest, b: QueuedRequest): number {
  return a.createdAt.getTime() - b.createdAt.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** One owner's requests at one priority, oldest first: in fair order they go in this order. */
interface Share {
  ownerId: string;
  priority: number;
  requests: QueuedRequest[];
  next: number;
  /** Its key in the fair order while it has requests left: its head and the owner's usage. */
  key?: { priority: number; usage: number; head: QueuedRequest };
}

/** The queue in fair order, taken one request at a time while owners' usage changes. */
class FairQueue {
  private readonly order = new BTree<NonNullable<Share['key']>, Share>(
    undefined,
    (a, b) => b.priority - a.priority || a.usage - b.usage || olderFirst(a.head, b.head),
  );
  private readonly sharesOf = new Map<string, Share[]>();

  constructor(
    queued: readonly QueuedRequest[],
    private readonly usage: Map<string, number>,
  ) {
    const shares = new Map<string, Share>();
    for (const request of queued) {
      const id = `${request.ownerId}\u0000${request.priority}`;
      let share = shares.get(id);
      if (!share) {
        share = { ownerId: request.ownerId, priority: request.priority, requests: [], next: 0 };
        shares.set(id, share);
        this.sharesOf.set(request.ownerId, [...(this.sharesOf.get(request.ownerId) ?? []), share]);
      }
      share.requests.push(request);
    }
    for (const share of shares.values()) {
      share.requests.sort(olderFirst);
      this.enter(share);
    }
  }

  /** The next request in fair order, or undefined when none is left. */
  take(): QueuedRequest | undefined {
    const share = this.order.minKey() && this.order.get(this.order.minKey()!)!;
    if (!share) {
      return undefined;
    }
    this.leave(share);
    const request = share.requests[share.next++];
    this.enter(share);
    return request;
  }

  /** The owner starts more GPUs now: their requests move back in the order. */
  use(ownerId: string, gpus: number): void {
    this.usage.set(ownerId, (this.usage.get(ownerId) ?? 0) + gpus);
    for (const share of this.sharesOf.get(ownerId) ?? []) {
      if (share.key) {
        this.leave(share);
        this.enter(share);
      }
    }
  }

  private enter(share: Share): void {
    const head = share.requests[share.next];
    if (head) {
      share.key = {
        priority: share.priority,
        usage: this.usage.get(share.ownerId) ?? 0,
        head,
      };
      this.order.set(share.key, share);
    }
  }

  private leave(share: Share): void {
    if (share.key) {
      this.order.delete(share.key);
      share.key = undefined;
    }
  }
}

/**
 * The plan at `now`: every queued request gets a node and a start, earliest first in fair order
 * (see the file's comment).
 */
export function schedule(input: ScheduleInput): Schedule {
  const steps = planning(input);
  for (;;) {
    const step = steps.next();
    if (step.done) {
      return step.value;
    }
  }
}

/**
 * The same plan, computed in slices of about `sliceMs` of CPU with the event loop given back
 * between them: a pass over a deep queue never holds up the requests the process serves.
 */
export async function scheduleInSlices(input: ScheduleInput, sliceMs = 10): Promise<Schedule> {
  const steps = planning(input);
  let sliceStarted = performance.now();
  for (;;) {
    const step = steps.next();
    if (step.done) {
      return step.value;
    }
    if (performance.now() - sliceStarted >= sliceMs) {
      await nextTurn();
      sliceStarted = performance.now();
    }
  }
}

/** The plan, yielding after each unit of work (a pool built, a request placed). */
function* planning(input: ScheduleInput): Generator<void, Schedule> {
  const now = input.now.getTime();
  const pools = new Map<string, Pool>();
  const poolsOfType = new Map<string, Pool[]>();
  const timelines = new Map<string, NodeTimeline>();
  for (const node of input.nodes) {
    const poolKey = `${node.gpuType}\u0000${node.clusterId}\u0000${node.zone ?? ''}`;
    let pool = pools.get(poolKey);
    if (!pool) {
      pool = new Pool(node);
      pools.set(poolKey, pool);
      poolsOfType.set(node.gpuType, [...(poolsOfType.get(node.gpuType) ?? []), pool]);
    }
    const timeline = new NodeTimeline(node, pool, now);
    pool.timelines.push(timeline);
    timelines.set(key(node.clusterId, node.nodeName), timeline);
  }
  for (const claim of input.claims) {
    timelines
      .get(key(claim.clusterId, claim.nodeName))
      ?.hold(now, claim.until?.getTime() ?? FOREVER, claim.gpus);
  }
  for (const pool of pools.values()) {
    pool.build();
    yield;
  }
  const slots = new ClusterSlots(input.slots, input.claims);
  const usage = new Map(input.usage);
  const queue = new FairQueue(input.queued, usage);
  const result: Schedule = { admit: [], waiting: [], unplaceable: [], order: [] };
  for (let request = queue.take(); request; request = queue.take()) {
    result.order.push(request);
    const placed = placement(request, poolsOfType.get(request.gpuType) ?? [], now, slots);
    if (!placed) {
      result.unplaceable.push(request);
    } else {
      placed.timeline.pool.hold(
        placed.timeline,
        placed.start,
        placed.start + request.durationMs,
        request.gpuCount,
      );
      const planned: PlannedStart = {
        request,
        clusterId: placed.timeline.node.clusterId,
        nodeName: placed.timeline.node.nodeName,
        start: new Date(placed.start),
      };
      if (placed.start === now) {
        result.admit.push(planned);
        slots.started(planned.clusterId, request, placed.start + request.durationMs);
        queue.use(request.ownerId, request.gpuCount);
      } else {
        result.waiting.push(planned);
      }
    }
    yield;
  }
  return result;
}

function key(clusterId: string, nodeName: string): string {
  return `${clusterId}\u0000${nodeName}`;
}

/**
 * Where the request goes among these pools, avoiding clusters that refused it unless only they
 * could hold it. With a disk: the pools where its volume is, unless none can start it now and its
 * snapshot may start it now elsewhere (or no home node could ever hold it).
 */
function placement(
  request: QueuedRequest,
  pools: readonly Pool[],
  now: number,
  slots: ClusterSlots,
): Option | undefined {
  const avoided = new Set(request.avoidClusters ?? []);
  const earliestAmong = (candidates: readonly Pool[]) =>
    (avoided.size > 0
      ? earliestPlacement(
          request,
          candidates.filter((pool) => !avoided.has(pool.clusterId)),
          now,
          slots,
        )
      : undefined) ?? earliestPlacement(request, candidates, now, slots);
  if (!request.disk) {
    return earliestAmong(pools);
  }
  const { homes, elsewhere } = request.disk;
  const home = earliestAmong(pools.filter((pool) => inScopes(pool, homes)));
  if (home?.start === now || elsewhere.length === 0) {
    return home;
  }
  const away = earliestAmong(pools.filter((pool) => inScopes(pool, elsewhere)));
  return away?.start === now ? away : (home ?? away);
}

/** The earliest start in any of the pools, and among the nodes allowing it the best fit. */
function earliestPlacement(
  request: QueuedRequest,
  pools: readonly Pool[],
  now: number,
  slots: ClusterSlots,
): Option | undefined {
  let best: Option | undefined;
  for (const pool of pools) {
    const option = pool.best(request, slots.notBefore(pool.clusterId, request, now));
    if (option && (!best || isBetter(option, best))) {
      best = option;
    }
  }
  return best;
}

/** Earlier start, then the preferred cluster, then the best fit (fewest left over), then names. */
function isBetter(a: Option, b: Option): boolean {
  return (
    (a.start - b.start ||
      a.timeline.node.clusterPriority - b.timeline.node.clusterPriority ||
      a.leftover - b.leftover ||
      names.compare(a.timeline.node.clusterId, b.timeline.node.clusterId) ||
      names.compare(a.timeline.node.nodeName, b.timeline.node.nodeName)) < 0
  );
}

/**
 * The admission planner at fleet scale (pure: no database, no HTTP): one pass over N nodes and Q
 * queued requests with A reservations active, median of a few runs, on a seeded synthetic fleet
 * (10 clusters of 3 zones; H100 and A100 nodes of 8 GPUs, L4 nodes of 4; requests of 1, 2, 4 or 8
 * GPUs weighted toward small, 1 to 24 h, from 500 owners, a fifth with a disk that pins them to a
 * cluster and zone, a few avoiding a cluster or asking for a label). Baseline, same run: the
 * reference planner (reference-schedule.ts, the rules written plainly, which the fast one must
 * match exactly) on the smaller inputs. Targets: ≤ 100 ms at 1,000 × 1,000, ≤ 1 s at
 * 10,000 × 10,000 with 5,000 active, growth exponent ≤ 1.2 in nodes and in queued.
 * BENCH_SCALE_RUNS overrides the runs per size (median).
 */
import { unsafeUniformIntDistribution, xoroshiro128plus, type RandomGenerator } from 'pure-rand';
import { referenceSchedule } from '../src/reservations/scheduling/reference-schedule';
import {
  schedule,
  scheduleInSlices,
  type Claim,
  type NodeState,
  type QueuedRequest,
  type ScheduleInput,
} from '../src/reservations/scheduling/schedule';
import { fmt, median, report } from './support';

const RUNS = Number(process.env.BENCH_SCALE_RUNS ?? 3);
const HOUR = 3_600_000;
const NOW = new Date('2026-06-01T00:00:00Z');
const CLUSTERS = 10;
const ZONES = ['a', 'b', 'c'];
/** GPU type, its share of the nodes and of the requests, GPUs per node. */
const TYPES = [
  { name: 'h100', weight: 6, gpus: 8 },
  { name: 'a100', weight: 3, gpus: 8 },
  { name: 'l4', weight: 1, gpus: 4 },
];
const SIZES = [1, 1, 1, 1, 2, 2, 2, 4, 4, 8];
const OWNERS = 500;
const TARGETS = { smallMs: 100, largeMs: 1000, exponent: 1.2 };

class Draw {
  private readonly rng: RandomGenerator;

  constructor(seed: number) {
    this.rng = xoroshiro128plus(seed);
  }

  int(from: number, to: number): number {
    return unsafeUniformIntDistribution(from, to, this.rng);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(0, items.length - 1)]!;
  }

  chance(percent: number): boolean {
    return this.int(0, 99) < percent;
  }

  type(): (typeof TYPES)[number] {
    let left = this.int(
      1,
      TYPES.reduce((sum, type) => sum + type.weight, 0),
    );
    return TYPES.find((type) => (left -= type.weight) <= 0)!;
  }
}

/** A seeded fleet of `nodes` nodes with `active` reservations running and `queued` waiting. */
export function syntheticFleet(nodes: number, queued: number, active: number, seed = 1): ScheduleInput {
  const draw = new Draw(seed);
  const states: NodeState[] = [];
  for (let i = 0; i < nodes; i++) {
    const type = draw.type();
    const cluster = i % CLUSTERS;
    states.push({
      clusterId: `cluster-${cluster}`,
      nodeName: `node-${i}`,
      gpuType: type.name,
      allocatable: type.gpus,
      foreign: draw.chance(3) ? 1 : 0,
      clusterPriority: cluster < 2 ? 50 : 100,
      zone: draw.pick(ZONES),
      labels: { rack: `r${i % 40}` },
    });
  }
  const free = new Map(states.map((node) => [node.nodeName, node.allocatable - node.foreign]));
  const byType = new Map(
    TYPES.map((type) => [type.name, states.filter((node) => node.gpuType === type.name)]),
  );
  const claims: Claim[] = [];
  const usage = new Map<string, number>();
  for (let tries = 0; claims.length < active && tries < active * 20; tries++) {
    const node = draw.pick(states);
    const gpus = Math.min(draw.pick(SIZES), node.allocatable);
    if (free.get(node.nodeName)! >= gpus) {
      free.set(node.nodeName, free.get(node.nodeName)! - gpus);
      claims.push({
        clusterId: node.clusterId,
        nodeName: node.nodeName,
        gpus,
        until: new Date(NOW.getTime() + draw.int(5, 24 * 60) * 60_000),
      });
      const owner = `owner-${draw.int(0, OWNERS - 1)}`;
      usage.set(owner, (usage.get(owner) ?? 0) + gpus);
    }
  }
  const requests: QueuedRequest[] = [];
  for (let i = 0; i < queued; i++) {
    const type = draw.type();
    const home = draw.chance(20) ? draw.pick(byType.get(type.name) ?? []) : undefined;
    requests.push({
      id: `request-${String(i).padStart(6, '0')}`,
      ownerId: `owner-${draw.int(0, OWNERS - 1)}`,
      gpuType: type.name,
      gpuCount: Math.min(draw.pick(SIZES), type.gpus),
      durationMs: draw.int(1, 24) * HOUR,
      priority: draw.chance(2) ? 1 : 0,
      createdAt: new Date(NOW.getTime() - draw.int(1, 48 * 3600) * 1000),
      ...(draw.chance(5) ? { avoidClusters: [`cluster-${draw.int(0, CLUSTERS - 1)}`] } : {}),
      ...(draw.chance(2) ? { nodeLabels: { rack: `r${draw.int(0, 39)}` } } : {}),
      ...(home ? { disk: { homes: [{ clusterId: home.clusterId, zone: home.zone! }], elsewhere: [] } } : {}),
    });
  }
  return { now: NOW, nodes: states, claims, queued: requests, usage };
}

function timeMs(plan: () => unknown, runs = RUNS): number {
  return median(
    Array.from({ length: runs }, () => {
      const started = performance.now();
      plan();
      return performance.now() - started;
    }),
  );
}

const verdict = (ok: boolean) => (ok ? 'PASS' : 'FAIL');

export async function benchScale(): Promise<void> {
  // Warm the JIT on a mid-sized pass first: the first pass of a process is not what a worker sees.
  schedule(syntheticFleet(1000, 1000, 500, 99));

  const rows: Record<string, string | number>[] = [];
  const sized = (nodes: number, queued: number, active: number, boundMs?: number) => {
    const input = syntheticFleet(nodes, queued, active);
    const ms = timeMs(() => schedule(input));
    const plan = schedule(input);
    rows.push({
      'nodes × queued (active)': `${nodes} × ${queued} (${active})`,
      'pass ms (median)': fmt(ms),
      admitted: plan.admit.length,
      waiting: plan.waiting.length,
      bound: boundMs ? `≤ ${boundMs} ms` : '',
      result: boundMs ? verdict(ms <= boundMs) : '',
    });
    return ms;
  };
  sized(100, 1000, 0);
  const base = sized(1000, 1000, 500, TARGETS.smallMs);
  const moreNodes = sized(10_000, 1000, 500);
  const moreQueued = sized(1000, 10_000, 500);
  sized(10_000, 10_000, 5000, TARGETS.largeMs);
  sized(1000, 10_000, 5000);
  report('Planner: one admission pass', rows);

  const exponent = (slower: number) => Math.log(slower / base) / Math.log(10);
  report('Planner: growth (1,000 × 1,000 → ×10)', [
    {
      'grown in': 'nodes (10,000 × 1,000)',
      exponent: fmt(exponent(moreNodes), 2),
      bound: `≤ ${TARGETS.exponent}`,
      result: verdict(exponent(moreNodes) <= TARGETS.exponent),
    },
    {
      'grown in': 'queued (1,000 × 10,000)',
      exponent: fmt(exponent(moreQueued), 2),
      bound: `≤ ${TARGETS.exponent}`,
      result: verdict(exponent(moreQueued) <= TARGETS.exponent),
    },
  ]);

  const baseline: Record<string, string | number>[] = [];
  for (const [nodes, queued, active] of [
    [100, 1000, 0],
    [1000, 1000, 500],
  ] as const) {
    const input = syntheticFleet(nodes, queued, active);
    const reference = timeMs(() => referenceSchedule(input), 1);
    const fast = timeMs(() => schedule(input));
    baseline.push({
      'nodes × queued (active)': `${nodes} × ${queued} (${active})`,
      'reference ms': fmt(reference),
      'planner ms': fmt(fast),
      'speed-up': `${fmt(reference / fast)}×`,
    });
  }
  report('Planner against the reference planner (same input, same run)', baseline);

  // In slices: the event loop's longest wait while a large pass runs.
  const input = syntheticFleet(10_000, 10_000, 5000);
  let longest = 0;
  let last = performance.now();
  const ticker = setInterval(() => {
    const at = performance.now();
    longest = Math.max(longest, at - last);
    last = at;
  }, 1);
  const started = performance.now();
  await scheduleInSlices(input, 10);
  const total = performance.now() - started;
  clearInterval(ticker);
  report('Planner in slices (10,000 × 10,000, 5,000 active)', [
    {
      'pass ms': fmt(total),
      'longest event-loop wait ms': fmt(longest),
      bound: '≤ 100 ms',
      result: verdict(longest <= 100),
    },
  ]);
}

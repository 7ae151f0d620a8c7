import fc from 'fast-check';
import type { DiskPlacement } from '../../storage/placement';
import { referenceSchedule } from './reference-schedule';
import {
  schedule,
  scheduleInSlices,
  type Claim,
  type NodeState,
  type QueuedRequest,
  type Schedule,
} from './schedule';

const NOW = new Date('2026-01-01T00:00:00Z');
const HOUR = 3600_000;
const at = (hours: number) => new Date(NOW.getTime() + hours * HOUR);

const node = (name: string, extra: Partial<NodeState> = {}): NodeState => ({
  clusterId: 'c1',
  nodeName: name,
  gpuType: 'h100',
  allocatable: 8,
  foreign: 0,
  clusterPriority: 100,
  ...extra,
});

let sequence = 0;
const request = (gpuCount: number, extra: Partial<QueuedRequest> = {}): QueuedRequest => {
  sequence += 1;
  return {
    id: `r${String(sequence).padStart(4, '0')}`,
    ownerId: `u${sequence}`,
    gpuType: 'h100',
    gpuCount,
    durationMs: 2 * HOUR,
    priority: 0,
    createdAt: new Date(NOW.getTime() - 1000 + sequence),
    ...extra,
  };
};

const plan = (
  nodes: NodeState[],
  queued: QueuedRequest[],
  claims: Claim[] = [],
  usage = new Map<string, number>(),
) => schedule({ now: NOW, nodes, claims, queued, usage });

const where = (result: Schedule) =>
  Object.fromEntries(
    [...result.admit, ...result.waiting].map((p) => [
      p.request.id,
      `${p.nodeName}@${(p.start.getTime() - NOW.getTime()) / HOUR}h`,
    ]),
  );

describe('schedule: best-fit placement', () => {
  it('puts a request on the node it fills best, keeping whole nodes free', () => {
    const nodes = [node('empty'), node('half', { foreign: 4 }), node('three-left', { foreign: 5 })];
    const small = request(2);
    const result = plan(nodes, [small]);
    expect(result.admit.map((p) => p.nodeName)).toEqual(['three-left']);
  });

  it('never splits a reservation across nodes: 8 GPUs on two half-free nodes wait', () => {
    const nodes = [node('a'), node('b')];
    const claims: Claim[] = [
      { clusterId: 'c1', nodeName: 'a', gpus: 4, until: at(3) },
      { clusterId: 'c1', nodeName: 'b', gpus: 4, until: at(1) },
    ];
    const big = request(8);
    const result = plan(nodes, [big], claims);
    expect(result.admit).toEqual([]);
    // The estimate comes from when a node's reservations expire, not from a constant.
    expect(where(result)).toEqual({ [big.id]: 'b@1h' });
  });

  it('cannot place what no node of the type can hold, and leaves other types alone', () => {
    const result = plan(
      [node('a', { foreign: 2 }), node('t4', { gpuType: 't4', allocatable: 1 })],
      [request(8), request(1, { gpuType: 'a100' })],
    );
    expect(result.unplaceable.map((r) => r.gpuCount)).toEqual([8, 1]);
  });

  it('prefers the cluster with the lower priority value, then the best fit', () => {
    const nodes = [
      node('tight', { clusterId: 'c2', clusterPriority: 200, foreign: 6 }),
      node('roomy', { clusterPriority: 10 }),
    ];
    expect(plan(nodes, [request(2)]).admit[0]!.nodeName).toBe('roomy');
  });
});

describe('schedule: node labels', () => {
  it('places a request asking for labels only on a node that has them all', () => {
    const nodes = [
      node('plain'),
      node('east-a', { labels: { zone: 'east', disk: 'nvme' } }),
      node('east-b', { labels: { zone: 'east' } }),
    ];
    expect(plan(nodes, [request(8, { nodeLabels: { zone: 'east', disk: 'nvme' } })]).admit[0]!.nodeName).toBe(
      'east-a',
    );
    expect(plan(nodes, [request(8, { nodeLabels: { zone: 'west' } })]).unplaceable).toHaveLength(1);
  });
});

describe('schedule: clusters that refused a request', () => {
  it('tries the others first, and comes back to them only when nothing else could ever hold it', () => {
    const nodes = [node('a', { clusterId: 'c1', clusterPriority: 10 }), node('b', { clusterId: 'c2' })];
    const refused = request(8, { avoidClusters: ['c1'] });
    expect(plan(nodes, [refused]).admit[0]!.clusterId).toBe('c2');
    const onlyThere = request(8, { avoidClusters: ['c1'] });
    expect(plan([nodes[0]!], [onlyThere]).admit[0]!.clusterId).toBe('c1');
  });
});

describe('schedule: fair order and backfill', () => {
  it('takes priority first, then the owner with fewer GPUs in use, then age', () => {
    const nodes = [node('only')];
    const heavy = request(8, { ownerId: 'heavy' });
    const light = request(8, { ownerId: 'light' });
    const urgent = request(8, { ownerId: 'heavy', priority: 5 });
    const usage = new Map([['heavy', 8]]);
    const first = plan(nodes, [heavy, light], [], usage);
    expect(first.admit.map((p) => p.request.ownerId)).toEqual(['light']);
    const second = plan(nodes, [heavy, light, urgent], [], usage);
    expect(second.admit.map((p) => p.request.id)).toEqual([urgent.id]);
    expect(second.waiting.map((p) => p.request.id)).toEqual([light.id, heavy.id]);
  });

  it('counts what it starts now toward the owner’s usage when ordering the rest', () => {
    const nodes = [node('a'), node('b', { foreign: 4 })];
    const [a1, a2, b1] = [
      request(4, { ownerId: 'a' }),
      request(4, { ownerId: 'a' }),
      request(4, { ownerId: 'b' }),
    ];
    const result = plan(nodes, [a1, a2, b1]);
    // a1 is oldest and starts; then b (0 in use) goes before a's second request.
    expect(result.admit.map((p) => p.request.id)).toEqual([a1.id, b1.id, a2.id]);
  });

  it('lets a small request start now only where it ends before the large one ahead of it', () => {
    const nodes = [node('a')];
    const claims: Claim[] = [{ clusterId: 'c1', nodeName: 'a', gpus: 6, until: at(2) }];
    const big = request(8, { durationMs: 4 * HOUR });
    const short = request(1, { durationMs: HOUR });
    const long = request(1, { durationMs: 5 * HOUR });
    const result = plan(nodes, [big, short, long], claims);
    expect(where(result)).toEqual({
      [big.id]: 'a@2h',
      [short.id]: 'a@0h', // ends at 1 h, before the 8-GPU reservation starts at 2 h
      [long.id]: 'a@6h', // would still hold a GPU at 2 h: it waits until the large one ends
    });
  });
});

const arbitraryInput = fc
  .record({
    nodes: fc.array(
      fc.record({
        allocatable: fc.constantFrom(1, 2, 4, 8),
        foreign: fc.nat(8),
        type: fc.constantFrom('h100', 'a100'),
        priority: fc.constantFrom(10, 100),
      }),
      { minLength: 1, maxLength: 24 },
    ),
    claims: fc.array(
      fc.record({
        node: fc.nat(5),
        gpus: fc.integer({ min: 1, max: 8 }),
        hours: fc.integer({ min: 1, max: 12 }),
      }),
      {
        maxLength: 8,
      },
    ),
    queued: fc.array(
      fc.record({
        owner: fc.constantFrom('u1', 'u2', 'u3'),
        type: fc.constantFrom('h100', 'a100'),
        count: fc.constantFrom(1, 2, 4, 8),
        hours: fc.integer({ min: 1, max: 12 }),
        priority: fc.constantFrom(0, 0, 1),
        age: fc.nat(1000),
      }),
      { maxLength: 25 },
    ),
  })
  .map(({ nodes, claims, queued }) => {
    const nodeStates = nodes.map((n, i) =>
      node(`n${i}`, {
        allocatable: n.allocatable,
        foreign: Math.min(n.foreign, n.allocatable),
        gpuType: n.type,
        clusterPriority: n.priority,
      }),
    );
    // Existing claims never overbook either (they were placed by this same logic).
    const held = new Map<string, number>();
    const claimList: Claim[] = [];
    for (const claim of claims) {
      const target = nodeStates[claim.node % nodeStates.length]!;
      const free = target.allocatable - target.foreign - (held.get(target.nodeName) ?? 0);
      if (claim.gpus <= free) {
        held.set(target.nodeName, (held.get(target.nodeName) ?? 0) + claim.gpus);
        claimList.push({
          clusterId: 'c1',
          nodeName: target.nodeName,
          gpus: claim.gpus,
          until: at(claim.hours),
        });
      }
    }
    const requests = queued.map((q, i) =>
      request(q.count, {
        id: `q${String(i).padStart(3, '0')}`,
        ownerId: q.owner,
        gpuType: q.type,
        durationMs: q.hours * HOUR,
        priority: q.priority,
        createdAt: new Date(NOW.getTime() - q.age * 1000),
      }),
    );
    return { nodes: nodeStates, claims: claimList, queued: requests };
  });

describe('schedule: properties', () => {
  it('never overbooks a node at any instant, and places every request exactly once', () => {
    fc.assert(
      fc.property(arbitraryInput, ({ nodes, claims, queued }) => {
        const result = plan(nodes, queued, claims);
        const ids = [...result.admit, ...result.waiting]
          .map((p) => p.request.id)
          .concat(result.unplaceable.map((r) => r.id));
        expect(ids.sort()).toEqual(queued.map((r) => r.id).sort());
        const holds = [
          ...claims.map((c) => ({
            node: c.nodeName,
            from: NOW.getTime(),
            to: c.until!.getTime(),
            gpus: c.gpus,
          })),
          ...[...result.admit, ...result.waiting].map((p) => ({
            node: p.nodeName,
            from: p.start.getTime(),
            to: p.start.getTime() + p.request.durationMs,
            gpus: p.request.gpuCount,
          })),
        ];
        for (const n of nodes) {
          for (const instant of holds.filter((h) => h.node === n.nodeName).map((h) => h.from)) {
            const used = holds
              .filter((h) => h.node === n.nodeName && h.from <= instant && instant < h.to)
              .reduce((sum, h) => sum + h.gpus, 0);
            expect(used + n.foreign).toBeLessThanOrEqual(n.allocatable);
          }
        }
        for (const placed of [...result.admit, ...result.waiting]) {
          expect(nodes.find((n) => n.nodeName === placed.nodeName)!.gpuType).toBe(placed.request.gpuType);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('admits exactly the plans that start now, and cannot place only what no node could ever hold', () => {
    fc.assert(
      fc.property(arbitraryInput, ({ nodes, claims, queued }) => {
        const result = plan(nodes, queued, claims);
        expect(result.admit.every((p) => p.start.getTime() === NOW.getTime())).toBe(true);
        expect(result.waiting.every((p) => p.start.getTime() > NOW.getTime())).toBe(true);
        for (const r of result.unplaceable) {
          expect(nodes.some((n) => n.gpuType === r.gpuType && n.allocatable - n.foreign >= r.gpuCount)).toBe(
            false,
          );
        }
      }),
      { numRuns: 300 },
    );
  });

  it('keeps large blocks: a request never takes a fuller node than it needs on equally preferred clusters', () => {
    fc.assert(
      fc.property(
        fc.array(fc.nat(8), { minLength: 1, maxLength: 8 }),
        fc.constantFrom(1, 2, 4),
        (foreign, count) => {
          const nodes = foreign.map((f, i) => node(`n${i}`, { foreign: f }));
          const [placed] = plan(nodes, [request(count)]).admit;
          const fits = nodes.map((n) => n.allocatable - n.foreign).filter((free) => free >= count);
          if (fits.length === 0) {
            expect(placed).toBeUndefined();
            return;
          }
          const chosen = nodes.find((n) => n.nodeName === placed!.nodeName)!;
          expect(chosen.allocatable - chosen.foreign).toBe(Math.min(...fits));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('an earlier request in fair order never starts after a later identical one', () => {
    fc.assert(
      fc.property(arbitraryInput, fc.constantFrom(1, 2, 4, 8), ({ nodes, claims }, count) => {
        const twins = [
          request(count, { ownerId: 'x', durationMs: HOUR }),
          request(count, { ownerId: 'y', durationMs: HOUR }),
        ];
        const result = plan(nodes, twins, claims);
        const start = (id: string) =>
          [...result.admit, ...result.waiting].find((p) => p.request.id === id)?.start.getTime();
        const [first, second] = twins.map((t) => start(t.id));
        if (first !== undefined && second !== undefined) {
          expect(first).toBeLessThanOrEqual(second);
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe('schedule: disks', () => {
  const home = { clusterId: 'east', zone: 'a' };
  const fleet = () => [
    node('east-a', { clusterId: 'east', zone: 'a' }),
    node('east-b', { clusterId: 'east', zone: 'b' }),
    node('west-a', { clusterId: 'west', zone: 'a', clusterPriority: 10 }),
  ];

  it('runs where its volume lives (cluster and zone), even against the cluster priority', () => {
    const withDisk = request(8, { disk: { homes: [home], elsewhere: [] } });
    expect(plan(fleet(), [withDisk]).admit.map((p) => p.nodeName)).toEqual(['east-a']);
  });

  it('waits for its home rather than move when it may not (no current snapshot)', () => {
    const claims: Claim[] = [{ clusterId: 'east', nodeName: 'east-a', gpus: 8, until: at(3) }];
    const withDisk = request(8, { disk: { homes: [home], elsewhere: [] } });
    const result = plan(fleet(), [withDisk], claims);
    expect(result.admit).toEqual([]);
    expect(where(result)[withDisk.id]).toBe('east-a@3h');
  });

  it('moves elsewhere only when home cannot start it now and the snapshot can', () => {
    const claims: Claim[] = [{ clusterId: 'east', nodeName: 'east-a', gpus: 8, until: at(3) }];
    const movable = request(8, { disk: { homes: [home], elsewhere: [{ clusterId: 'west' }] } });
    expect(plan(fleet(), [movable], claims).admit.map((p) => p.nodeName)).toEqual(['west-a']);
    // Home free: it stays, though west is the preferred cluster.
    const stays = request(8, { disk: { homes: [home], elsewhere: [{ clusterId: 'west' }] } });
    expect(plan(fleet(), [stays]).admit.map((p) => p.nodeName)).toEqual(['east-a']);
  });

  it('with home and elsewhere both busy, waits for whichever frees first', () => {
    const claims: Claim[] = [
      { clusterId: 'east', nodeName: 'east-a', gpus: 8, until: at(3) },
      { clusterId: 'west', nodeName: 'west-a', gpus: 8, until: at(1) },
    ];
    const movable = request(8, { disk: { homes: [home], elsewhere: [{ clusterId: 'west' }] } });
    expect(where(plan(fleet(), [movable], claims))[movable.id]).toBe('east-a@3h');
  });

  it('is unplaceable when no node of its home or restore scope exists', () => {
    const lost = request(1, { disk: { homes: [{ clusterId: 'gone' }], elsewhere: [] } });
    expect(plan(fleet(), [lost]).unplaceable.map((r) => r.id)).toEqual([lost.id]);
  });
});

/** A fleet, its claims and a queue, drawn with everything the planner filters and orders by. */
const arbitraryFleetAndQueue = fc
  .record({
    nodes: fc.array(
      fc.record({
        cluster: fc.constantFrom('c1', 'c2', 'c3'),
        zone: fc.constantFrom('a', 'b', undefined),
        allocatable: fc.constantFrom(1, 2, 4, 8),
        foreign: fc.constantFrom(0, 0, 0, 1, 3, 8),
        type: fc.constantFrom('h100', 'h100', 'a100'),
        rack: fc.constantFrom('r1', 'r2'),
      }),
      { minLength: 1, maxLength: 24 },
    ),
    priorities: fc.record({
      c1: fc.constantFrom(10, 100),
      c2: fc.constantFrom(10, 100),
      c3: fc.constant(50),
    }),
    claims: fc.array(
      fc.record({
        node: fc.nat(23),
        gpus: fc.integer({ min: 1, max: 8 }),
        minutes: fc.option(fc.integer({ min: -30, max: 12 * 60 }), { freq: 8 }),
      }),
      { maxLength: 30 },
    ),
    queued: fc.array(
      fc.record({
        owner: fc.constantFrom('u1', 'u2', 'u3', 'u4'),
        type: fc.constantFrom('h100', 'h100', 'a100'),
        count: fc.constantFrom(1, 1, 2, 3, 4, 8),
        minutes: fc.constantFrom(30, 60, 90, 120, 240, 600),
        priority: fc.constantFrom(0, 0, 0, 1),
        age: fc.nat(50),
        ports: fc.constantFrom(1, 1, 2),
        avoid: fc.constantFrom([], [], ['c1'], ['c2', 'c3']),
        labels: fc.constantFrom(undefined, undefined, undefined, { rack: 'r1' }),
        disk: fc.constantFrom<DiskPlacement | undefined>(
          undefined,
          undefined,
          { homes: [{ clusterId: 'c1', zone: 'a' }], elsewhere: [] },
          { homes: [{ clusterId: 'c2' }], elsewhere: [{ clusterId: 'c3' }, { zone: 'b' }] },
        ),
      }),
      { maxLength: 40 },
    ),
    usage: fc.array(fc.record({ owner: fc.constantFrom('u1', 'u2', 'u3', 'u4'), gpus: fc.nat(16) }), {
      maxLength: 3,
    }),
    slots: fc.record({
      c1: fc.option(fc.nat(3), { freq: 2 }),
      c2: fc.option(fc.nat(3), { freq: 2 }),
      c3: fc.constant(null),
    }),
  })
  .map(({ nodes, priorities, claims, queued, usage, slots }) => {
    const nodeStates = nodes.map((n, i) =>
      node(`n-${String(i).padStart(2, '0')}`, {
        clusterId: n.cluster,
        clusterPriority: priorities[n.cluster],
        allocatable: n.allocatable,
        foreign: Math.min(n.foreign, n.allocatable),
        gpuType: n.type,
        labels: { rack: n.rack },
        ...(n.zone ? { zone: n.zone } : {}),
      }),
    );
    const claimList: Claim[] = claims.map((claim) => {
      const target = nodeStates[claim.node % nodeStates.length]!;
      return {
        clusterId: target.clusterId,
        nodeName: target.nodeName,
        gpus: claim.gpus,
        ...(claim.minutes === null ? {} : { until: new Date(NOW.getTime() + claim.minutes * 60_000) }),
      };
    });
    const requests = queued.map((q, i) =>
      request(q.count, {
        id: `q${String(i).padStart(3, '0')}`,
        ownerId: q.owner,
        gpuType: q.type,
        durationMs: q.minutes * 60_000,
        priority: q.priority,
        createdAt: new Date(NOW.getTime() - q.age * 1000),
        avoidClusters: q.avoid,
        nodePorts: q.ports,
        ...(q.labels ? { nodeLabels: q.labels } : {}),
        ...(q.disk ? { disk: q.disk } : {}),
      }),
    );
    return {
      now: NOW,
      nodes: nodeStates,
      claims: claimList,
      queued: requests,
      usage: new Map(usage.map(({ owner, gpus }) => [owner, gpus])),
      slots: new Map(
        Object.entries(slots).flatMap(([cluster, left]) => (left === null ? [] : [[cluster, left] as const])),
      ),
    };
  });

describe('schedule: cluster slots (NodePorts)', () => {
  const two = () => [
    node('a', { clusterId: 'full', clusterPriority: 10 }),
    node('b', { clusterId: 'roomy' }),
  ];

  it('starts nothing now on a cluster with no slot left: the request goes where one is', () => {
    const result = schedule({
      now: NOW,
      nodes: two(),
      claims: [],
      queued: [request(1)],
      usage: new Map(),
      slots: new Map([['full', 0]]),
    });
    expect(result.admit.map((p) => p.clusterId)).toEqual(['roomy']);
  });

  it('queues what only a full cluster can hold, with an estimate from its next reservation ending', () => {
    const claims: Claim[] = [
      { clusterId: 'full', nodeName: 'a', gpus: 1, until: at(3) },
      { clusterId: 'full', nodeName: 'a', gpus: 1, until: at(2) },
    ];
    const pinned = request(1, { disk: { homes: [{ clusterId: 'full' }], elsewhere: [] } });
    const result = schedule({
      now: NOW,
      nodes: two(),
      claims,
      queued: [pinned],
      usage: new Map(),
      slots: new Map([['full', 0]]),
    });
    expect(result.admit).toEqual([]);
    expect(where(result)).toEqual({ [pinned.id]: 'a@2h' });
  });

  it('admits no more than the slots a cluster has left in one pass', () => {
    const result = schedule({
      now: NOW,
      nodes: [node('a', { clusterId: 'c1' })],
      claims: [],
      queued: [request(1), request(1), request(1)],
      usage: new Map(),
      slots: new Map([['c1', 2]]),
    });
    expect(result.admit).toHaveLength(2);
    // The third waits for one of the two to end (2 h each).
    expect(result.waiting.map((p) => p.start)).toEqual([at(2)]);
  });
});

describe('schedule: the same plan as the reference planner', () => {
  it('returns exactly what reference-schedule.ts returns: admissions, starts, order and the unplaceable', () => {
    fc.assert(
      fc.property(arbitraryFleetAndQueue, (input) => {
        expect(schedule(input)).toEqual(referenceSchedule(input));
      }),
      { numRuns: 1500 },
    );
  });

  it('returns the same on a small, contended fleet, where reservations planned later leave holes', () => {
    const contended = fc
      .record({
        sizes: fc.array(fc.constantFrom(4, 8), { minLength: 1, maxLength: 4 }),
        claims: fc.array(
          fc.record({
            node: fc.nat(3),
            gpus: fc.integer({ min: 1, max: 6 }),
            hours: fc.integer({ min: 1, max: 6 }),
          }),
          { maxLength: 6 },
        ),
        queued: fc.array(
          fc.record({
            count: fc.integer({ min: 1, max: 8 }),
            hours: fc.integer({ min: 1, max: 8 }),
            owner: fc.constantFrom('u1', 'u2'),
          }),
          { maxLength: 30 },
        ),
        slots: fc.option(fc.nat(6), { freq: 3 }),
      })
      .map(({ sizes, claims, queued, slots }) => {
        const nodes = sizes.map((allocatable, i) => node(`n${i}`, { allocatable }));
        return {
          now: NOW,
          ...(slots === null ? {} : { slots: new Map([['c1', slots]]) }),
          nodes,
          claims: claims.map((c) => ({
            clusterId: 'c1',
            nodeName: nodes[c.node % nodes.length]!.nodeName,
            gpus: c.gpus,
            until: at(c.hours),
          })),
          queued: queued.map((q, i) =>
            request(q.count, {
              id: `q${String(i).padStart(3, '0')}`,
              ownerId: q.owner,
              durationMs: q.hours * HOUR,
              createdAt: new Date(NOW.getTime() - 1000 + i),
            }),
          ),
          usage: new Map<string, number>(),
        };
      });
    fc.assert(
      fc.property(contended, (input) => {
        expect(schedule(input)).toEqual(referenceSchedule(input));
      }),
      { numRuns: 1500 },
    );
  });

  it('makes the same plan in slices as in one go, giving the event loop back between slices', async () => {
    const input = fc.sample(arbitraryFleetAndQueue, { numRuns: 1, seed: 7 })[0]!;
    let finished = false;
    const seenMeanwhile: boolean[] = [];
    setImmediate(() => seenMeanwhile.push(finished));
    const sliced = await scheduleInSlices(input, 0).finally(() => (finished = true));
    expect(sliced).toEqual(schedule(input));
    // Another callback ran while the plan was being made.
    expect(seenMeanwhile).toEqual([false]);
  });
});

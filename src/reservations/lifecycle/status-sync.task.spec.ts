import { groupByCluster } from './status-sync.task';

describe('groupByCluster', () => {
  it('groups placed reservations by cluster in their order, leaving out those without one', () => {
    const rows = [
      { id: 'r1', clusterId: 'east' },
      { id: 'r2', clusterId: null },
      { id: 'r3', clusterId: 'west' },
      { id: 'r4', clusterId: 'east' },
    ];
    expect([...groupByCluster(rows)].map(([cluster, group]) => [cluster, group.map((r) => r.id)])).toEqual([
      ['east', ['r1', 'r4']],
      ['west', ['r3']],
    ]);
  });

  it('keeps every one of a large round, each once (one pass, not a copy per row)', () => {
    const rows = Array.from({ length: 100_000 }, (_, i) => ({ id: `r${i}`, clusterId: `c${i % 10}` }));
    const groups = groupByCluster(rows);
    expect(groups.size).toBe(10);
    expect([...groups.values()].map((group) => group.length)).toEqual(Array(10).fill(10_000));
    expect(groups.get('c3')![1]).toBe(rows[13]);
  });
});

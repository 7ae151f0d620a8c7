import { summarizeAvailability, type ClusterFigures } from './availability';

/** A cluster's figures for a type; the per-node rules are the database's (test/clusters/availability.spec.ts). */
const figures = (
  clusterId: string,
  gpuType: string,
  total: number,
  free: number,
  largest: number,
  fullNodes: number,
  nodes: number,
): ClusterFigures => ({
  clusterId,
  gpuType,
  total_gpus: total,
  free_gpus: free,
  max_reservable: largest,
  full_nodes_free: fullNodes,
  nodes,
});

describe('summarizeAvailability', () => {
  const clusters = new Map([
    ['c1', { name: 'east', accepting: true }],
    ['c2', { name: 'west', accepting: true }],
    ['c3', { name: 'draining', accepting: false }],
  ]);

  it('adds up each type over its accepting clusters, listing each cluster, types and clusters sorted', () => {
    const rows = [
      figures('c2', 'h100', 8, 0, 0, 0, 1),
      figures('c1', 'h100', 16, 11, 8, 1, 2),
      figures('c2', 'a100', 4, 3, 3, 0, 1),
    ];
    expect(summarizeAvailability(rows, clusters, new Map([['h100', 2]]))).toEqual([
      {
        gpu_type: 'a100',
        total_gpus: 4,
        free_gpus: 3,
        max_reservable: 3,
        full_nodes_free: 0,
        nodes: 1,
        queued: 0,
        clusters: [
          {
            cluster: 'west',
            accepting: true,
            total_gpus: 4,
            free_gpus: 3,
            max_reservable: 3,
            full_nodes_free: 0,
            nodes: 1,
          },
        ],
      },
      {
        gpu_type: 'h100',
        total_gpus: 24,
        free_gpus: 11,
        max_reservable: 8,
        full_nodes_free: 1,
        nodes: 3,
        queued: 2,
        clusters: [
          {
            cluster: 'east',
            accepting: true,
            total_gpus: 16,
            free_gpus: 11,
            max_reservable: 8,
            full_nodes_free: 1,
            nodes: 2,
          },
          {
            cluster: 'west',
            accepting: true,
            total_gpus: 8,
            free_gpus: 0,
            max_reservable: 0,
            full_nodes_free: 0,
            nodes: 1,
          },
        ],
      },
    ]);
  });

  it('lists a cluster that takes no new reservations, without counting it in the type', () => {
    const [h100] = summarizeAvailability([figures('c3', 'h100', 8, 8, 8, 1, 1)], clusters);
    expect(h100).toMatchObject({ gpu_type: 'h100', free_gpus: 0, max_reservable: 0, nodes: 0 });
    expect(h100!.clusters).toEqual([
      {
        cluster: 'draining',
        accepting: false,
        total_gpus: 8,
        free_gpus: 8,
        max_reservable: 8,
        full_nodes_free: 1,
        nodes: 1,
      },
    ]);
  });

  it('shows a type that only has a queue', () => {
    expect(summarizeAvailability([], clusters, new Map([['t4', 3]]))).toEqual([
      {
        gpu_type: 't4',
        total_gpus: 0,
        free_gpus: 0,
        max_reservable: 0,
        full_nodes_free: 0,
        nodes: 0,
        queued: 3,
        clusters: [],
      },
    ]);
  });

  it('ignores figures of clusters it does not know (removed meanwhile)', () => {
    expect(summarizeAvailability([figures('gone', 'h100', 8, 8, 8, 1, 1)], clusters)).toEqual([]);
  });
});

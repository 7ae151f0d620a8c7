import { summarizeAvailability } from './availability';
import type { CapacityRowValues } from './capacity-rows';

const node = (
  clusterId: string,
  name: string,
  gpuType: string | null,
  allocatable: number,
  used: number,
  ready = true,
): CapacityRowValues => ({
  clusterId,
  nodeName: name,
  gpuType,
  allocatableGpus: allocatable,
  usedGpus: used,
  managedGpus: 0,
  ready,
  schedulable: true,
  zone: null,
  labels: {},
  seenAt: new Date(0),
});

describe('summarizeAvailability', () => {
  const clusters = new Map([
    ['c1', { name: 'east', accepting: true }],
    ['c2', { name: 'west', accepting: true }],
    ['c3', { name: 'draining', accepting: false }],
  ]);

  it('adds up free GPUs, the largest block on one node and fully free nodes, per type and cluster', () => {
    const rows = [
      node('c1', 'e1', 'h100', 8, 0),
      node('c1', 'e2', 'h100', 8, 5),
      node('c2', 'w1', 'h100', 8, 8),
      node('c2', 'w2', 'a100', 4, 1),
      node('c1', 'cpu', null, 0, 0),
      node('c1', 'broken', 'h100', 8, 0, false),
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
    const [h100] = summarizeAvailability([node('c3', 'd1', 'h100', 8, 0)], clusters);
    expect(h100).toMatchObject({ gpu_type: 'h100', free_gpus: 0, max_reservable: 0, nodes: 0 });
    expect(h100.clusters).toEqual([
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

  it('ignores rows of clusters it does not know (removed meanwhile)', () => {
    expect(summarizeAvailability([node('gone', 'x', 'h100', 8, 0)], clusters)).toEqual([]);
  });
});

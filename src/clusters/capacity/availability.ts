import type { Cluster } from '../cluster.entity';
import type { CapacityRowValues } from './capacity-rows';

/** How a cluster stands for new reservations. */
export interface ClusterStanding {
  name: string;
  /** Enabled, not draining, and healthy at the last check: new reservations may go there. */
  accepting: boolean;
}

/** New reservations may go to a cluster that is enabled, not draining, and healthy at its last check. */
export function standingOf(cluster: Cluster): ClusterStanding {
  return {
    name: cluster.name,
    accepting: cluster.enabled && !cluster.draining && cluster.status === 'healthy',
  };
}

export interface AvailabilityFigures {
  /** GPUs on ready, schedulable nodes. */
  total_gpus: number;
  free_gpus: number;
  /** The most GPUs free on one node: the largest reservation that fits now. */
  max_reservable: number;
  /** Nodes with every GPU free. */
  full_nodes_free: number;
  nodes: number;
}

export interface ClusterAvailability extends AvailabilityFigures {
  cluster: string;
  accepting: boolean;
}

export interface GpuTypeAvailability extends AvailabilityFigures {
  gpu_type: string;
  /** Reservations waiting for this type. */
  queued: number;
  clusters: ClusterAvailability[];
}

const ZERO: AvailabilityFigures = {
  total_gpus: 0,
  free_gpus: 0,
  max_reservable: 0,
  full_nodes_free: 0,
  nodes: 0,
};

/**
 * Per GPU type and per cluster, from capacity rows: what is there and what fits now. Type totals
 * count accepting clusters only (a draining or unhealthy cluster takes no new reservation); each
 * cluster is listed with its own figures either way. Sorted by type, clusters by name.
 */
export function summarizeAvailability(
  rows: readonly CapacityRowValues[],
  clusters: ReadonlyMap<string, ClusterStanding>,
  queued: ReadonlyMap<string, number> = new Map(),
): GpuTypeAvailability[] {
  const byType = new Map<string, Map<string, CapacityRowValues[]>>();
  for (const row of rows) {
    if (row.gpuType === null || !clusters.has(row.clusterId)) {
      continue;
    }
    const byCluster = byType.get(row.gpuType) ?? new Map<string, CapacityRowValues[]>();
    byCluster.set(row.clusterId, [...(byCluster.get(row.clusterId) ?? []), row]);
    byType.set(row.gpuType, byCluster);
  }
  const types = new Set([...byType.keys(), ...queued.keys()]);
  return [...types].sort().map((gpuType) => {
    const perCluster = [...(byType.get(gpuType) ?? new Map<string, CapacityRowValues[]>())]
      .map(([clusterId, nodes]) => {
        const standing = clusters.get(clusterId)!;
        return { cluster: standing.name, accepting: standing.accepting, ...figuresOf(nodes) };
      })
      .sort((a, b) => a.cluster.localeCompare(b.cluster));
    const accepting = perCluster.filter((cluster) => cluster.accepting);
    return {
      gpu_type: gpuType,
      total_gpus: sum(accepting, 'total_gpus'),
      free_gpus: sum(accepting, 'free_gpus'),
      max_reservable: Math.max(0, ...accepting.map((cluster) => cluster.max_reservable)),
      full_nodes_free: sum(accepting, 'full_nodes_free'),
      nodes: sum(accepting, 'nodes'),
      queued: queued.get(gpuType) ?? 0,
      clusters: perCluster,
    };
  });
}

function figuresOf(nodes: readonly CapacityRowValues[]): AvailabilityFigures {
  return nodes
    .filter((node) => node.ready && node.schedulable)
    .reduce((figures, node) => {
      const free = Math.max(0, node.allocatableGpus - node.usedGpus);
      return {
        total_gpus: figures.total_gpus + node.allocatableGpus,
        free_gpus: figures.free_gpus + free,
        max_reservable: Math.max(figures.max_reservable, free),
        full_nodes_free: figures.full_nodes_free + (node.usedGpus === 0 && node.allocatableGpus > 0 ? 1 : 0),
        nodes: figures.nodes + 1,
      };
    }, ZERO);
}

function sum(list: readonly AvailabilityFigures[], field: keyof AvailabilityFigures): number {
  return list.reduce((total, item) => total + item[field], 0);
}

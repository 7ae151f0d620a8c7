import type { Cluster } from '../cluster.entity';

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

/** One cluster's figures for one GPU type (its ready, schedulable nodes'). */
export interface ClusterFigures extends AvailabilityFigures {
  gpuType: string;
  clusterId: string;
}

/**
 * Per GPU type and per cluster, from each cluster's figures: what is there and what fits now. Type
 * totals count accepting clusters only (a draining or unhealthy cluster takes no new reservation);
 * each cluster is listed with its own figures either way. Sorted by type, clusters by name.
 */
export function summarizeAvailability(
  figures: readonly ClusterFigures[],
  clusters: ReadonlyMap<string, ClusterStanding>,
  queued: ReadonlyMap<string, number> = new Map(),
): GpuTypeAvailability[] {
  const byType = new Map<string, ClusterAvailability[]>();
  for (const { gpuType, clusterId, ...figuresOfCluster } of figures) {
    const standing = clusters.get(clusterId);
    if (!standing) {
      continue;
    }
    const perCluster = byType.get(gpuType) ?? [];
    perCluster.push({ cluster: standing.name, accepting: standing.accepting, ...figuresOfCluster });
    byType.set(gpuType, perCluster);
  }
  const types = new Set([...byType.keys(), ...queued.keys()]);
  return [...types].sort().map((gpuType) => {
    const perCluster = (byType.get(gpuType) ?? []).sort((a, b) => a.cluster.localeCompare(b.cluster));
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

function sum(list: readonly AvailabilityFigures[], field: keyof AvailabilityFigures): number {
  return list.reduce((total, item) => total + item[field], 0);
}

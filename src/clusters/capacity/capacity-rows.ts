import type { ClusterCapacity, NodeCapacity } from '../../deployer/public';
import { DEFAULT_ZONE_LABEL, type ClusterProfile } from '../dto/cluster-profile.dto';
import type { NodeCapacityRow } from '../node-capacity.entity';
import { matchesLabels } from './node-rules';

export type CapacityRowValues = Omit<NodeCapacityRow, 'cluster'>;

/**
 * A deployer's node report as capacity rows: each node's GPU type is the profile's type whose
 * node selector the node's labels satisfy (the same selector its pods get), its zone the profile's
 * zone label.
 */
export function capacityRows(
  clusterId: string,
  profile: ClusterProfile,
  report: ClusterCapacity,
  seenAt: Date,
): CapacityRowValues[] {
  return report.nodes.map((node) => ({
    clusterId,
    nodeName: node.name,
    gpuType: gpuTypeOf(node, profile),
    allocatableGpus: node.allocatable_gpus,
    usedGpus: node.requested_gpus,
    // A deployer older than this field reports none: its usage all counts as others'.
    managedGpus: node.managed_gpus ?? 0,
    ready: node.ready,
    schedulable: node.schedulable,
    zone: node.labels[profile.zone_label ?? DEFAULT_ZONE_LABEL] ?? null,
    labels: node.labels,
    seenAt,
  }));
}

function gpuTypeOf(node: NodeCapacity, profile: ClusterProfile): string | null {
  const match = (profile.gpu_types ?? []).find((type) => matchesLabels(node.labels, type.node_selector));
  return match?.name ?? null;
}

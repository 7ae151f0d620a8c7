/**
 * How a node's capacity row is read, the same wherever GPUs are counted (availability, the
 * planner, the claim, the request check) and nodes are matched (capacity sync, placement).
 */
import type { NodeCapacityRow } from '../node-capacity.entity';

/** GPUs on the node held by pods ODC does not manage: never ODC's to give. */
export function foreignGpus(row: Pick<NodeCapacityRow, 'usedGpus' | 'managedGpus'>): number {
  return Math.max(0, row.usedGpus - row.managedGpus);
}

/** foreignGpus in SQL, for a query over the `capacity` table. */
export const FOREIGN_GPUS_SQL = 'greatest(0, used_gpus - managed_gpus)';

/** The labels have every key of the selector with its value (a node selector's rule). */
export function matchesLabels(
  labels: Readonly<Record<string, string>> | undefined,
  selector: Readonly<Record<string, string>> | null | undefined,
): boolean {
  return Object.entries(selector ?? {}).every(([key, value]) => labels?.[key] === value);
}

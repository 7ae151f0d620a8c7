/**
 * Where a reservation with a disk may run (pure): where the disk's volume lives, or — when the
 * policy allows and its latest ready snapshot holds all it wrote — wherever that snapshot can be
 * restored. The scheduler prefers home and goes elsewhere only when home cannot start it now.
 */
import type { ProviderSnapshot } from './providers/storage-provider';

/** Nodes of this cluster (any when unset) in this zone (any when unset). */
export interface NodeScope {
  clusterId?: string;
  zone?: string;
}

export interface DiskPlacement {
  /** Where its volume is (or, restoring, where the snapshot it starts from can be restored). */
  homes: NodeScope[];
  /** Restore from its latest snapshot: only when no home node can start it now. */
  elsewhere: NodeScope[];
}

/** A disk as placement reads it, with its latest ready snapshot and the one it must restore from. */
export interface DiskPlacementFacts {
  volumeId: string | null;
  volumeClusterId: string | null;
  zone: string | null;
  usedSinceSnapshot: boolean;
  /** Its next volume must start from this snapshot (a restore asked for). */
  restoreFrom?: ProviderSnapshot;
  latestReady?: ProviderSnapshot;
}

export function inScopes(node: { clusterId: string; zone?: string }, scopes: readonly NodeScope[]): boolean {
  return scopes.some(
    (scope) =>
      (scope.clusterId === undefined || scope.clusterId === node.clusterId) &&
      (scope.zone === undefined || scope.zone === node.zone),
  );
}

/**
 * Undefined: anywhere (a disk never used, nothing to restore). `clusters`: the accepting clusters;
 * `restorableIn` is the provider's rule for a snapshot.
 */
export function diskPlacement(
  disk: DiskPlacementFacts,
  clusters: readonly string[],
  restorableIn: (snapshot: ProviderSnapshot, clusterId: string) => boolean,
  restoreElsewhere: boolean,
): DiskPlacement | undefined {
  const restorable = (snapshot: ProviderSnapshot): NodeScope[] =>
    clusters.filter((clusterId) => restorableIn(snapshot, clusterId)).map((clusterId) => ({ clusterId }));
  if (disk.restoreFrom) {
    return { homes: restorable(disk.restoreFrom), elsewhere: [] };
  }
  if (!disk.volumeId) {
    return undefined;
  }
  const home: NodeScope = {
    ...(disk.volumeClusterId ? { clusterId: disk.volumeClusterId } : {}),
    ...(disk.zone ? { zone: disk.zone } : {}),
  };
  const movable = restoreElsewhere && !disk.usedSinceSnapshot && disk.latestReady !== undefined;
  return { homes: [home], elsewhere: movable ? restorable(disk.latestReady!) : [] };
}

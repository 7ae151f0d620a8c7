import { GPU_PRODUCT_LABEL } from '../../simulator/cluster';
import type { SimulatorConfig } from '../../simulator/config';
import type { ClusterProfile } from '../../clusters/dto/cluster-profile.dto';

/** The catalog's name for a GPU product label (`NVIDIA-H100-80GB-HBM3` → `h100`). */
export function gpuTypeOfProduct(product: string): string {
  const known = /(b200|h200|h100|a100|a10g|l40s|l4|t4)/i.exec(product);
  return (known?.[1] ?? product)
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .slice(0, 32);
}

/** A profile that maps the simulated fleet's GPU nodes by their product label, as on a real cluster. */
export function profileForSimulator(simulator: SimulatorConfig, namespace: string): ClusterProfile {
  const gpuPools = simulator.nodePools.filter((pool) => pool.gpu !== undefined);
  return {
    namespace,
    storage_class: simulator.storageClasses.find((storage) => storage.default)?.name,
    volume_snapshot_class: simulator.volumeSnapshotClasses.find((snapshots) => snapshots.default)?.name,
    storage_domain: `simulated:${simulator.storageBackend ?? 'default'}`,
    gpu_types: gpuPools.map((pool) => ({
      name: gpuTypeOfProduct(pool.gpu!.product),
      node_selector: { [GPU_PRODUCT_LABEL]: pool.gpu!.product },
      gpus_per_node: pool.gpu!.count,
    })),
    zones: [...new Set(gpuPools.flatMap((pool) => (pool.zone ? [pool.zone] : [])))],
    simulated: true,
  };
}

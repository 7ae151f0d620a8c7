import type { INestApplication } from '@nestjs/common';
import type { Logger } from 'pino';
import { commaList } from '../../infra/config/comma-list';
import type { AppConfig } from '../../infra/config/env';
import { GPU_PRODUCT_LABEL } from '../../simulator/cluster';
import type { SimulatorConfig } from '../../simulator/config';
import { ClustersService } from '../clusters.service';
import type { ClusterProfile } from '../dto/cluster-profile.dto';

export const LOCAL_SIM_CLUSTER = 'local-sim';

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
  };
}

/**
 * A development start with its own simulated cluster and no cluster registered yet registers that
 * one as `local-sim` (through the same path as an admin), so `npm start` shows real availability.
 * A later start points `local-sim` at its own deployer again (the port may have changed) with the
 * deployer's token (a development deployer without ODC_DEPLOYER_TOKEN makes a new one each start:
 * `config` is the deployer's, token included). Never in production or test mode, and nothing else
 * is touched when other clusters are registered.
 */
export async function registerLocalSimulator(
  core: INestApplication,
  options: { config: AppConfig; logger: Logger; deployerUrl: string; simulator: SimulatorConfig },
): Promise<void> {
  const { config, logger, deployerUrl } = options;
  if (config.NODE_ENV !== 'development' || !config.roles.has('coordinator')) {
    return;
  }
  const clusters = core.get(ClustersService, { strict: false });
  const registered = await clusters.list();
  const token = config.ODC_DEPLOYER_TOKEN ? { token: config.ODC_DEPLOYER_TOKEN } : {};
  const localSim = registered.find((cluster) => cluster.name === LOCAL_SIM_CLUSTER);
  if (localSim) {
    if (localSim.deployerUrl !== deployerUrl || config.ODC_DEPLOYER_TOKEN) {
      await clusters.update(localSim.id, { deployer_url: deployerUrl, ...token });
    }
    return;
  }
  if (registered.length > 0) {
    return;
  }
  const [namespace] = commaList(config.ODC_DEPLOYER_NAMESPACES);
  const cluster = await clusters.create({
    name: LOCAL_SIM_CLUSTER,
    deployer_url: deployerUrl,
    ...token,
    profile: profileForSimulator(options.simulator, namespace),
  });
  logger.info(
    { cluster: cluster.name, status: cluster.status, deployer: cluster.deployerUrl },
    `registered the simulated cluster as ${LOCAL_SIM_CLUSTER} (development only)`,
  );
}

import type { INestApplication } from '@nestjs/common';
import type { Logger } from 'pino';
import { commaList } from '../../infra/config/comma-list';
import type { AppConfig } from '../config';
import type { SimulatorConfig } from '../../simulator/config';
import { ClustersService } from '../../clusters/clusters.service';
import { profileForSimulator } from './simulator-profile';

export const LOCAL_SIM_CLUSTER = 'local-sim';

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
  if (namespace === undefined) {
    throw new Error('ODC_DEPLOYER_NAMESPACES names no namespace for the simulated cluster');
  }
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

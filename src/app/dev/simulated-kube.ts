import type { Logger } from 'pino';
import { kubeConfigForServer, type KubeAccess } from '../../deployer/kube/kube-access';
import { SimulatedCluster } from '../../simulator/cluster';
import { DEMO_CLUSTER, type SimulatorConfig } from '../../simulator/config';
import { SIMULATED_CSI_DRIVER } from '../../simulator/csi-driver';

export interface SimulatedKubeAccess extends KubeAccess {
  source: 'simulator';
  simulatorUrl: string;
  /** Its fleet, for the development start's `local-sim` registration. */
  simulator: SimulatorConfig;
  /** Its CSI driver, which the deployer's policy then allows (its snapshots can be imported). */
  csiDriver: string;
}

/**
 * The deployer's Kubernetes when nothing else is configured and ODC_DEPLOYER_SIMULATOR is on: a
 * simulated GPU cluster started in this process. Loaded by the runtime only then, so no other
 * process loads the simulator.
 */
export async function startSimulatedKube(
  logger: Pick<Logger, 'info' | 'warn'>,
  stateFile?: string,
): Promise<SimulatedKubeAccess> {
  const cluster = await startKeeping(stateFile, logger);
  logger.info(
    { url: cluster.url, stateFile },
    `deployer: using an in-process simulated GPU cluster at ${cluster.url}${stateFile ? ` (its state in ${stateFile})` : ''}`,
  );
  return {
    kubeConfig: kubeConfigForServer(cluster.url),
    source: 'simulator',
    simulatorUrl: cluster.url,
    simulator: DEMO_CLUSTER,
    csiDriver: SIMULATED_CSI_DRIVER,
    close: () => cluster.close(),
  };
}

/**
 * The cluster kept in `stateFile` (a development start: the cluster remembers what the database
 * does), on its former port when that is free, else on another (said, since kubectl's --server
 * changes).
 */
async function startKeeping(
  stateFile: string | undefined,
  logger: Pick<Logger, 'warn'>,
): Promise<SimulatedCluster> {
  try {
    return await SimulatedCluster.start(DEMO_CLUSTER, {}, { stateFile });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') {
      throw error;
    }
    logger.warn(
      { stateFile },
      'the simulated cluster’s former port is taken: it listens on another (see the ready line for kubectl --server)',
    );
    return SimulatedCluster.start(DEMO_CLUSTER, { port: 0 }, { stateFile });
  }
}

import { DeployerClient } from '../../src/clusters/client/deployer-client';
import { DEPLOYER_TOKEN, type DeployerUnderTest } from '../deployer/fixtures';

/**
 * A client of the deployer under test as the coordinator's would be, without a coordinator: for
 * specs that drive a storage provider directly. Close it before the deployer.
 */
export function directDeployerClient(deployer: DeployerUnderTest, clusterId: string): DeployerClient {
  const url = deployer.app.runtime.listeners.find((listener) => listener.name === 'deployer')!.url;
  return new DeployerClient(
    { clusterId, name: clusterId, url, token: DEPLOYER_TOKEN },
    {
      connectTimeoutMs: 2_000,
      requestTimeoutMs: 10_000,
      concurrency: 4,
      statusConcurrency: 2,
      retries: 2,
      breakerFailures: 100,
      breakerOpenMs: 1_000,
    },
  );
}

/**
 * Where the deployer's Kubernetes is, in DESIGN §5's order: ODC_KUBECONFIG_BASE64, then
 * KUBECONFIG, then the in-cluster service account, then (when ODC_DEPLOYER_SIMULATOR is on) a
 * simulated GPU cluster started in this process.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { existsSync } from 'node:fs';
import type { Logger } from 'pino';
import type { AppConfig } from '../../infra/config/env';
import { SimulatedCluster } from '../../simulator/cluster';
import { DEMO_CLUSTER } from '../../simulator/config';

const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

export interface KubeAccess {
  kubeConfig: KubeConfig;
  source: 'ODC_KUBECONFIG_BASE64' | 'KUBECONFIG' | 'in-cluster' | 'simulator';
  /** The simulated cluster's address, when that is what the deployer uses (kubectl can join in). */
  simulatorUrl?: string;
  close(): Promise<void>;
}

export function kubeConfigForServer(server: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    // client-node refuses plain HTTP unless TLS verification is explicitly off (the simulator speaks HTTP).
    clusters: [{ name: 'cluster', server, skipTLSVerify: server.startsWith('http://') }],
    users: [{ name: 'deployer' }],
    contexts: [{ name: 'deployer', cluster: 'cluster', user: 'deployer' }],
    currentContext: 'deployer',
  });
  return kc;
}

export async function resolveKubeAccess(
  config: AppConfig,
  logger: Pick<Logger, 'info'>,
): Promise<KubeAccess> {
  const none = () => Promise.resolve();
  if (config.ODC_KUBECONFIG_BASE64) {
    const kc = new KubeConfig();
    kc.loadFromString(Buffer.from(config.ODC_KUBECONFIG_BASE64, 'base64').toString('utf8'));
    return { kubeConfig: kc, source: 'ODC_KUBECONFIG_BASE64', close: none };
  }
  if (config.KUBECONFIG) {
    const kc = new KubeConfig();
    kc.loadFromFile(config.KUBECONFIG);
    return { kubeConfig: kc, source: 'KUBECONFIG', close: none };
  }
  if (existsSync(SERVICE_ACCOUNT_TOKEN)) {
    const kc = new KubeConfig();
    kc.loadFromCluster();
    return { kubeConfig: kc, source: 'in-cluster', close: none };
  }
  if (config.deployerSimulator) {
    const cluster = await SimulatedCluster.start(DEMO_CLUSTER);
    logger.info(
      { url: cluster.url },
      `deployer: using an in-process simulated GPU cluster at ${cluster.url}`,
    );
    return {
      kubeConfig: kubeConfigForServer(cluster.url),
      source: 'simulator',
      simulatorUrl: cluster.url,
      close: () => cluster.close(),
    };
  }
  throw new Error(
    'The deployer has no Kubernetes to talk to: set ODC_KUBECONFIG_BASE64 or KUBECONFIG, run it in a cluster, ' +
      'or set ODC_DEPLOYER_SIMULATOR=true for a simulated one',
  );
}

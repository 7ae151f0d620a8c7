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
import { DEMO_CLUSTER, type SimulatorConfig } from '../../simulator/config';

const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

export interface KubeAccess {
  kubeConfig: KubeConfig;
  source: 'ODC_KUBECONFIG_BASE64' | 'KUBECONFIG' | 'in-cluster' | 'simulator';
  /** The simulated cluster's address, when that is what the deployer uses (kubectl can join in). */
  simulatorUrl?: string;
  /** Its fleet, for the development start's `local-sim` registration. */
  simulator?: SimulatorConfig;
  close(): Promise<void>;
}

/**
 * Loads a kubeconfig, failing with the first line of the parser's message only: YAML errors go on
 * to quote the text around the error, which is where tokens and keys are.
 */
export function loadKubeconfig(source: string, load: (kc: KubeConfig) => void): KubeConfig {
  const kc = new KubeConfig();
  let failure: string | undefined;
  try {
    load(kc);
  } catch (error) {
    failure = (error instanceof Error ? error.message : String(error)).split('\n')[0];
  }
  if (failure !== undefined) {
    throw new Error(
      `${source.charAt(0).toUpperCase()}${source.slice(1)} does not hold a kubeconfig: ${failure}`,
    );
  }
  if (!kc.getCurrentCluster()) {
    throw new Error(`The kubeconfig in ${source} has no current context with a cluster`);
  }
  return kc;
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
    const text = Buffer.from(config.ODC_KUBECONFIG_BASE64, 'base64').toString('utf8');
    return {
      kubeConfig: loadKubeconfig('ODC_KUBECONFIG_BASE64', (kc) => kc.loadFromString(text)),
      source: 'ODC_KUBECONFIG_BASE64',
      close: none,
    };
  }
  if (config.KUBECONFIG) {
    const file = config.KUBECONFIG;
    const kubeConfig = loadKubeconfig(`the KUBECONFIG file ${file}`, (kc) => kc.loadFromFile(file));
    return { kubeConfig, source: 'KUBECONFIG', close: none };
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
      simulator: DEMO_CLUSTER,
      close: () => cluster.close(),
    };
  }
  throw new Error(
    'The deployer has no Kubernetes to talk to: set ODC_KUBECONFIG_BASE64 or KUBECONFIG, run it in a cluster, ' +
      'or set ODC_DEPLOYER_SIMULATOR=true for a simulated one',
  );
}

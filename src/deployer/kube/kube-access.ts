/**
 * Where the deployer's Kubernetes is, most explicit first: ODC_KUBECONFIG_BASE64, then KUBECONFIG,
 * then the in-cluster service account, then what the caller falls back to (the runtime's: a
 * simulated GPU cluster started in this process when ODC_DEPLOYER_SIMULATOR is on).
 */
import { KubeConfig } from '@kubernetes/client-node';
import { existsSync } from 'node:fs';
import type { DeployerConfig } from '../deployer.config';

const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

export interface KubeAccess {
  kubeConfig: KubeConfig;
  source: 'ODC_KUBECONFIG_BASE64' | 'KUBECONFIG' | 'in-cluster' | 'simulator';
  /** The simulated cluster's address, when that is what the deployer uses (kubectl can join in). */
  simulatorUrl?: string;
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

export async function resolveKubeAccess<Fallback extends KubeAccess = KubeAccess>(
  config: DeployerConfig,
  fallback?: () => Promise<Fallback>,
): Promise<KubeAccess | Fallback> {
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
  if (fallback) {
    return fallback();
  }
  throw new Error(
    'The deployer has no Kubernetes to talk to: set ODC_KUBECONFIG_BASE64 or KUBECONFIG, run it in a cluster, ' +
      'or set ODC_DEPLOYER_SIMULATOR=true for a simulated one',
  );
}

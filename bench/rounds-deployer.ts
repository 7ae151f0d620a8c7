/**
 * A deployer with the production defaults (its Kubernetes client's rate limit included: 100
 * requests/s, bursts of 200) in a process of its own, in front of a simulated cluster of a bench
 * fleet (bench/fleet.ts, whose own deployers lift that limit): what bench/rounds.bench.ts measures
 * its rounds and re-applies through. Prints its URL.
 */
import pino from 'pino';
import 'reflect-metadata';
import { startRuntime } from '../src/app/runtime';
import { kubeConfigForServer } from '../src/deployer/kube/kube-access';
import { loadAppConfig } from '../src/app/config';
import { closeWithParent } from './processes';

export interface RoundsDeployerSettings {
  clusterUrl: string;
  namespace: string;
  deployerToken: string;
}

async function main(settings: RoundsDeployerSettings): Promise<void> {
  const deployer = await startRuntime({
    config: loadAppConfig({
      NODE_ENV: 'production',
      ODC_ROLES: 'deployer',
      ODC_DEPLOYER_HOST: '127.0.0.1',
      ODC_DEPLOYER_PORT: '0',
      ODC_DEPLOYER_NAMESPACES: settings.namespace,
      ODC_DEPLOYER_TOKEN: settings.deployerToken,
      ODC_KUBECONFIG_BASE64: Buffer.from(kubeConfigForServer(settings.clusterUrl).exportConfig()).toString(
        'base64',
      ),
      ODC_LOG_LEVEL: 'warn',
    }),
    logger: pino({ level: 'warn' }),
  });
  closeWithParent(() => deployer.close());
  const url = deployer.listeners.find((l) => l.name === 'deployer')!.url;
  process.stdout.write(`${JSON.stringify({ deployer: url })}\n`);
}

main(JSON.parse(process.argv[2] ?? '{}') as RoundsDeployerSettings).catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

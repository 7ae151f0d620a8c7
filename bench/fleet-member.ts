/**
 * One member of a benchmark's simulated fleet, in its own process (bench/processes.ts): a
 * simulated cluster (its API server, controllers and nodes) and the deployer in front of it, as a
 * remote cluster runs them, apart from the control plane being measured. Prints its URLs.
 */
import { KubernetesObjectApi } from '@kubernetes/client-node';
import pino from 'pino';
import 'reflect-metadata';
import { startRuntime } from '../src/app/runtime';
import { kubeConfigForServer } from '../src/deployer/kube/kube-access';
import { loadAppConfig } from '../src/app/config';
import { SimulatedCluster } from '../src/simulator/cluster';
import { withDefaults } from '../src/simulator/config';
import { closeWithParent } from './processes';

export interface FleetMemberSettings {
  name: string;
  nodes: number;
  gpusPerNode: number;
  gpuProduct: string;
  namespace: string;
  deployerToken: string;
  latencyMs: number;
}

async function main(settings: FleetMemberSettings): Promise<void> {
  const cluster = await SimulatedCluster.start(
    withDefaults({
      name: settings.name,
      nodePools: [
        {
          name: 'gpu',
          count: settings.nodes,
          cpu: '96',
          memory: '1024Gi',
          gpu: { product: settings.gpuProduct, count: settings.gpusPerNode },
        },
      ],
      timings: { startMs: 10, readyMs: 10, pvcBindMs: 10, snapshotReadyMs: 10, jobRunMs: 10 },
      faults: { latencyMs: settings.latencyMs, jitterMs: 0, errorRate: 0 },
    }),
  );
  const kubeConfig = kubeConfigForServer(cluster.url);
  await KubernetesObjectApi.makeApiClient(kubeConfig).create({
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: settings.namespace },
  });
  const config = loadAppConfig({
    NODE_ENV: 'production',
    ODC_ROLES: 'deployer',
    ODC_DEPLOYER_HOST: '127.0.0.1',
    ODC_DEPLOYER_PORT: '0',
    ODC_DEPLOYER_NAMESPACES: settings.namespace,
    ODC_DEPLOYER_TOKEN: settings.deployerToken,
    ODC_KUBECONFIG_BASE64: Buffer.from(kubeConfig.exportConfig()).toString('base64'),
    // The client-side rate limit is lifted: at the default 100 QPS a deployer caps provisioning
    // and teardown far below the benchmark's rates, by design.
    ODC_DEPLOYER_KUBE_QPS: '10000',
    ODC_DEPLOYER_KUBE_BURST: '10000',
    ODC_LOG_LEVEL: 'warn',
  });
  const deployer = await startRuntime({ config, logger: pino({ level: 'warn' }) });
  closeWithParent(async () => {
    await deployer.close();
    await cluster.close();
  });
  const deployerUrl = deployer.listeners.find((l) => l.name === 'deployer')!.url;
  process.stdout.write(`${JSON.stringify({ cluster: cluster.url, deployer: deployerUrl })}\n`);
}

main(JSON.parse(process.argv[2] ?? '{}') as FleetMemberSettings).catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

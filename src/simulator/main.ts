/**
 * `npm run simulator -- [--config sim.yaml] [--port 6443] [--host 127.0.0.1]`: a simulated GPU
 * cluster on its own, for kubectl, demos and benchmarks. Without --config: the demo cluster.
 */
import { parseArgs } from 'node:util';
import pino from 'pino';
import { SimulatedCluster } from './cluster';
import { DEMO_CLUSTER, loadSimulatorConfig } from './config';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      config: { type: 'string' },
      port: { type: 'string', default: '6443' },
      host: { type: 'string', default: '127.0.0.1' },
    },
  });
  const logger = pino({ base: { component: 'simulator' } });
  const config = values.config ? loadSimulatorConfig(values.config) : DEMO_CLUSTER;
  const cluster = await SimulatedCluster.start(config, { host: values.host, port: Number(values.port) });
  const nodes = config.nodePools.reduce((sum, pool) => sum + pool.count, 0);
  const gpus = config.nodePools.reduce((sum, pool) => sum + pool.count * (pool.gpu?.count ?? 0), 0);
  logger.info(
    { url: cluster.url, nodes, gpus },
    `simulated cluster "${config.name}" at ${cluster.url} (${nodes} nodes, ${gpus} GPUs); try: kubectl --server=${cluster.url} get nodes`,
  );
  const stop = () => {
    void cluster.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

void main();

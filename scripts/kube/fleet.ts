/**
 * `node dist/scripts/kube/fleet.js [--config fleet.yaml]`: prints, as a YAML stream for
 * `kubectl create -f -`, the Nodes of a simulator fleet (src/simulator/config.ts; without --config the
 * demo fleet the simulator starts by default) for the real-Kubernetes test tier (scripts/kube/up.sh).
 *
 * The nodes are those the simulator creates (src/simulator/cluster.ts): same names, labels (GPU
 * product and count, zone, pool), taints, capacity and InternalIPs. What differs: no Ready condition
 * (kwok, standing in for the kubelets, sets it, see the node-initialize stage) and kwok's annotation
 * `kwok.x-k8s.io/node: fake` (up.sh runs kwok with --manage-nodes-with-annotation-selector on it).
 */
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import {
  DEMO_CLUSTER,
  loadSimulatorConfig,
  type NodePool,
  type SimulatorConfig,
} from '../../src/simulator/config';
import { GPU_PRODUCT_LABEL, nodeInternalIP, POOL_LABEL } from '../../src/simulator/cluster';

export const KWOK_NODE_ANNOTATION = 'kwok.x-k8s.io/node';

export function fleetNodes(config: SimulatorConfig): Record<string, unknown>[] {
  return config.nodePools.flatMap((pool, poolIndex) =>
    Array.from({ length: pool.count }, (_, index) => node(config.name, pool, poolIndex, index)),
  );
}

function node(cluster: string, pool: NodePool, poolIndex: number, index: number): Record<string, unknown> {
  const name = `${cluster}-${pool.name}-${index}`;
  const resources: Record<string, string> = {
    cpu: pool.cpu ?? '8',
    memory: pool.memory ?? '32Gi',
    pods: '110',
    'ephemeral-storage': '500Gi',
    ...(pool.gpu ? { [pool.gpu.resource ?? 'nvidia.com/gpu']: String(pool.gpu.count) } : {}),
  };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      annotations: { [KWOK_NODE_ANNOTATION]: 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
      labels: {
        'kubernetes.io/hostname': name,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        [POOL_LABEL]: pool.name,
        ...(pool.zone ? { 'topology.kubernetes.io/zone': pool.zone } : {}),
        ...(pool.gpu
          ? { [GPU_PRODUCT_LABEL]: pool.gpu.product, 'nvidia.com/gpu.count': String(pool.gpu.count) }
          : {}),
        type: 'kwok',
        ...pool.labels,
      },
    },
    spec: { ...(pool.taints && pool.taints.length > 0 ? { taints: pool.taints } : {}) },
    // Kept on create (Nodes may set their status then, as a kubelet registering does); kwok's
    // node-initialize stage keeps capacity, allocatable and addresses and adds the conditions.
    status: {
      capacity: resources,
      allocatable: resources,
      addresses: [
        { type: 'InternalIP', address: nodeInternalIP(poolIndex, index) },
        { type: 'Hostname', address: name },
      ],
      nodeInfo: { operatingSystem: 'linux', architecture: 'amd64' },
    },
  };
}

function main(): void {
  const { values } = parseArgs({ options: { config: { type: 'string' } } });
  const config = values.config ? loadSimulatorConfig(values.config) : DEMO_CLUSTER;
  const nodes = fleetNodes(config);
  process.stdout.write(nodes.map((n) => `---\n${stringify(n, { aliasDuplicateObjects: false })}`).join(''));
  const gpus = config.nodePools.reduce((sum, pool) => sum + pool.count * (pool.gpu?.count ?? 0), 0);
  process.stderr.write(`kube:up: fleet "${config.name}": ${nodes.length} nodes, ${gpus} GPUs\n`);
}

if (require.main === module) {
  main();
}

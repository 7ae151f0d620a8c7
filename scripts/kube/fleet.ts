/**
 * `node dist/scripts/kube/fleet.js [--config fleet.yaml] [--csi-driver NAME]`: prints, as a YAML
 * stream for `kubectl create -f -`, the Nodes of a simulator fleet (src/simulator/config.ts; without
 * --config the demo fleet the simulator starts by default) for the real-Kubernetes test tier
 * (scripts/kube/up.sh); with --csi-driver, its StorageClasses and VolumeSnapshotClasses too.
 *
 * The nodes are those the simulator creates (src/simulator/cluster.ts): same names, labels (GPU
 * product and count, zone, pool), taints, capacity and InternalIPs. What differs: no Ready condition
 * (kwok, standing in for the kubelets, sets it, see the node-initialize stage) and kwok's annotation
 * `kwok.x-k8s.io/node: fake` (up.sh runs kwok with --manage-nodes-with-annotation-selector on it).
 *
 * The classes are the simulator's too (same names, default annotations, reclaim and binding modes),
 * except that a class of the simulated CSI driver (the default) names the tier's driver instead, the
 * one that --csi-driver names. A class of another driver keeps it: nothing provisions for it there.
 *
 * `--profile NAMESPACE` prints the fleet's cluster profile (JSON) instead: up.sh writes it to
 * .odc/kube/cluster-profile.json, for registering the tier with a development start.
 */
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import {
  DEMO_CLUSTER,
  loadSimulatorConfig,
  type NodePool,
  type SimulatorConfig,
} from '../../src/simulator/config';
import { profileForSimulator } from '../../src/app/dev/simulator-profile';
import type { ClusterProfile } from '../../src/clusters/dto/cluster-profile.dto';
import { nodeFor, storageClassesFor } from '../../src/simulator/cluster';
import { SIMULATED_CSI_DRIVER } from '../../src/simulator/csi-driver';

export const KWOK_NODE_ANNOTATION = 'kwok.x-k8s.io/node';

export function fleetNodes(config: SimulatorConfig): Record<string, unknown>[] {
  return config.nodePools.flatMap((pool, poolIndex) =>
    Array.from({ length: pool.count }, (_, index) => node(config.name, pool, poolIndex, index)),
  );
}

/**
 * The simulator's node, made for kwok: its annotation and label, and a status without the Ready
 * condition and kubelet version (kwok's node-initialize stage adds its own, keeping the rest).
 */
function node(cluster: string, pool: NodePool, poolIndex: number, index: number): Record<string, unknown> {
  const simulated = nodeFor(cluster, pool, poolIndex, index);
  const { capacity, allocatable, addresses } = simulated.status;
  return {
    ...simulated,
    metadata: {
      ...simulated.metadata,
      annotations: { [KWOK_NODE_ANNOTATION]: 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
      labels: { ...simulated.metadata.labels, type: 'kwok', ...pool.labels },
    },
    // Kept on create (Nodes may set their status then, as a kubelet registering does).
    status: {
      capacity,
      allocatable,
      addresses,
      nodeInfo: { operatingSystem: 'linux', architecture: 'amd64' },
    },
  };
}

/** The fleet's StorageClasses and VolumeSnapshotClasses, as the simulator makes them, for `driver`. */
export function fleetStorageClasses(config: SimulatorConfig, driver: string): Record<string, unknown>[] {
  const ours = (name: unknown) => (name === SIMULATED_CSI_DRIVER ? driver : name);
  return storageClassesFor(config).map((c) =>
    c.kind === 'StorageClass' ? { ...c, provisioner: ours(c.provisioner) } : { ...c, driver: ours(c.driver) },
  );
}

/**
 * The cluster profile of the tier's fleet for a deployer working in `namespace`: its GPU types by
 * product label, the fleet's classes, and a storage domain of the tier's own (its volumes and
 * snapshots are no simulator's). What `gpu-dev cluster add … --profile` registers the tier with.
 */
export function fleetProfile(config: SimulatorConfig, namespace: string): ClusterProfile {
  return { ...profileForSimulator(config, namespace), storage_domain: `odc-kube:${config.name}` };
}

function main(): void {
  const { values } = parseArgs({
    options: { config: { type: 'string' }, 'csi-driver': { type: 'string' }, profile: { type: 'string' } },
  });
  const config = values.config ? loadSimulatorConfig(values.config) : DEMO_CLUSTER;
  if (values.profile !== undefined) {
    process.stdout.write(`${JSON.stringify(fleetProfile(config, values.profile), null, 2)}\n`);
    return;
  }
  const nodes = fleetNodes(config);
  const driver = values['csi-driver'];
  const objects = [...nodes, ...(driver ? fleetStorageClasses(config, driver) : [])];
  process.stdout.write(objects.map((o) => `---\n${stringify(o, { aliasDuplicateObjects: false })}`).join(''));
  const gpus = config.nodePools.reduce((sum, pool) => sum + pool.count * (pool.gpu?.count ?? 0), 0);
  process.stderr.write(`kube:up: fleet "${config.name}": ${nodes.length} nodes, ${gpus} GPUs\n`);
}

if (require.main === module) {
  main();
}

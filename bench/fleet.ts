/**
 * A simulated fleet for benchmarks of the control plane: each cluster and its deployer in a
 * process of their own (bench/fleet-member.ts), as remote clusters are. Or a stub fleet
 * (`stub: true`): each cluster a deployer answering from memory (bench/stub-deployer.ts), still a
 * process each, for what the control plane alone sustains.
 */
import type { DataSource } from 'typeorm';
import type { FleetMemberSettings } from './fleet-member';
import { startBenchProcess } from './processes';
import type { StubDeployerOptions } from './stub-deployer';
import type { BenchApi } from './support';

export interface FleetMember {
  name: string;
  /** The simulated Kubernetes API server; empty for a stub member (there is none). */
  clusterUrl: string;
  deployerUrl: string;
  pid: number;
}

export interface Fleet {
  members: FleetMember[];
  close(): Promise<void>;
}

export interface FleetOptions {
  /** Stub deployers instead of simulated clusters; pods are ready `readyDelayMs` after an apply. */
  stub?: { readyDelayMs: number };
}

function stubOptions(member: FleetMemberSettings, readyDelayMs: number): StubDeployerOptions {
  return {
    name: member.name,
    nodes: member.nodes,
    gpusPerNode: member.gpusPerNode,
    gpuProduct: member.gpuProduct,
    namespaces: [member.namespace],
    token: member.deployerToken,
    latencyMs: member.latencyMs,
    readyDelayMs,
  };
}

/** `count` identical clusters named `<prefix>0`, `<prefix>1`, …: the members a bench's fleet starts from. */
export function identicalClusters(
  count: number,
  prefix: string,
  member: Omit<FleetMemberSettings, 'name'>,
): FleetMemberSettings[] {
  return Array.from({ length: count }, (_, i) => ({ name: `${prefix}${i}`, ...member }));
}

export async function startFleet(
  settings: FleetMemberSettings[],
  options: FleetOptions = {},
): Promise<Fleet> {
  const started = await Promise.allSettled(
    settings.map((member) =>
      options.stub
        ? startBenchProcess<{ cluster?: string; deployer: string }>(
            'stub-deployer.js',
            stubOptions(member, options.stub.readyDelayMs),
          )
        : startBenchProcess<{ cluster?: string; deployer: string }>('fleet-member.js', member),
    ),
  );
  const running = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  const close = async () => {
    await Promise.all(running.map((child) => child.close()));
  };
  const failed = started.find((result) => result.status === 'rejected');
  if (failed) {
    await close();
    throw failed.reason;
  }
  return {
    members: running.map((child, i) => ({
      name: settings[i]!.name,
      clusterUrl: child.ready.cluster ?? '',
      deployerUrl: child.ready.deployer,
      pid: child.pid,
    })),
    close,
  };
}

/** What the benches register each cluster with: one GPU type, on nodes of one product. */
export interface ClusterRegistration {
  token: string;
  namespace: string;
  gpuProduct: string;
  gpusPerNode: number;
}

/** Registers each deployer as a cluster through the API (admin key), as an operator would. */
export async function registerClusters(
  api: BenchApi,
  adminKey: string,
  deployers: { name: string; url: string }[],
  registration: ClusterRegistration,
): Promise<void> {
  for (const deployer of deployers) {
    const res = await api.request<{ message?: string }>('POST', '/api/v1/clusters', adminKey, {
      name: deployer.name,
      deployer_url: deployer.url,
      token: registration.token,
      profile: {
        namespace: registration.namespace,
        ssh_host: 'gpu.example.com',
        gpu_types: [
          {
            name: 'h100',
            node_selector: { 'nvidia.com/gpu.product': registration.gpuProduct },
            gpus_per_node: registration.gpusPerNode,
          },
        ],
      },
    });
    if (res.status !== 201) {
      throw new Error(`registering ${deployer.name} answered ${res.status}: ${JSON.stringify(res.body)}`);
    }
  }
}

/** Waits until `nodes` ready h100 nodes of `gpusPerNode` GPUs reached the capacity table. */
export async function waitForCapacity(
  db: DataSource,
  nodes: number,
  gpusPerNode: number,
  timeoutMs: number,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const [{ n }] = await db.query<[{ n: number }]>(
      `SELECT count(*)::int AS n FROM capacity WHERE gpu_type = 'h100' AND ready AND allocatable_gpus = $1`,
      [gpusPerNode],
    );
    if (n >= nodes) {
      return;
    }
    if (performance.now() > deadline) {
      throw new Error(`only ${n} of ${nodes} nodes reached the capacity table`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

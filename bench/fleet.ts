/**
 * A simulated fleet for benchmarks of the control plane: each cluster and its deployer in a
 * process of their own (bench/fleet-member.ts), as remote clusters are. Or a stub fleet
 * (`stub: true`): each cluster a deployer answering from memory (bench/stub-deployer.ts), still a
 * process each, for what the control plane alone sustains.
 */
import type { FleetMemberSettings } from './fleet-member';
import { startBenchProcess } from './processes';
import type { StubDeployerOptions } from './stub-deployer';

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
      name: settings[i].name,
      clusterUrl: child.ready.cluster ?? '',
      deployerUrl: child.ready.deployer,
      pid: child.pid,
    })),
    close,
  };
}

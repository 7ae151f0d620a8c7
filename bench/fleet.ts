/**
 * A simulated fleet for benchmarks of the control plane: each cluster and its deployer in a
 * process of their own (bench/fleet-member.ts), as remote clusters are.
 */
import type { FleetMemberSettings } from './fleet-member';
import { startBenchProcess } from './processes';

export interface FleetMember {
  name: string;
  clusterUrl: string;
  deployerUrl: string;
  pid: number;
}

export interface Fleet {
  members: FleetMember[];
  close(): Promise<void>;
}

export async function startFleet(settings: FleetMemberSettings[]): Promise<Fleet> {
  const started = await Promise.allSettled(
    settings.map((member) =>
      startBenchProcess<{ cluster: string; deployer: string }>('fleet-member.js', member),
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
      clusterUrl: child.ready.cluster,
      deployerUrl: child.ready.deployer,
      pid: child.pid,
    })),
    close,
  };
}

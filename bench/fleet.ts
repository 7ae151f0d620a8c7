/**
 * A simulated fleet for benchmarks of the control plane: each cluster and its deployer in a
 * process of their own (bench/fleet-member.ts), as remote clusters are, so the process being
 * measured runs only the control plane and the load while the fleet's CPU is counted apart.
 * BENCH_FLEET_CPU_PROFILE (a directory) makes each member write a CPU profile of its whole run.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { FleetMemberSettings } from './fleet-member';

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

const START_TIMEOUT_MS = 60_000;

async function startMember(
  settings: FleetMemberSettings,
): Promise<{ member: FleetMember; child: ChildProcess }> {
  const profileDir = process.env.BENCH_FLEET_CPU_PROFILE;
  const child = spawn(
    process.execPath,
    [
      // A CPU profile per member, written when it exits (for Chrome DevTools or speedscope).
      ...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []),
      join(__dirname, 'fleet-member.js'),
      JSON.stringify(settings),
    ],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const lines = createInterface({ input: child.stdout });
  const timer = setTimeout(() => child.kill('SIGKILL'), START_TIMEOUT_MS);
  try {
    const ready = new Promise<string>((resolve, reject) => {
      lines.once('line', resolve);
      child.once('exit', (code) => reject(new Error(`fleet member ${settings.name} exited (${code})`)));
    });
    const { cluster, deployer } = JSON.parse(await ready) as { cluster: string; deployer: string };
    return {
      member: { name: settings.name, clusterUrl: cluster, deployerUrl: deployer, pid: child.pid! },
      child,
    };
  } finally {
    clearTimeout(timer);
  }
}

export async function startFleet(settings: FleetMemberSettings[]): Promise<Fleet> {
  const children: ChildProcess[] = [];
  const close = async () => {
    await Promise.all(
      children.map(async (child) => {
        if (child.exitCode === null && child.signalCode === null) {
          const exited = once(child, 'exit');
          child.kill('SIGTERM');
          await exited;
        }
      }),
    );
  };
  try {
    const started = await Promise.all(
      settings.map(async (member) => {
        const result = await startMember(member);
        children.push(result.child);
        return result.member;
      }),
    );
    return { members: started, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/**
 * Parts of a benchmark in processes of their own, as they run in production (remote clusters,
 * role-scoped replicas): the process being measured runs only its own part while the others'
 * CPU is counted apart. A child script gets its settings as one JSON argument, prints one JSON
 * line once it serves, and closes on SIGTERM or when its parent goes (stdin closes).
 * BENCH_CHILD_CPU_PROFILE (a directory) makes each child write a CPU profile of its whole run.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export interface BenchProcess<T> {
  /** What the child printed once it served. */
  ready: T;
  pid: number;
  close(): Promise<void>;
}

const START_TIMEOUT_MS = 60_000;

/** `env`: the child's environment beyond this process's own (a bench's switches for its child, not settings). */
export async function startBenchProcess<T>(
  script: string,
  settings: object,
  env: Record<string, string> = {},
): Promise<BenchProcess<T>> {
  const profileDir = process.env.BENCH_CHILD_CPU_PROFILE;
  const child = spawn(
    process.execPath,
    [
      ...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []),
      join(__dirname, script),
      JSON.stringify(settings),
    ],
    { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, ...env } },
  );
  const close = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    }
  };
  const timer = setTimeout(() => child.kill('SIGKILL'), START_TIMEOUT_MS);
  try {
    const lines = createInterface({ input: child.stdout });
    const line = await new Promise<string>((resolve, reject) => {
      lines.once('line', (first) => {
        // What it prints after that (its logs: warnings and errors) shows with the bench's own.
        lines.on('line', (next) => process.stderr.write(`${next}\n`));
        resolve(first);
      });
      child.once('exit', (code) => reject(new Error(`${script} exited (${code}) before serving`)));
    });
    return { ready: JSON.parse(line) as T, pid: child.pid!, close };
  } catch (error) {
    await close();
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/** A child whose close has not finished this long after it was asked goes anyway: none is left behind. */
const CLOSE_TIMEOUT_MS = 30_000;

/** Closes the child on SIGTERM or when its parent goes; call once the child serves. */
export function closeWithParent(close: () => Promise<void>): void {
  const exit = () => {
    setTimeout(() => process.exit(1), CLOSE_TIMEOUT_MS).unref();
    void close().then(() => process.exit(0));
  };
  process.once('SIGTERM', exit);
  process.stdin.on('close', exit);
  process.stdin.resume();
}

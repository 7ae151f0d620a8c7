import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../../src/app/version';

export type LogLine = Record<string, unknown>;

export interface OdcProcess {
  child: ChildProcess;
  lines: LogLine[];
  output(): string;
  waitFor(predicate: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Runs the compiled app (`dist/src/main.js`, as `npm start` does) with exactly the given
 * environment, from a neutral working folder (so a developer's `.env` is not read).
 */
export function spawnOdc(env: Record<string, string>, args: string[] = []): OdcProcess {
  const child = spawn(process.execPath, [join(projectRoot(), 'dist/src/main.js'), ...args], {
    cwd: tmpdir(),
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ODC_LOG_FORMAT: 'json', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: LogLine[] = [];
  let raw = '';
  const pending = { stdout: '', stderr: '' };
  const waiters: { predicate: (line: LogLine) => boolean; resolve: (line: LogLine) => void }[] = [];
  const record = (text: string) => {
    let line: LogLine;
    try {
      line = JSON.parse(text) as LogLine;
    } catch {
      line = { msg: text };
    }
    lines.push(line);
    for (const waiter of waiters.filter((w) => w.predicate(line))) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve(line);
    }
  };
  const onChunk = (stream: keyof typeof pending) => (chunk: Buffer) => {
    raw += chunk.toString('utf8');
    const parts = (pending[stream] + chunk.toString('utf8')).split('\n');
    pending[stream] = parts.pop() ?? ''; // a line split across chunks waits for its end
    parts.filter(Boolean).forEach(record);
  };
  child.stdout.on('data', onChunk('stdout'));
  child.stderr.on('data', onChunk('stderr'));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    lines,
    exited,
    output: () => raw,
    waitFor: (predicate, timeoutMs = 20_000) => {
      const seen = lines.find(predicate);
      if (seen) {
        return Promise.resolve(seen);
      }
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no matching log line within ${timeoutMs} ms:\n${raw}`)),
          timeoutMs,
        );
        waiters.push({ predicate, resolve: (line) => (clearTimeout(timer), resolve(line)) });
        void exited.then(() => reject(new Error(`process exited before a matching log line:\n${raw}`)));
      });
    },
  };
}

export const isReady = (line: LogLine) => typeof line.msg === 'string' && line.msg.startsWith('ODC ready');

/** The TCP ports a process listens on, from /proc (its socket inodes matched against LISTEN rows). */
export function listeningPorts(pid: number): number[] {
  const inodes = new Set(
    readdirSync(`/proc/${pid}/fd`)
      .map((fd) => {
        try {
          return /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1];
        } catch {
          return undefined;
        }
      })
      .filter((inode): inode is string => inode !== undefined),
  );
  const LISTEN = '0A';
  return ['/proc/net/tcp', '/proc/net/tcp6'].flatMap((table) =>
    readFileSync(table, 'utf8')
      .split('\n')
      .slice(1)
      .map((row) => row.trim().split(/\s+/))
      .filter((cols) => cols[3] === LISTEN && inodes.has(cols[9]!))
      .map((cols) => Number.parseInt(cols[1]!.split(':')[1]!, 16)),
  );
}

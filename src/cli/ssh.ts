/**
 * SSH to reservations: the command ODC shows (`ssh -p <port> <user>@<host>`) parsed into its parts,
 * `connect`'s command line, and the Host blocks of `ssh-config`, with an include file that one
 * `Include` line in ~/.ssh/config brings in.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { homeDirectory } from './config';
import { CliError, ExitCode } from './errors';

export interface SshTarget {
  host: string;
  port: number;
  user: string;
}

export function parseSshCommand(command: string): SshTarget {
  const match = /^ssh\s+-p\s+(\d+)\s+([^@\s]+)@(\S+)$/.exec(command.trim());
  if (!match) {
    throw new CliError(`Unexpected SSH command from the server: ${command}`, ExitCode.Failure);
  }
  return { port: Number(match[1]), user: match[2] ?? '', host: match[3] ?? '' };
}

/** `ssh -A` (the agent comes along, for git) to the reservation. */
export function sshArguments(target: SshTarget): string[] {
  return ['-A', '-p', String(target.port), `${target.user}@${target.host}`];
}

export function hostAlias(reservation: { id: string; name?: string }): string {
  const name = reservation.name?.replace(/[^A-Za-z0-9._-]/g, '-');
  return `odc-${name || reservation.id.slice(0, 8)}`;
}

export function hostBlock(alias: string, target: SshTarget): string {
  return [
    `Host ${alias}`,
    `  HostName ${target.host}`,
    `  Port ${target.port}`,
    `  User ${target.user}`,
    '  ForwardAgent yes',
    '  StrictHostKeyChecking accept-new',
    '',
  ].join('\n');
}

export interface SshConfigPaths {
  include: string;
  main: string;
}

export function sshConfigPaths(home = homeDirectory()): SshConfigPaths {
  return { include: join(home, '.ssh', 'gpu-dev.conf'), main: join(home, '.ssh', 'config') };
}

/**
 * Writes the blocks to the include file (replaced each time) and, once, an `Include` line at the
 * top of ~/.ssh/config (an Include below a Host block would only apply inside it). True when the
 * Include line was added now.
 */
export function installSshConfig(blocks: string, paths = sshConfigPaths()): boolean {
  mkdirSync(join(paths.include, '..'), { recursive: true, mode: 0o700 });
  writeFileSync(paths.include, `# Written by gpu-dev ssh-config --install; replaced each time.\n${blocks}`, {
    mode: 0o600,
  });
  const line = `Include ${paths.include}`;
  const current = existsSync(paths.main) ? readFileSync(paths.main, 'utf8') : '';
  if (current.split('\n').some((l) => l.trim() === line)) {
    return false;
  }
  writeFileSync(paths.main, `${line}\n\n${current}`, { mode: 0o600 });
  return true;
}

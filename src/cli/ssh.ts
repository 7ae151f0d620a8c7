/**
 * SSH to reservations: the command ODC shows (`ssh -p <port> <user>@<host>`) parsed into its parts,
 * `connect`'s command line, and the Host blocks of `ssh-config`, with an include file that one
 * `Include` line in ~/.ssh/config brings in.
 */
import { execFileSync } from 'node:child_process';
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

/**
 * The key `gpu-dev login` makes for a user who had none (~/.ssh/gpu-dev_ed25519): ssh would not
 * offer it by itself, so connect and the Host blocks name it.
 */
export function dedicatedKeyPath(home = homeDirectory()): string {
  return join(home, '.ssh', 'gpu-dev_ed25519');
}

/** Makes the dedicated key (ed25519, no passphrase) with the machine's ssh-keygen; its path. */
export function makeDedicatedKey(home = homeDirectory()): string {
  const path = dedicatedKeyPath(home);
  mkdirSync(join(home, '.ssh'), { recursive: true, mode: 0o700 });
  try {
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'gpu-dev', '-f', path], {
      stdio: 'ignore',
    });
  } catch (error) {
    throw new CliError(
      `Cannot make an SSH key with ssh-keygen (${(error as Error).message}): install OpenSSH, or give a key with gpu-dev ssh-keys add FILE`,
      ExitCode.Failure,
    );
  }
  return path;
}

/**
 * The ssh command line to the reservation: the server's `ssh -p <port> <user>@<host>` as shown,
 * with the dedicated key named when there is one (nothing else: agent forwarding is the user's
 * choice, `--forward-agent`, since whoever is root on the node could use the agent).
 */
export function sshArguments(
  target: SshTarget,
  options: { forwardAgent?: boolean; home?: string } = {},
): string[] {
  const key = dedicatedKeyPath(options.home);
  return [
    ...(options.forwardAgent ? ['-A'] : []),
    ...(existsSync(key) ? ['-i', key] : []),
    '-p',
    String(target.port),
    `${target.user}@${target.host}`,
  ];
}

export function hostAlias(reservation: { id: string; name?: string }): string {
  const name = reservation.name?.replace(/[^A-Za-z0-9._-]/g, '-');
  return `odc-${name || reservation.id.slice(0, 8)}`;
}

/** What `ssh <alias>` needs to do what `gpu-dev connect` does. */
export function hostBlock(alias: string, target: SshTarget, home = homeDirectory()): string {
  const key = dedicatedKeyPath(home);
  return [
    `Host ${alias}`,
    `  HostName ${target.host}`,
    `  Port ${target.port}`,
    `  User ${target.user}`,
    ...(existsSync(key) ? [`  IdentityFile ${key}`] : []),
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
 * top of ~/.ssh/config (`includeSshConfig`). True when the Include line was added now.
 */
export function installSshConfig(blocks: string, paths = sshConfigPaths()): boolean {
  mkdirSync(join(paths.include, '..'), { recursive: true, mode: 0o700 });
  writeFileSync(paths.include, `${INCLUDE_HEADER}${blocks}`, { mode: 0o600 });
  return includeSshConfig(paths);
}

const INCLUDE_HEADER = '# Written by gpu-dev ssh-config --install; replaced each time.\n';

/**
 * Once: an `Include` line for the include file at the top of ~/.ssh/config (an Include below a
 * Host block would only apply inside it), and the include file itself when there is none yet.
 * True when the line was added now.
 */
export function includeSshConfig(paths = sshConfigPaths()): boolean {
  mkdirSync(join(paths.include, '..'), { recursive: true, mode: 0o700 });
  if (!existsSync(paths.include)) {
    writeFileSync(paths.include, INCLUDE_HEADER, { mode: 0o600 });
  }
  const line = `Include ${paths.include}`;
  const current = existsSync(paths.main) ? readFileSync(paths.main, 'utf8') : '';
  if (current.split('\n').some((l) => l.trim() === line)) {
    return false;
  }
  writeFileSync(paths.main, `${line}\n\n${current}`, { mode: 0o600 });
  return true;
}

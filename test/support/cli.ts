import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { projectRoot } from '../../src/app/version';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** A running `gpu-dev` (the built CLI, as `npx gpu-dev` runs it): its output so far and its end. */
export interface RunningCli {
  stdout(): string;
  stderr(): string;
  done: Promise<CliRun>;
}

/** Which gpu-dev runs, on which Node. */
export interface CliProgram {
  node: string;
  script: string;
}

/** The CLI of a checkout (`npx gpu-dev`): the compiled tree, on the project's pinned Node. */
export const CHECKOUT_CLI: CliProgram = {
  node: process.execPath,
  script: join(projectRoot(), 'bin/gpu-dev.js'),
};

/**
 * gpu-dev as a user runs it: a subprocess with `home` as HOME (its config under `home/.config`),
 * no colours, no AWS setup of this machine (shared files pointing nowhere, no instance metadata),
 * and only the environment given besides PATH.
 */
export function startCli(
  home: string,
  args: string[],
  env: Record<string, string> = {},
  program: CliProgram = CHECKOUT_CLI,
): RunningCli {
  const child = spawn(program.node, [program.script, ...args], {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: home,
      XDG_CONFIG_HOME: join(home, '.config'),
      NO_COLOR: '1',
      AWS_SHARED_CREDENTIALS_FILE: join(home, 'no-such-aws-credentials'),
      AWS_CONFIG_FILE: join(home, 'no-such-aws-config'),
      AWS_EC2_METADATA_DISABLED: 'true',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return {
    stdout: () => stdout,
    stderr: () => stderr,
    done: new Promise((resolve) =>
      child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr })),
    ),
  };
}

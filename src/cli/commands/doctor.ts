/** doctor: whether this machine can use ODC, each failing check with its fix. */
import type { Command } from 'commander';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { MeDto } from '../../auth/dto/api-key.dto';
import { OdcApi, whyUnreachable } from '../api';
import { contextOf, type Context } from '../context';
import { CliError, ExitCode } from '../errors';
import { colors } from '../output';
import { CLI_VERSION } from '../version';
import { fingerprintOf, findPublicKey } from './ssh-keys';

/** A key this close to its end is worth a warning (keys made with the defaults live a day). */
const EXPIRY_WARNING_MS = 12 * 60 * 60 * 1000;

export interface Check {
  name: string;
  /** `warn`: works now, will not for long; only `fail` makes doctor exit 1. */
  status: 'ok' | 'warn' | 'fail';
  /** What was found. */
  detail: string;
  /** The command or step that fixes it, when it failed. */
  fix?: string;
}

/** The server answers, and which version it runs (the header every answer carries). */
async function serverCheck(context: Context): Promise<Check> {
  const url = context.settings.apiUrl;
  if (!url) {
    return { name: 'server', status: 'fail', detail: 'no server set', fix: 'gpu-dev setup <url>' };
  }
  try {
    const response = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(10_000) });
    const version = response.headers.get('x-odc-version') ?? 'unknown';
    const same = version === CLI_VERSION;
    return {
      name: 'server',
      status: response.ok ? (same ? 'ok' : 'warn') : 'fail',
      detail: `${url} answers (HTTP ${response.status}), ODC ${version}${same ? '' : `; this CLI is ${CLI_VERSION}`}`,
      ...(response.ok
        ? same
          ? {}
          : { fix: `curl -fsSL ${url}/cli/install.sh | sh   (the server's own CLI)` }
        : { fix: 'the server is not healthy: ask its admin' }),
    };
  } catch (error) {
    return {
      name: 'server',
      status: 'fail',
      detail: `${url} cannot be reached (${whyUnreachable(error)})`,
      fix: 'check the URL (gpu-dev config show) and that the server runs',
    };
  }
}

async function credentialCheck(context: Context): Promise<{ check: Check; me?: MeDto }> {
  const { apiUrl, apiKey } = context.settings;
  if (!apiUrl || !apiKey) {
    return {
      check: { name: 'credentials', status: 'fail', detail: 'not logged in', fix: 'gpu-dev login' },
    };
  }
  try {
    const me = await new OdcApi(apiUrl, apiKey).get<MeDto>('/api/v1/me');
    const expires = me.credential_expires_at ? new Date(me.credential_expires_at) : undefined;
    const soon = expires !== undefined && expires.getTime() - Date.now() < EXPIRY_WARNING_MS;
    return {
      me,
      check: {
        name: 'credentials',
        status: soon ? 'warn' : 'ok',
        detail: `${me.username}${me.admin ? ' (admin)' : ''} by ${me.authenticated_by}${expires ? `, key valid until ${expires.toISOString()}` : ''}`,
        ...(soon ? { fix: 'gpu-dev keys create NAME, then gpu-dev login --key (or gpu-dev login)' } : {}),
      },
    };
  } catch (error) {
    const message = error instanceof CliError ? error.message : String(error);
    return { check: { name: 'credentials', status: 'fail', detail: message, fix: 'gpu-dev login' } };
  }
}

/** A public key here that ODC lets in: what `connect` needs. */
function sshKeyCheck(me: MeDto | undefined): Check {
  const path = findPublicKey();
  if (!path) {
    return {
      name: 'ssh key',
      status: 'fail',
      detail: 'no public key in ~/.ssh',
      fix: 'gpu-dev login (offers to make one), or ssh-keygen -t ed25519 then gpu-dev ssh-keys add',
    };
  }
  const fingerprint = fingerprintOf(readFileSync(path, 'utf8'));
  if (!me) {
    return {
      name: 'ssh key',
      status: 'fail',
      detail: `${path} (${fingerprint}); ODC unknown`,
      fix: 'gpu-dev login',
    };
  }
  const uploaded = me.ssh_keys.some((key) => fingerprintOf(key) === fingerprint);
  return {
    name: 'ssh key',
    status: uploaded ? 'ok' : 'fail',
    detail: `${path} (${fingerprint}) ${uploaded ? 'is one of your ODC keys' : 'is not known to ODC'}`,
    ...(uploaded ? {} : { fix: `gpu-dev ssh-keys add ${path}` }),
  };
}

function sshClientCheck(): Check {
  const run = spawnSync('ssh', ['-V'], { encoding: 'utf8' });
  if (run.error) {
    return {
      name: 'ssh',
      status: 'fail',
      detail: 'no ssh command on PATH',
      fix: 'install OpenSSH (apt install openssh-client, brew install openssh, …)',
    };
  }
  return { name: 'ssh', status: 'ok', detail: (run.stderr || run.stdout).trim().split('\n')[0] ?? 'ssh' };
}

export async function runChecks(context: Context): Promise<Check[]> {
  const [server, credentials] = await Promise.all([serverCheck(context), credentialCheck(context)]);
  return [server, credentials.check, sshKeyCheck(credentials.me), sshClientCheck()];
}

export function registerDoctorCommand(program: Command): void {
  program
    .command('doctor')
    .description('Check the server, your credentials, your SSH key and ssh; say how to fix what fails')
    .action(async (_options: object, command: Command) => {
      const context = contextOf(command);
      const checks = await runChecks(context);
      context.out.data(checks, () => {
        const mark = { ok: colors.green('ok  '), warn: colors.yellow('warn'), fail: colors.red('FAIL') };
        for (const check of checks) {
          context.out.line(`${mark[check.status]} ${check.name}: ${check.detail}`);
          if (check.fix) {
            context.out.line(`     fix: ${check.fix}`);
          }
        }
      });
      if (checks.some((check) => check.status === 'fail')) {
        process.exitCode = ExitCode.Failure;
      }
    });
}

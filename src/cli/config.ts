/**
 * Where the CLI keeps its settings: `$XDG_CONFIG_HOME/gpu-dev/config.json` (else
 * `~/.config/gpu-dev/config.json`), readable by its owner only since it holds an API key.
 * ODC_API_URL / ODC_API_KEY and the `--api-url` / `--api-key` flags override it, flags first.
 */
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { CliError, ExitCode } from './errors';

export interface StoredConfig {
  api_url?: string;
  api_key?: string;
}

export const SETTABLE_KEYS = ['api_url', 'api_key'] as const;
export type SettableKey = (typeof SETTABLE_KEYS)[number];

/** The user's home directory (HOME first, so a test or a sandbox can move it). */
export function homeDirectory(): string {
  return process.env.HOME || homedir();
}

/** How often a waiting `reserve` or `list --watch` asks the server (ODC_CLI_POLL_MS; tests make it short). */
export function pollIntervalMs(): number {
  const ms = Number(process.env.ODC_CLI_POLL_MS ?? 2000);
  return Number.isFinite(ms) && ms >= 50 ? ms : 2000;
}

/**
 * The STS endpoint `login --aws` presigns for, from ODC_AWS_STS_ENDPOINT (the server's variable of
 * the same name: a test or private STS); undefined means AWS's global endpoint.
 */
export function stsEndpointFromEnv(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env.ODC_AWS_STS_ENDPOINT?.trim() || undefined;
}

export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config');
  return join(base, 'gpu-dev', 'config.json');
}

export function readConfig(path = configPath()): StoredConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return {};
  }
  try {
    const parsed = JSON.parse(text) as unknown;
    return typeof parsed === 'object' && parsed !== null ? parsed : {};
  } catch {
    throw new CliError(`${path} is not valid JSON; fix or delete it`, ExitCode.Failure);
  }
}

export function writeConfig(config: StoredConfig, path = configPath()): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileSync(path, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  chmodSync(path, 0o600); // an existing file keeps its mode on write
}

export function updateConfig(change: (config: StoredConfig) => StoredConfig, path = configPath()): void {
  writeConfig(change(readConfig(path)), path);
}

export interface Settings {
  apiUrl?: string;
  apiKey?: string;
  /** Where each came from, for `config show`. */
  sources: { apiUrl: string; apiKey: string };
}

/** The settings in force: flags, then the environment, then the file. */
export function resolveSettings(
  flags: { apiUrl?: string; apiKey?: string },
  env: NodeJS.ProcessEnv = process.env,
  stored: StoredConfig = readConfig(configPath(env)),
): Settings {
  const pick = (flag: string | undefined, envValue: string | undefined, file: string | undefined) =>
    flag
      ? { value: flag, source: 'flag' }
      : envValue
        ? { value: envValue, source: 'environment' }
        : file
          ? { value: file, source: 'config file' }
          : { value: undefined, source: 'not set' };
  const url = pick(flags.apiUrl, env.ODC_API_URL, stored.api_url);
  const key = pick(flags.apiKey, env.ODC_API_KEY, stored.api_key);
  return {
    ...(url.value ? { apiUrl: url.value.replace(/\/+$/, '') } : {}),
    ...(key.value ? { apiKey: key.value } : {}),
    sources: { apiUrl: url.source, apiKey: key.source },
  };
}

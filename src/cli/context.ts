import type { Command } from 'commander';
import { OdcApi } from './api';
import { resolveSettings, type Settings } from './config';
import { CliError, ExitCode } from './errors';
import { outputFor, type Output } from './output';

export interface GlobalOptions {
  apiUrl?: string;
  apiKey?: string;
  json?: boolean;
}

/** What every command works with: the settings in force, the API, and where to print. */
export interface Context {
  settings: Settings;
  out: Output;
  readonly api: () => OdcApi;
}

export function contextOf(command: Command): Context {
  const options = command.optsWithGlobals<GlobalOptions>();
  const settings = resolveSettings(options);
  return {
    settings,
    out: outputFor(options.json === true),
    api: () => {
      if (!settings.apiUrl) {
        throw new CliError('No API URL: run gpu-dev setup <url> (or set ODC_API_URL)', ExitCode.Usage);
      }
      return new OdcApi(settings.apiUrl, settings.apiKey);
    },
  };
}

/** A usage error: exit 2 with a one-line hint. */
export function usage(message: string): CliError {
  return new CliError(message, ExitCode.Usage, 'usage');
}

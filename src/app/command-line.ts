/**
 * The flags of the deployer ODC replaces (`--mode=standalone|lambda`, `--port`, `--mtls --tls-cert
 * --tls-key --client-ca`), kept so the commands that started it still start ODC's deployer. They
 * map onto the environment variables they stand for, so configuration is still validated in one
 * place. Flags win over the environment; with any deployer flag and no ODC_ROLES, the process is a
 * deployer.
 */
import { parseArgs } from 'node:util';
import type { EnvSource } from '../infra/config/environment';

export class CommandLineError extends Error {}

export const USAGE = `Usage: node dist/src/main.js [--mode=standalone] [--host=ADDR] [--port=N]
                          [--mtls --tls-cert=FILE --tls-key=FILE --client-ca=FILE]

Every setting is an environment variable (see .env.example); these flags set the deployer's:
  --mode=standalone     run as a long-lived server (the default); for AWS Lambda, deploy the
                        handler dist/src/lambda.handler instead (docs/deployer.md)
  --host, --port        ODC_DEPLOYER_HOST, ODC_DEPLOYER_PORT
  --tls-cert, --tls-key ODC_DEPLOYER_TLS_CERT, ODC_DEPLOYER_TLS_KEY
  --client-ca           ODC_DEPLOYER_CLIENT_CA (client certificates required)
  --mtls                require mTLS: refuses to start without a client CA
`;

const FLAG_VARIABLES = {
  host: 'ODC_DEPLOYER_HOST',
  port: 'ODC_DEPLOYER_PORT',
  'tls-cert': 'ODC_DEPLOYER_TLS_CERT',
  'tls-key': 'ODC_DEPLOYER_TLS_KEY',
  'client-ca': 'ODC_DEPLOYER_CLIENT_CA',
} as const;

export interface CommandLine {
  help: boolean;
  env: EnvSource;
}

/** The environment with the flags applied; throws CommandLineError on a flag it cannot honour. */
export function applyCommandLine(args: string[], env: EnvSource): CommandLine {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(args);
  } catch (error) {
    throw new CommandLineError(error instanceof Error ? error.message : String(error));
  }
  const { values } = parsed;
  if (values.help) {
    return { help: true, env };
  }
  const mode = values.mode ?? 'standalone';
  if (mode === 'lambda') {
    throw new CommandLineError(
      'Lambda mode is not a long-running process: set the function handler to ' +
        'dist/src/lambda.handler (see docs/deployer.md, "Lambda mode")',
    );
  }
  if (mode !== 'standalone') {
    throw new CommandLineError(`--mode must be standalone or lambda (got ${mode})`);
  }
  const fromFlags: Record<string, string> = {};
  for (const [flag, variable] of Object.entries(FLAG_VARIABLES)) {
    const value = values[flag as keyof typeof FLAG_VARIABLES];
    if (value !== undefined) {
      fromFlags[variable] = value;
    }
  }
  const merged: EnvSource = { ...env, ...fromFlags };
  if (values.mtls && !merged.ODC_DEPLOYER_CLIENT_CA) {
    throw new CommandLineError('--mtls needs a client CA: --client-ca=FILE or ODC_DEPLOYER_CLIENT_CA');
  }
  const deployerFlags = values.mode !== undefined || values.mtls || Object.keys(fromFlags).length > 0;
  if (deployerFlags && !merged.ODC_ROLES) {
    merged.ODC_ROLES = 'deployer';
  }
  return { help: false, env: merged };
}

function parse(args: string[]) {
  return parseArgs({
    args,
    strict: true,
    allowPositionals: false,
    options: {
      help: { type: 'boolean', short: 'h' },
      mode: { type: 'string' },
      mtls: { type: 'boolean' },
      host: { type: 'string' },
      port: { type: 'string' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      'client-ca': { type: 'string' },
    },
  });
}

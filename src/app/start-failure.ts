import { DataDirInUseError } from '../infra/database/embedded-postgres';
import type { AppConfig } from './config';

type SystemError = NodeJS.ErrnoException & { port?: number; address?: string };

/** The setting that moves a listener off a port, by which listener asked for it. */
function portSetting(config: AppConfig, port: number | undefined): string {
  if (port === config.ODC_PORT && config.roles.has('coordinator')) {
    return 'ODC_PORT';
  }
  if (port === config.ODC_DEPLOYER_PORT && config.roles.has('deployer')) {
    return 'ODC_DEPLOYER_PORT (or --port)';
  }
  return port === config.ODC_OPS_PORT ? 'ODC_OPS_PORT' : 'the port setting';
}

/**
 * A start-up failure a person can fix, in one line that says how; undefined for anything else
 * (a bug: logged whole, with its stack).
 */
export function explainStartFailure(error: unknown, config: AppConfig): string | undefined {
  if (error instanceof DataDirInUseError) {
    return error.message;
  }
  const system = error as SystemError;
  if (system?.syscall === 'listen' && system.code === 'EADDRINUSE') {
    return (
      `port ${system.port} on ${system.address} is in use, perhaps by another ODC (\`ss -ltnp 'sport = :${system.port}'\` shows which process): ` +
      `stop it, or choose another port with ${portSetting(config, system.port)}`
    );
  }
  if (system?.syscall === 'listen' && system.code === 'EACCES') {
    return `may not listen on port ${system.port} (below 1024 needs privileges): choose another with ${portSetting(config, system.port)}`;
  }
  if (system?.syscall === 'listen' && system.code === 'EADDRNOTAVAIL') {
    return `${system.address} is not an address of this machine: set ODC_HOST (or ODC_DEPLOYER_HOST) to one of its addresses, or 0.0.0.0`;
  }
  return undefined;
}

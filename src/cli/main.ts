/**
 * `gpu-dev`: reserve GPU development environments on ODC from a terminal. Exit codes: 0 ok,
 * 1 the server refused or the operation failed, 2 usage, 3 not authenticated.
 */
import { Command, CommanderError } from 'commander';
import { registerAccountCommands } from './commands/account';
import { registerAvailCommand } from './commands/avail';
import { registerClusterCommands } from './commands/clusters';
import { registerDiskCommands } from './commands/disks';
import { registerKeyCommands } from './commands/keys';
import { registerReservationCommands } from './commands/reservations';
import { registerSshKeyCommands } from './commands/ssh-keys';
import { registerDoctorCommand } from './commands/doctor';
import { CliError, ExitCode } from './errors';
import { colors } from './output';
import { CLI_VERSION } from './version';

export function buildProgram(): Command {
  const program = new Command('gpu-dev')
    .description('Reserve GPU development environments on ODC')
    .option('--api-url <url>', 'the ODC server (else ODC_API_URL, else the config file)')
    .option('--api-key <key>', 'an API key (else ODC_API_KEY, else the config file)')
    .option('--json', 'print data as JSON (for scripts)')
    .version(CLI_VERSION, '-V, --version', 'print the CLI’s version')
    .showSuggestionAfterError(true);
  registerAccountCommands(program);
  registerAvailCommand(program);
  registerReservationCommands(program);
  registerDiskCommands(program);
  registerKeyCommands(program);
  registerSshKeyCommands(program);
  registerClusterCommands(program);
  registerDoctorCommand(program);
  // Usage errors come back here (exit 2, one line) instead of commander exiting by itself.
  const quietUsage = (command: Command) => {
    command.exitOverride().configureOutput({ outputError: () => undefined });
    command.commands.forEach(quietUsage);
  };
  quietUsage(program);
  return program;
}

export async function run(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    // A command that finished but did not succeed (connect's ssh, doctor's checks) set its code.
    return Number(process.exitCode ?? ExitCode.Ok);
  } catch (error) {
    return report(error);
  }
}

function report(error: unknown): number {
  if (error instanceof CommanderError) {
    if (error.exitCode === 0) {
      return ExitCode.Ok; // --help, --version
    }
    process.stderr.write(
      `${colors.red('error:')} ${error.message.replace(/^error: /, '')} (see gpu-dev --help)\n`,
    );
    return ExitCode.Usage;
  }
  if (error instanceof CliError) {
    process.stderr.write(`${colors.red('error:')} ${error.message}\n`);
    return error.exitCode;
  }
  process.stderr.write(`${colors.red('error:')} ${(error as Error).message ?? String(error)}\n`);
  return ExitCode.Failure;
}

// Run as a program: the bundle users install (dist/cli/gpu-dev.cjs) or `node dist/src/cli/main.js`.
if (require.main === module) {
  // `gpu-dev list | head`: the reader went away, which is not the CLI's failure.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') {
      throw error;
    }
    process.exit(0);
  });
  void run(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}

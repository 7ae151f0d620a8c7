// First: on an older Node the imports below would fail with an error that says nothing useful.
import './app/node-version';
import 'reflect-metadata';
import type { Logger } from 'pino';
import { plannedListeners, readyLine, startRuntime, type Runtime } from './app/runtime';
import { APP_VERSION } from './app/version';
import { applyCommandLine, CommandLineError, USAGE } from './app/command-line';
import { explainStartFailure } from './app/start-failure';
import { loadAppConfig, type AppConfig } from './app/config';
import { readEnvironment } from './infra/config/environment';
import { ConfigError, describeConfig } from './infra/config/load-config';
import { createRootLogger } from './infra/logging/logger';

function loadConfigOrExit(): AppConfig {
  try {
    const commandLine = applyCommandLine(process.argv.slice(2), readEnvironment());
    if (commandLine.help) {
      process.stdout.write(USAGE);
      process.exit(0);
    }
    return loadAppConfig(commandLine.env);
  } catch (error) {
    if (error instanceof ConfigError || error instanceof CommandLineError) {
      // Plain text, not a JSON log line: this is read by a person fixing their environment.
      process.stderr.write(`ODC cannot start. ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
}

/**
 * One Ctrl-C often arrives twice: the terminal signals the whole process group, and `npm start`
 * forwards the signal it got too. Signals this close to the first one are that same Ctrl-C.
 */
const SAME_SIGNAL_WINDOW_MS = 1000;

/**
 * Installed before anything starts, so a Ctrl-C during boot also ends in a clean stop. First
 * signal: graceful stop (once booted), bounded in time; a later second signal: exit now. Every
 * exit path, graceful or not, stops the embedded PostgreSQL (its exit hook).
 */
function handleSignals(starting: Promise<Runtime>, logger: Logger, graceSeconds: number): void {
  let firstSignalAt: number | undefined;
  const exitNow = (reason: string, code: number) => {
    logger.warn(reason);
    process.exit(code);
  };
  const stop = (signal: NodeJS.Signals) => {
    if (firstSignalAt !== undefined) {
      if (Date.now() - firstSignalAt >= SAME_SIGNAL_WINDOW_MS) {
        exitNow(`second ${signal}: stopping now`, 130);
      }
      return;
    }
    firstSignalAt = Date.now();
    logger.info({ signal }, 'shutting down');
    setTimeout(() => exitNow('shutdown took too long; stopping now', 1), (graceSeconds + 5) * 1000).unref();
    starting
      .then((runtime) => runtime.close())
      .then(
        () => {
          logger.info('stopped');
          process.exit(0);
        },
        (error: unknown) => {
          logger.error({ err: error }, 'error while shutting down');
          process.exit(1);
        },
      );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

function handleCrashes(logger: Logger): void {
  const crash = (error: unknown) => {
    logger.fatal({ err: error }, 'unexpected error; exiting');
    process.exit(1);
  };
  process.on('uncaughtException', crash);
  process.on('unhandledRejection', crash);
}

function main(): void {
  const config = loadConfigOrExit();
  const logger = createRootLogger(config);
  handleCrashes(logger);
  const planned = plannedListeners(config);
  logger.info(
    { odcVersion: APP_VERSION, nodeVersion: process.version, listeners: planned },
    `ODC ${APP_VERSION} starting on Node ${process.version}; roles: ${[...config.roles].join(', ')}; listeners: ${
      planned.map((l) => `${l.name} ${l.url}`).join(', ') || 'none'
    }`,
  );
  logger.debug({ config: describeConfig(config) }, 'configuration');
  const starting = startRuntime({ config, logger });
  handleSignals(starting, logger, config.ODC_SHUTDOWN_TIMEOUT_SECONDS);
  starting.then(
    (runtime) => {
      const ready = readyLine(runtime);
      logger[ready.level]({ listeners: runtime.listeners }, ready.msg);
    },
    (error: unknown) => {
      const explained = explainStartFailure(error, config);
      if (explained) {
        logger.fatal(`ODC cannot start: ${explained}`);
      } else {
        logger.fatal({ err: error }, 'failed to start');
      }
      process.exit(1);
    },
  );
}

main();

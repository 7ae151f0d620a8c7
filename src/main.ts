import 'reflect-metadata';
import type { Logger } from 'pino';
import { startRuntime, plannedListeners, type Runtime } from './app/runtime';
import { ODC_VERSION } from './app/version';
import { ConfigError, describeConfig, loadConfig, type AppConfig } from './infra/config/env';
import { createRootLogger } from './infra/logging/logger';

function loadConfigOrExit(): AppConfig {
  try {
    return loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
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

/** First signal: graceful stop, bounded in time; a later second signal: stop now. */
function handleSignals(runtime: Runtime, logger: Logger, graceSeconds: number): void {
  let firstSignalAt: number | undefined;
  const stopNow = (reason: string, code: number) => {
    logger.warn(reason);
    void runtime.abort().finally(() => process.exit(code));
  };
  const stop = (signal: NodeJS.Signals) => {
    if (firstSignalAt !== undefined) {
      if (Date.now() - firstSignalAt >= SAME_SIGNAL_WINDOW_MS) {
        stopNow(`second ${signal}: stopping now`, 130);
      }
      return;
    }
    firstSignalAt = Date.now();
    logger.info({ signal }, 'shutting down');
    const deadline = setTimeout(
      () => stopNow('shutdown took too long; stopping now', 1),
      (graceSeconds + 5) * 1000,
    );
    deadline.unref();
    runtime.close().then(
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

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const logger = createRootLogger(config);
  logger.info(
    { odcVersion: ODC_VERSION, nodeVersion: process.version, listeners: plannedListeners(config) },
    `ODC ${ODC_VERSION} starting on Node ${process.version}; roles: ${[...config.roles].join(', ')}; listeners: ${
      plannedListeners(config)
        .map((l) => `${l.name} ${l.url}`)
        .join(', ') || 'none'
    }`,
  );
  logger.debug({ config: describeConfig(config) }, 'configuration');
  try {
    const runtime = await startRuntime({ config, logger });
    handleSignals(runtime, logger, config.ODC_SHUTDOWN_TIMEOUT_SECONDS);
    const api = runtime.listeners.find((l) => l.name === 'api');
    logger.info(
      { listeners: runtime.listeners },
      `ODC ready${api ? `: API ${api.url}, Swagger UI ${api.url}/docs` : ''}`,
    );
  } catch (error) {
    logger.fatal({ err: error }, 'failed to start');
    process.exit(1);
  }
}

void main();

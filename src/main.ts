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

/** First signal: graceful stop (bounded); second signal: stop now. */
function handleSignals(runtime: Runtime, logger: Logger, graceSeconds: number): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: stopping now');
      void runtime.abort().finally(() => process.exit(130));
      return;
    }
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const deadline = setTimeout(
      () => {
        logger.error('shutdown took too long; exiting');
        process.exit(1);
      },
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
    { version: ODC_VERSION, node: process.version, listeners: plannedListeners(config) },
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

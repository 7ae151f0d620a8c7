import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { DeployerAppModule } from '../deployer/deployer-app.module';
import type { AppConfig } from '../infra/config/env';
import { EmbeddedPostgres } from '../infra/database/embedded-postgres';
import { configureHttp } from '../infra/http/configure-http';
import { AppModule, type CoreAppOptions } from './app.module';
import { serveOpenApi } from './openapi';
import { needsDatabase } from './roles';

export interface Listener {
  name: 'api' | 'ops' | 'deployer';
  url: string;
}

export interface Runtime {
  /** Roles coordinator/worker/cron: the Nest app with the database, queue and their modules. */
  core?: INestApplication;
  /** Role deployer: its own app on its own port. */
  deployer?: INestApplication;
  listeners: Listener[];
  close(): Promise<void>;
  /** For a second Ctrl-C: skip the graceful part, but never leave the embedded database behind. */
  abort(): Promise<void>;
}

export interface RuntimeOptions {
  config: AppConfig;
  logger: Logger;
  /** Overrides DATABASE_URL (tests hand each file its own database). */
  databaseUrl?: string;
  imports?: CoreAppOptions['imports'];
}

/** Where each listener of this replica will be, before anything starts (for the first log line). */
export function plannedListeners(config: AppConfig): Listener[] {
  const roles = config.roles;
  const planned: Listener[] = [];
  if (roles.has('coordinator')) {
    planned.push({ name: 'api', url: `http://${config.ODC_HOST}:${config.ODC_PORT}` });
  } else if (needsDatabase(roles) && config.ODC_OPS_PORT !== undefined) {
    planned.push({ name: 'ops', url: `http://${config.ODC_HOST}:${config.ODC_OPS_PORT}` });
  }
  if (roles.has('deployer')) {
    planned.push({ name: 'deployer', url: `http://${config.ODC_DEPLOYER_HOST}:${config.ODC_DEPLOYER_PORT}` });
  }
  return planned;
}

/** A clickable host: a wildcard bind is reachable as localhost; IPv6 literals need brackets. */
function displayHost({ address, family }: AddressInfo): string {
  if (address === '0.0.0.0' || address === '::') {
    return 'localhost';
  }
  return family === 'IPv6' ? `[${address}]` : address;
}

async function listen(
  app: INestApplication,
  name: Listener['name'],
  host: string,
  port: number,
): Promise<Listener> {
  await app.listen(port, host);
  const address = (app.getHttpServer() as Server).address() as AddressInfo;
  return { name, url: `http://${displayHost(address)}:${address.port}` };
}

async function resolveDatabaseUrl(
  options: RuntimeOptions,
): Promise<{ url: string; embedded?: EmbeddedPostgres }> {
  const url = options.databaseUrl ?? options.config.DATABASE_URL;
  if (url) {
    return { url };
  }
  const embedded = await EmbeddedPostgres.start({
    dataDir: options.config.ODC_DATA_DIR,
    logger: options.logger,
  });
  return { url: embedded.url, embedded };
}

async function startCore(
  options: RuntimeOptions,
  databaseUrl: string,
): Promise<{ app: INestApplication; listener?: Listener }> {
  const { config } = options;
  const app = await NestFactory.create(
    AppModule.forRoot({ config, logger: options.logger, databaseUrl, imports: options.imports }),
    { bodyParser: false, bufferLogs: true, abortOnError: false },
  );
  configureHttp(app, config);
  if (config.roles.has('coordinator')) {
    serveOpenApi(app);
    return { app, listener: await listen(app, 'api', config.ODC_HOST, config.ODC_PORT) };
  }
  if (config.ODC_OPS_PORT !== undefined) {
    return { app, listener: await listen(app, 'ops', config.ODC_HOST, config.ODC_OPS_PORT) };
  }
  await app.init();
  return { app };
}

async function startDeployer(
  options: RuntimeOptions,
): Promise<{ app: INestApplication; listener: Listener }> {
  const { config } = options;
  const app = await NestFactory.create(DeployerAppModule.forRoot(config, options.logger), {
    bodyParser: false,
    bufferLogs: true,
    abortOnError: false,
  });
  configureHttp(app, config);
  return { app, listener: await listen(app, 'deployer', config.ODC_DEPLOYER_HOST, config.ODC_DEPLOYER_PORT) };
}

/**
 * Starts what this replica's roles need: the database (embedded when no URL is given), the core
 * app, the deployer app. `close()` undoes it in reverse: apps first (in-flight jobs finish), the
 * embedded database last.
 */
export async function startRuntime(options: RuntimeOptions): Promise<Runtime> {
  const roles = options.config.roles;
  const started: INestApplication[] = [];
  let embedded: EmbeddedPostgres | undefined;
  const close = async () => {
    for (const app of started.reverse()) {
      await app.close();
    }
    await embedded?.stop();
  };
  try {
    const abort = async () => embedded?.stop('immediate');
    const runtime: Runtime = { listeners: [], close, abort };
    if (needsDatabase(roles)) {
      const database = await resolveDatabaseUrl(options);
      embedded = database.embedded;
      const core = await startCore(options, database.url);
      started.push(core.app);
      runtime.core = core.app;
      runtime.listeners.push(...(core.listener ? [core.listener] : []));
    }
    if (roles.has('deployer')) {
      const deployer = await startDeployer(options);
      started.push(deployer.app);
      runtime.deployer = deployer.app;
      runtime.listeners.push(deployer.listener);
    }
    return runtime;
  } catch (error) {
    await close().catch(() => undefined);
    throw error;
  }
}

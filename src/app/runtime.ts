import type { INestApplication } from '@nestjs/common';
import type { HttpsOptions } from '@nestjs/common/interfaces/external/https-options.interface';
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { isIPv6, type AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { registerLocalSimulator } from '../clusters/dev/local-simulator';
import { isLoopback, withStartToken } from '../deployer/deployer-access';
import { resolveKubeAccess, type KubeAccess } from '../deployer/kube/kube-access';
import type { AppConfig } from '../infra/config/env';
import { EmbeddedPostgres } from '../infra/database/embedded-postgres';
import { AppModule, type CoreAppOptions } from './app.module';
import { createDeployerApp, createNestApp } from './nest-app';
import { serveOpenApi } from './openapi';
import { needsDatabase } from './roles';

export interface Listener {
  /** `simulator`: the in-process simulated cluster a development deployer uses. */
  name: 'api' | 'ops' | 'deployer' | 'simulator';
  url: string;
}

export interface Runtime {
  /** Roles coordinator/worker/cron: the Nest app with the database, queue and their modules. */
  core?: INestApplication;
  /** Role deployer: its own app on its own port. */
  deployer?: INestApplication;
  listeners: Listener[];
  /** A development start whose deployer drives a cluster that is not its simulated one. */
  realCluster?: { source: KubeAccess['source']; server: string };
  close(): Promise<void>;
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
    planned.push({ name: 'api', url: httpUrl(config.ODC_HOST, config.ODC_PORT) });
  } else if (needsDatabase(roles) && config.ODC_OPS_PORT !== undefined) {
    planned.push({ name: 'ops', url: httpUrl(config.ODC_HOST, config.ODC_OPS_PORT) });
  }
  if (roles.has('deployer')) {
    planned.push({ name: 'deployer', url: httpUrl(config.ODC_DEPLOYER_HOST, config.ODC_DEPLOYER_PORT) });
  }
  return planned;
}

/** A URL a person can click: a wildcard bind is reachable as localhost; IPv6 literals need brackets. */
export function httpUrl(host: string, port: number): string {
  if (host === '0.0.0.0' || host === '::') {
    return `http://localhost:${port}`;
  }
  return isIPv6(host) ? `http://[${host}]:${port}` : `http://${host}:${port}`;
}

async function listen(
  app: INestApplication,
  name: Listener['name'],
  host: string,
  port: number,
  tls = false,
): Promise<Listener> {
  await app.listen(port, host);
  const { port: bound } = (app.getHttpServer() as Server).address() as AddressInfo;
  const url = httpUrl(host, bound);
  return { name, url: tls ? url.replace(/^http:/, 'https:') : url };
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

/** The core app listens for the API (coordinator), else on the ops port if one is set, else nowhere. */
async function openCore(app: INestApplication, config: AppConfig): Promise<Listener | undefined> {
  if (config.roles.has('coordinator')) {
    serveOpenApi(app);
    return listen(app, 'api', config.ODC_HOST, config.ODC_PORT);
  }
  if (config.ODC_OPS_PORT !== undefined) {
    return listen(app, 'ops', config.ODC_HOST, config.ODC_OPS_PORT);
  }
  await app.init();
  return undefined;
}

/**
 * A deployer can create pods: it must not serve unauthenticated beyond this machine. (mTLS joins
 * the bearer token as a way to satisfy this.)
 */
function assertDeployerIsGuarded(config: AppConfig): void {
  const authenticated = Boolean(config.ODC_DEPLOYER_TOKEN) || Boolean(config.ODC_DEPLOYER_CLIENT_CA);
  if (!authenticated && !isLoopback(config.ODC_DEPLOYER_HOST) && !config.ODC_DEPLOYER_INSECURE) {
    throw new Error(
      `Refusing to serve the deployer on ${config.ODC_DEPLOYER_HOST} without authentication: set ODC_DEPLOYER_TOKEN ` +
        'or ODC_DEPLOYER_CLIENT_CA (mTLS), bind ODC_DEPLOYER_HOST to a loopback address, or (never in production) ' +
        'set ODC_DEPLOYER_INSECURE=true',
    );
  }
  if (config.ODC_DEPLOYER_CLIENT_CA && !config.ODC_DEPLOYER_TLS_CERT) {
    throw new Error('ODC_DEPLOYER_CLIENT_CA (mTLS) needs ODC_DEPLOYER_TLS_CERT and ODC_DEPLOYER_TLS_KEY');
  }
}

/** TLS for the deployer listener; with a client CA, a client certificate it signed is required. */
function deployerTls(config: AppConfig): HttpsOptions | undefined {
  if (!config.ODC_DEPLOYER_TLS_CERT || !config.ODC_DEPLOYER_TLS_KEY) {
    return undefined;
  }
  return {
    cert: readFileSync(config.ODC_DEPLOYER_TLS_CERT),
    key: readFileSync(config.ODC_DEPLOYER_TLS_KEY),
    ...(config.ODC_DEPLOYER_CLIENT_CA
      ? { ca: readFileSync(config.ODC_DEPLOYER_CLIENT_CA), requestCert: true, rejectUnauthorized: true }
      : {}),
  };
}

/**
 * The line that says the replica is up and where. A development start whose deployer drives a
 * real cluster (a developer's KUBECONFIG) says so loudly: reservations create pods there.
 */
export function readyLine(runtime: Runtime): { level: 'info' | 'warn'; msg: string } {
  const api = runtime.listeners.find((l) => l.name === 'api');
  const simulator = runtime.listeners.find((l) => l.name === 'simulator');
  const real = runtime.realCluster;
  const parts = [
    ...(api ? [`API ${api.url}, Swagger UI ${api.url}/docs`] : []),
    ...(simulator ? [`simulated GPU cluster ${simulator.url} (kubectl --server=${simulator.url})`] : []),
    ...(real
      ? [
          `WARNING: NOT A SIMULATED CLUSTER: the deployer drives ${real.server || 'the cluster'} from ${real.source}; reservations create real pods there`,
        ]
      : []),
  ];
  return {
    level: real ? 'warn' : 'info',
    msg: `ODC ready${parts.length > 0 ? `: ${parts.join('; ')}` : ''}`,
  };
}

/**
 * Starts what this replica's roles need: the database (embedded when no URL is given), the core
 * app, the deployer app. `close()` undoes it in reverse: apps first (in-flight jobs finish), the
 * embedded database last, whatever happened before.
 */
export async function startRuntime(options: RuntimeOptions): Promise<Runtime> {
  const { config } = options;
  const started: INestApplication[] = [];
  const closers: (() => Promise<void>)[] = [];
  let embedded: EmbeddedPostgres | undefined;
  const close = async () => {
    try {
      for (const app of [...started].reverse()) {
        await app.close();
      }
      for (const closer of closers.reverse()) {
        await closer();
      }
    } finally {
      await embedded?.stop();
    }
  };
  const runtime: Runtime = { listeners: [], close };
  try {
    if (needsDatabase(config.roles)) {
      const database = await resolveDatabaseUrl(options);
      embedded = database.embedded;
      const module = AppModule.forRoot({
        config,
        logger: options.logger,
        databaseUrl: database.url,
        imports: options.imports,
      });
      runtime.core = await createNestApp(module, config, options.logger);
      started.push(runtime.core);
      const listener = await openCore(runtime.core, config);
      runtime.listeners.push(...(listener ? [listener] : []));
    }
    if (config.roles.has('deployer')) {
      const { config: deployerConfig, generated } = withStartToken(config);
      if (generated) {
        options.logger.info(
          'deployer: no ODC_DEPLOYER_TOKEN: it takes a token made for this start, which only this process knows (set ODC_DEPLOYER_TOKEN to call it from elsewhere)',
        );
      }
      assertDeployerIsGuarded(deployerConfig);
      const kube = await resolveKubeAccess(config, options.logger);
      closers.push(() => kube.close());
      if (kube.simulatorUrl) {
        runtime.listeners.push({ name: 'simulator', url: kube.simulatorUrl });
      } else if (config.NODE_ENV === 'development') {
        runtime.realCluster = {
          source: kube.source,
          server: kube.kubeConfig.getCurrentCluster()?.server ?? '',
        };
      }
      const tls = deployerTls(config);
      runtime.deployer = await createDeployerApp(deployerConfig, options.logger, kube.kubeConfig, tls);
      started.push(runtime.deployer);
      const deployerListener = await listen(
        runtime.deployer,
        'deployer',
        config.ODC_DEPLOYER_HOST,
        config.ODC_DEPLOYER_PORT,
        tls !== undefined,
      );
      runtime.listeners.push(deployerListener);
      if (runtime.core && kube.simulator) {
        await registerLocalSimulator(runtime.core, {
          config: deployerConfig,
          logger: options.logger,
          deployerUrl: deployerListener.url,
          simulator: kube.simulator,
        });
      }
    }
    return runtime;
  } catch (error) {
    await close().catch(() => undefined);
    throw error;
  }
}

import type { INestApplication } from '@nestjs/common';
import type { Logger } from 'pino';
import type { KubeAccess } from '../deployer/kube/kube-access';
import type { AppConfig } from './config';
import { FirstAdminOnDevelopmentStart } from '../auth/public';
import { EmbeddedPostgres } from '../infra/database/embedded-postgres';
import { AppModule, type CoreAppOptions } from './app.module';
import { httpUrl, listen, type Listener } from './listeners';
import { createNestApp } from './nest-app';
import { serveOpenApi } from './openapi';
import { needsDatabase } from './roles';

export { httpUrl, type Listener } from './listeners';

type DeployerRuntimeFile = typeof import('./deployer-runtime');

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
  clock?: CoreAppOptions['clock'];
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

/** Once everything listens: a first development start's admin key, where the API now answers. */
async function greetFirstAdmin(runtime: Runtime): Promise<void> {
  const api = runtime.listeners.find((l) => l.name === 'api');
  if (runtime.core && api) {
    await runtime.core.get(FirstAdminOnDevelopmentStart).greet(api.url);
  }
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
        clock: options.clock,
      });
      runtime.core = await createNestApp(module, config, options.logger);
      started.push(runtime.core);
      const listener = await openCore(runtime.core, config);
      runtime.listeners.push(...(listener ? [listener] : []));
    }
    if (config.roles.has('deployer')) {
      // Required here rather than imported above: the Kubernetes client, the deployer's modules
      // and the simulator are some 20 MB of heap and 30–45 MB of RSS that a replica without the
      // role never needs (docs/performance.md, "Memory"). `import()` of our own CommonJS output would need file
      // extensions that neither this build nor Jest gives.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { startDeployer } = require('./deployer-runtime') as DeployerRuntimeFile;
      const deployer = await startDeployer(options, runtime.core, { apps: started, closers });
      runtime.deployer = deployer.app;
      runtime.realCluster = deployer.realCluster;
      runtime.listeners.push(...deployer.listeners);
    }
    await greetFirstAdmin(runtime);
    return runtime;
  } catch (error) {
    await close().catch(() => undefined);
    throw error;
  }
}

/**
 * The deployer role of a replica: its Kubernetes (a kubeconfig, the in-cluster account or, for
 * development, a simulated cluster started here), its own app on its own listener and, in
 * development, the `local-sim` registration. src/app/runtime.ts loads this module only for a
 * replica with the role: the Kubernetes client, the deployer's modules and the simulator cost a
 * replica without it some 20 MB of heap and 30–45 MB of RSS (docs/performance.md, "Memory").
 */
import type { INestApplication } from '@nestjs/common';
import type { HttpsOptions } from '@nestjs/common/interfaces/external/https-options.interface';
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { withStartToken } from '../deployer/deployer-access';
import { resolveKubeAccess, type KubeAccess } from '../deployer/kube/kube-access';
import { configWith } from '../infra/config/load-config';
import { join } from 'node:path';
import type { AppConfig } from './config';
import type { SimulatedKubeAccess } from './dev/simulated-kube';
import { listen, type Listener } from './listeners';
import { createDeployerApp } from './nest-app';

// The simulator and its registration are required only by a deployer that starts one: nothing
// else loads the simulator.
/* eslint-disable @typescript-eslint/no-require-imports */
const simulatedKube = () => require('./dev/simulated-kube') as typeof import('./dev/simulated-kube');
const localSimulator = () => require('./dev/local-simulator') as typeof import('./dev/local-simulator');
/* eslint-enable @typescript-eslint/no-require-imports */

/**
 * Where a development start keeps its simulated cluster: beside its embedded database, so both
 * remember the same things across restarts. Other starts (tests, a deployer told to simulate)
 * begin with a new cluster each time.
 */
function simulatorStateFile(config: AppConfig): string | undefined {
  return config.NODE_ENV === 'development'
    ? join(config.ODC_DATA_DIR, 'simulator', 'cluster.json')
    : undefined;
}

/** The config with `driver` allowed too: the deployer's own simulated cluster's (its snapshots import). */
export function allowingCsiDriver(config: AppConfig, driver: string): AppConfig {
  return configWith(config, {
    ODC_DEPLOYER_ALLOWED_CSI_DRIVERS: [config.ODC_DEPLOYER_ALLOWED_CSI_DRIVERS, driver]
      .filter(Boolean)
      .join(','),
  });
}

/**
 * mTLS needs the listener's own certificate. Checked here, not with the configuration, because
 * only this listener has one: the Lambda entry refuses a client CA for reasons of its own. (That a
 * deployer must not serve unauthenticated beyond this machine is a rule of the roles':
 * src/app/roles.config.ts.)
 */
function assertClientCaHasTls(config: AppConfig): void {
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

export interface StartedDeployer {
  app: INestApplication;
  /** The deployer's, and the simulated cluster's when it runs one. */
  listeners: Listener[];
  /** A development start whose deployer drives a cluster that is not its simulated one. */
  realCluster?: { source: KubeAccess['source']; server: string };
}

/**
 * Starts the deployer; what it opens goes to `track` as soon as it is open, so the runtime's
 * `close()` undoes it even when a later step fails: the app first, then the Kubernetes access (a
 * simulated cluster stops). `core`, in a development start, gets the `local-sim` registration.
 */
export async function startDeployer(
  options: { config: AppConfig; logger: Logger },
  core: INestApplication | undefined,
  track: { apps: INestApplication[]; closers: (() => Promise<void>)[] },
): Promise<StartedDeployer> {
  const { config } = options;
  const { config: deployerConfig, generated } = withStartToken(config);
  if (generated) {
    options.logger.info(
      'deployer: no ODC_DEPLOYER_TOKEN: it takes a token made for this start, which only this process knows (set ODC_DEPLOYER_TOKEN to call it from elsewhere)',
    );
  }
  assertClientCaHasTls(deployerConfig);
  const kube = await resolveKubeAccess(
    config,
    config.deployerSimulator
      ? () => simulatedKube().startSimulatedKube(options.logger, simulatorStateFile(config))
      : undefined,
  );
  track.closers.push(() => kube.close());
  const simulated = kube.source === 'simulator' ? (kube as SimulatedKubeAccess) : undefined;
  const listeners: Listener[] = kube.simulatorUrl ? [{ name: 'simulator', url: kube.simulatorUrl }] : [];
  const realCluster =
    !kube.simulatorUrl && config.NODE_ENV === 'development'
      ? { source: kube.source, server: kube.kubeConfig.getCurrentCluster()?.server ?? '' }
      : undefined;
  const tls = deployerTls(config);
  const app = await createDeployerApp(
    simulated ? allowingCsiDriver(deployerConfig, simulated.csiDriver) : deployerConfig,
    options.logger,
    kube.kubeConfig,
    tls,
  );
  track.apps.push(app);
  const deployerListener = await listen(
    app,
    'deployer',
    config.ODC_DEPLOYER_HOST,
    config.ODC_DEPLOYER_PORT,
    tls !== undefined,
  );
  listeners.push(deployerListener);
  if (core && simulated) {
    await localSimulator().registerLocalSimulator(core, {
      config: deployerConfig,
      logger: options.logger,
      deployerUrl: deployerListener.url,
      simulator: simulated.simulator,
    });
  }
  return { app, listeners, ...(realCluster ? { realCluster } : {}) };
}

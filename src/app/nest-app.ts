import type { IncomingMessage, ServerResponse } from 'node:http';
import type { DynamicModule, INestApplication } from '@nestjs/common';
import type { HttpsOptions } from '@nestjs/common/interfaces/external/https-options.interface';
import type { KubeConfig } from '@kubernetes/client-node';
import { NestFactory } from '@nestjs/core';
import type { Logger } from 'pino';
import type { AppConfig } from './config';
import type { ErrorCode, ErrorStatuses } from '../infra/errors/app-error';
import { configureHttp } from '../infra/http/configure-http';
import { FrameworkLogger, PinoLoggerService } from '../infra/logging/framework-logger';
import { DEPLOYER_LISTENER_ERROR_STATUSES, ERROR_STATUSES } from './error-registry';
import { serveDeployerOpenApi } from './openapi';
import { APP_VERSION } from './version';

type DeployerAppModuleFile = typeof import('../deployer/deployer-app.module');

/**
 * A Nest application set up the one way every ODC listener is (body limits, request ids, error
 * mapping, logging); used by the long-running runtime and by the deployer's Lambda entry.
 */
export async function createNestApp(
  module: DynamicModule,
  config: AppConfig,
  logger: Logger,
  httpsOptions?: HttpsOptions,
  errors: Partial<ErrorStatuses<ErrorCode>> = ERROR_STATUSES,
): Promise<INestApplication> {
  const app = await NestFactory.create(module, {
    ...(httpsOptions ? { httpsOptions } : {}),
    bodyParser: false,
    abortOnError: false,
    logger: new FrameworkLogger(new PinoLoggerService(logger)),
  });
  configureHttp(app, config, errors);
  // Clients (the CLI) compare it with their own and say when they differ.
  app.use((_req: IncomingMessage, res: ServerResponse, next: () => void) => {
    res.setHeader('X-ODC-Version', APP_VERSION);
    next();
  });
  return app;
}

/** The deployer's own application (runtime listener and Lambda entry alike), its OpenAPI document included. */
export async function createDeployerApp(
  config: AppConfig,
  logger: Logger,
  kubeConfig: KubeConfig,
  httpsOptions?: HttpsOptions,
): Promise<INestApplication> {
  // Required here, not imported above, for the reason in src/app/runtime.ts: only a deployer needs it.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { DeployerAppModule } = require('../deployer/deployer-app.module') as DeployerAppModuleFile;
  const app = await createNestApp(
    DeployerAppModule.forRoot(config, logger, kubeConfig),
    config,
    logger,
    httpsOptions,
    DEPLOYER_LISTENER_ERROR_STATUSES,
  );
  serveDeployerOpenApi(app);
  return app;
}

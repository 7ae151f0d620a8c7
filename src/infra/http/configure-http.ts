import type { IncomingMessage, ServerResponse } from 'node:http';
import type { INestApplication } from '@nestjs/common';
import { Logger } from 'nestjs-pino';
import type { ServerConfig } from '../config/server.config';
import type { ErrorCode, ErrorStatuses } from '../errors/app-error';
import { FrameworkLogger } from '../logging/framework-logger';
import { MetricsService } from '../metrics/metrics.service';
import { AllExceptionsFilter } from './all-exceptions.filter';
import { allowedMethodsOf } from './allowed-methods';
import { installBodyParsers } from './body-parsing';
import { assignRequestId } from './request-id';
import { createValidationPipe } from './validation';

/**
 * The HTTP behaviour every ODC listener shares: logging, metrics, body limits, validation, error
 * shape; `errors` is the registry its errors are answered by (src/app/error-registry.ts).
 */
export function configureHttp(
  app: INestApplication,
  config: ServerConfig,
  errors: Partial<ErrorStatuses<ErrorCode>>,
): void {
  app.useLogger(new FrameworkLogger(app.get(Logger)));
  app.use((req: IncomingMessage, res: ServerResponse, next: () => void) => {
    assignRequestId(req, res);
    next();
  });
  app.use(app.get(MetricsService).httpMiddleware());
  installBodyParsers(app, config.ODC_HTTP_BODY_LIMIT);
  app.useGlobalPipes(createValidationPipe());
  app.useGlobalFilters(new AllExceptionsFilter(errors, allowedMethodsOf(app)));
  const express = app.getHttpAdapter().getInstance() as {
    disable(setting: string): void;
    set(setting: string, value: unknown): void;
  };
  express.disable('x-powered-by');
  // The client IP (rate limits, audit) from X-Forwarded-For only through the proxies we run.
  express.set('trust proxy', config.ODC_TRUST_PROXY_HOPS);
}

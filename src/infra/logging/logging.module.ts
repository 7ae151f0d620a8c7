import { type DynamicModule, Module } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LoggerModule } from 'nestjs-pino';
import type { Logger } from 'pino';
import { assignRequestId } from '../http/request-id';
import { redactUrl } from './redaction';

/** Probes and scrapes: asked every few seconds by machines, worth a line only when debugging. */
const PROBE_PATHS = new Set(['/healthz', '/livez', '/readyz', '/metrics', '/api/v1/health']);

/** Set on a request whose line belongs at debug (see `markPolling`). */
const QUIET = Symbol('log quietly');

/**
 * Marks a request as another process's polling, so its line goes at debug: an app's middleware
 * does it (the deployer: every read is the coordinator's status, capacity or health round). A
 * mark, not an option of this module: nestjs-pino keeps one request logger per process, with the
 * first app's options, and a development start runs the core app and the deployer in one.
 */
export function markPolling(req: object): void {
  (req as { [QUIET]?: true })[QUIET] = true;
}

/** What the request logger reads off a request: the auth guard's principal, the matched route. */
type LoggedRequest = IncomingMessage & {
  id?: string | number;
  originalUrl?: string;
  route?: { path?: unknown };
  principal?: { username?: string };
  [QUIET]?: true;
};

function pathOf(req: LoggedRequest): string {
  return (req.originalUrl ?? req.url ?? '').split('?')[0] ?? '';
}

/** The route's pattern (`/api/v1/reservations/:id`) when one matched, else the path. */
function routeOf(req: LoggedRequest): string {
  return typeof req.route?.path === 'string' ? req.route.path : redactUrl(pathOf(req));
}

/** `GET /api/v1/me 200 3 ms alice req=…`: the whole request in one line, pretty or JSON. */
function requestLine(req: LoggedRequest, res: ServerResponse, ms: number): string {
  const user = req.principal?.username;
  return `${req.method} ${routeOf(req)} ${res.statusCode} ${ms} ms${user ? ` ${user}` : ''} req=${req.id}`;
}

/** Request logging (one line per request, with its id) on top of the process's root logger. */
@Module({})
export class LoggingModule {
  static forRoot(logger: Logger): DynamicModule {
    const quiet = (req: LoggedRequest) => PROBE_PATHS.has(pathOf(req)) || req[QUIET] === true;
    return {
      module: LoggingModule,
      imports: [
        LoggerModule.forRoot({
          pinoHttp: {
            logger,
            genReqId: assignRequestId,
            customLogLevel: (req, res, err) =>
              err || res.statusCode >= 500 ? 'error' : quiet(req as LoggedRequest) ? 'debug' : 'info',
            customSuccessMessage: (req, res, ms) => requestLine(req as LoggedRequest, res, ms),
            // pino-http passes the response time as a fourth argument its types leave out.
            customErrorMessage: ((req: LoggedRequest, res: ServerResponse, err: Error, ms: number) =>
              `${requestLine(req, res, ms)}: ${err.message}`) as (
              req: IncomingMessage,
              res: ServerResponse,
              err: Error,
            ) => string,
            customProps: (req) => {
              const user = (req as LoggedRequest).principal?.username;
              return user ? { user } : {};
            },
            serializers: {
              req: (req: { id: string; method: string; url: string }) => ({
                id: req.id,
                method: req.method,
                url: redactUrl(req.url),
              }),
              res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
            },
          },
        }),
      ],
    };
  }
}

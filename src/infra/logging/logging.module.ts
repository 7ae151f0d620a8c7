import { type DynamicModule, Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import type { Logger } from 'pino';
import { assignRequestId } from '../http/request-id';

const QUIET_PATHS = new Set(['/healthz', '/readyz', '/metrics', '/api/v1/health']);
/** Query parameters that carry a credential or a login's one-time values (OIDC code and state). */
const SECRET_QUERY_PARAMS = ['code', 'state', 'key', 'token', 'access_token', 'id_token'];

/** The URL as logged: those parameters' values replaced. */
export function loggedUrl(url: string): string {
  const query = url.indexOf('?');
  if (query < 0) {
    return url;
  }
  const params = new URLSearchParams(url.slice(query + 1));
  for (const name of SECRET_QUERY_PARAMS) {
    if (params.has(name)) {
      params.set(name, '[redacted]');
    }
  }
  return `${url.slice(0, query)}?${params.toString().replaceAll('%5Bredacted%5D', '[redacted]')}`;
}

/** Request logging (one line per request, with its id) on top of the process's root logger. */
@Module({})
export class LoggingModule {
  static forRoot(logger: Logger): DynamicModule {
    return {
      module: LoggingModule,
      imports: [
        LoggerModule.forRoot({
          pinoHttp: {
            logger,
            genReqId: assignRequestId,
            autoLogging: { ignore: (req) => QUIET_PATHS.has((req.url ?? '').split('?')[0]) },
            customLogLevel: (_req, res, err) => (err || res.statusCode >= 500 ? 'error' : 'info'),
            serializers: {
              req: (req: { id: string; method: string; url: string }) => ({
                id: req.id,
                method: req.method,
                url: loggedUrl(req.url),
              }),
              res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
            },
          },
        }),
      ],
    };
  }
}

import { Injectable } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { collectDefaultMetrics, Histogram, Registry } from 'prom-client';

/** Nest answers unknown routes from a catch-all route with this path. */
const NOT_FOUND_ROUTE = '{/*splat}';

function routeLabel(req: Request): string {
  const route = (req as { route?: unknown }).route;
  const path = typeof route === 'object' && route !== null && 'path' in route ? route.path : undefined;
  // Label by route template, never the raw URL: ids in paths would explode the series count.
  if (typeof path !== 'string' || path === NOT_FOUND_ROUTE) {
    return 'unmatched';
  }
  return `${req.baseUrl}${path}`;
}

/** Prometheus metrics of this process, in a registry of its own (so tests can build many apps). */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();

  private readonly httpDuration = new Histogram({
    name: 'odc_http_request_duration_seconds',
    help: 'HTTP request duration by method, route template and status code',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'odc_' });
  }

  /** Express middleware; installed first so even requests rejected by the body parser are counted. */
  httpMiddleware(): (req: Request, res: Response, next: NextFunction) => void {
    return (req, res, next) => {
      const stop = this.httpDuration.startTimer({ method: req.method });
      res.on('finish', () => stop({ route: routeLabel(req), status: String(res.statusCode) }));
      next();
    };
  }
}

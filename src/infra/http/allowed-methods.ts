import type { INestApplication } from '@nestjs/common';
import { METHODS } from 'node:http';

/** The parts of Express's router (the `router` package) read here: its layers, and a route's methods. */
interface RouterLayer {
  route?: { methods: Record<string, boolean | undefined> };
  match?(path: string): unknown;
}

/**
 * The methods the app routes for a path (HEAD with GET, as Express answers it), upper case and
 * sorted; empty when no route has that path. A request whose method is not among them gets 405
 * with these in `Allow` (RFC 9110), not a 404 that says the resource does not exist. Read from
 * Express's own router at request time, so it matches exactly as routing does. Routes for every
 * method (how Nest mounts middleware, `{/*splat}`) pass each request on and decide nothing.
 */
export function allowedMethodsOf(app: INestApplication): (path: string) => string[] {
  const express = app.getHttpAdapter().getInstance() as { router?: { stack?: RouterLayer[] } };
  return (path) => {
    const methods = new Set<string>();
    for (const layer of express.router?.stack ?? []) {
      const route = layer.route;
      if (!route || route.methods._all || typeof layer.match !== 'function' || !layer.match(path)) {
        continue;
      }
      const own = Object.keys(route.methods).filter((method) => route.methods[method]);
      if (METHODS.every((method) => own.includes(method.toLowerCase()))) {
        continue;
      }
      own.forEach((method) => methods.add(method.toUpperCase()));
    }
    if (methods.has('GET')) {
      methods.add('HEAD');
    }
    return [...methods].sort();
  };
}

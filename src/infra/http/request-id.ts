import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

const ACCEPTABLE = /^[A-Za-z0-9._:-]{1,128}$/;

type WithId = IncomingMessage & { id?: unknown };

/**
 * Keeps a caller's well-formed `X-Request-Id` (tracing through proxies), else mints one; idempotent,
 * so the first middleware and the request logger agree on one id.
 */
export function assignRequestId(req: IncomingMessage, res: ServerResponse): string {
  const existing = (req as WithId).id;
  if (typeof existing === 'string') {
    return existing;
  }
  const incoming = req.headers['x-request-id'];
  const id = typeof incoming === 'string' && ACCEPTABLE.test(incoming) ? incoming : randomUUID();
  (req as WithId).id = id;
  res.setHeader('x-request-id', id);
  return id;
}

export function requestIdOf(req: IncomingMessage): string {
  const id = (req as WithId).id;
  return typeof id === 'string' ? id : 'unknown';
}

import type { Request } from 'express';
import { requestIdOf } from '../infra/http/request-id';

/** Where an audited action came from: client IP (through trusted proxies), user agent, request id. */
export interface AuditContext {
  ip?: string | null;
  userAgent?: string | null;
  requestId?: string | null;
}

export function requestContext(request: Request): AuditContext {
  return {
    ip: request.ip ?? null,
    userAgent: request.headers['user-agent'] ?? null,
    requestId: requestIdOf(request),
  };
}

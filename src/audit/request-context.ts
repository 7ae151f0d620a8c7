import type { Request } from 'express';
import { requestIdOf } from '../infra/http/request-id';
import type { AuditRecord } from './audit.service';

/** Where an audited action came from: client IP (through trusted proxies), user agent, request id. */
export function requestContext(request: Request): Pick<AuditRecord, 'ip' | 'userAgent' | 'requestId'> {
  return {
    ip: request.ip ?? null,
    userAgent: request.headers['user-agent'] ?? null,
    requestId: requestIdOf(request),
  };
}

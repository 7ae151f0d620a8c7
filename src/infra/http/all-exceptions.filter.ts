import {
  ArgumentsHost,
  Catch,
  HttpException,
  Logger,
  NotFoundException,
  type ExceptionFilter,
} from '@nestjs/common';
import type { Request, Response } from 'express';
import {
  AppError,
  codeForStatus,
  COMMON_ERROR_STATUSES,
  CommonErrorCode,
  type ErrorCode,
  type ErrorStatuses,
} from '../errors/app-error';
import type { ErrorResponse } from './error-response';
import { requestIdOf } from './request-id';

interface Mapped {
  status: number;
  body: Omit<ErrorResponse, 'requestId'>;
}

function fromHttpException(exception: HttpException): Mapped {
  const status = exception.getStatus();
  const response = exception.getResponse();
  const code = codeForStatus(status);
  if (typeof response === 'string') {
    return { status, body: { code, message: response } };
  }
  const { message, ...rest } = response as { message?: unknown; [key: string]: unknown };
  const text = Array.isArray(message)
    ? message.join('; ')
    : typeof message === 'string'
      ? message
      : exception.message;
  const details = Object.fromEntries(
    Object.entries(rest).filter(([key]) => !['statusCode', 'error'].includes(key)),
  );
  return { status, body: { code, message: text, ...(Object.keys(details).length > 0 ? { details } : {}) } };
}

function fromAppError(error: AppError, status: number): Mapped {
  const { fields, ...details } = error.details ?? {};
  return {
    status,
    body: {
      code: error.code,
      message: error.message,
      ...(fields ? { fields } : {}),
      ...(Object.keys(details).length > 0 ? { details } : {}),
    },
  };
}

function methodNotAllowed(method: string): Mapped {
  const code = CommonErrorCode.MethodNotAllowed;
  return {
    status: COMMON_ERROR_STATUSES[code],
    body: { code, message: `${method} is not allowed on this path` },
  };
}

/**
 * The one place errors become HTTP responses: AppErrors by their code, framework errors by their
 * status, anything else as a logged 500 that reveals nothing but the request id. A request no
 * route took whose path exists with other methods is a 405 with `Allow` (`allowedMethods`, from
 * the router), not a 404.
 */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  private readonly logger = new Logger('HTTP');

  constructor(
    /** The application's error registry (src/app/error-registry.ts). */
    private readonly statuses: Partial<ErrorStatuses<ErrorCode>>,
    private readonly allowedMethods: (path: string) => string[] = () => [],
  ) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const req = http.getRequest<Request>();
    const res = http.getResponse<Response>();
    const requestId = requestIdOf(req);
    const allowed = exception instanceof NotFoundException ? this.allowedMethods(req.path) : [];
    const wrongMethod = allowed.length > 0 && !allowed.includes(req.method);
    const mapped = wrongMethod ? methodNotAllowed(req.method) : this.map(exception, requestId);
    if (res.headersSent) {
      return;
    }
    if (wrongMethod) {
      res.setHeader('Allow', allowed.join(', '));
    }
    res.status(mapped.status).json({ ...mapped.body, requestId });
  }

  private map(exception: unknown, requestId: string): Mapped {
    const registered = exception instanceof AppError ? this.statuses[exception.code] : undefined;
    if (exception instanceof AppError && registered !== undefined) {
      return fromAppError(exception, registered);
    }
    // The framework's own 4xx errors (unknown route, bad method…) are answers, not failures.
    if (exception instanceof HttpException && exception.getStatus() < 500) {
      return fromHttpException(exception);
    }
    // Anything else is a failure: logged with its stack, answered with nothing but the request id
    // (a deliberate 5xx HttpException keeps its status; an AppError whose code this application's
    // registry lacks is a bug, not an answer).
    this.logger.error({ err: exception, requestId }, 'unhandled error');
    const status = exception instanceof HttpException ? exception.getStatus() : 500;
    return {
      status,
      body: { code: codeForStatus(status), message: `Internal error; quote request id ${requestId}` },
    };
  }
}

import type { INestApplication } from '@nestjs/common';
import express, { type NextFunction, type Request, type Response } from 'express';
import { CommonErrorCode, COMMON_ERROR_STATUSES } from '../errors/app-error';
import { screenInput } from './input-screening';
import { requestIdOf } from './request-id';

const PARSER_ERRORS: Record<string, { code: CommonErrorCode; message: (limit: string) => string }> = {
  'entity.parse.failed': {
    code: CommonErrorCode.MalformedJson,
    message: () => 'Request body is not valid JSON',
  },
  'entity.too.large': {
    code: CommonErrorCode.PayloadTooLarge,
    message: (limit) => `Request body is larger than the limit of ${limit}`,
  },
  'encoding.unsupported': {
    code: CommonErrorCode.UnsupportedMediaType,
    message: () => 'Unsupported content encoding',
  },
  'charset.unsupported': { code: CommonErrorCode.UnsupportedMediaType, message: () => 'Unsupported charset' },
};

/**
 * Body parsing happens before Nest's router, so its failures never reach the exception filter;
 * this error middleware, right behind the parsers, gives them the same error shape. Parsed input
 * is screened (nesting depth, NUL characters) before anything transforms or stores it.
 */
export function installBodyParsers(app: INestApplication, limit: string): void {
  app.use(express.json({ limit }));
  app.use(express.urlencoded({ extended: false, limit }));
  app.use(screenInput);
  app.use((err: unknown, req: Request, res: Response, next: NextFunction) => {
    const type = (err as { type?: unknown }).type;
    const known = typeof type === 'string' ? PARSER_ERRORS[type] : undefined;
    if (!known) {
      next(err);
      return;
    }
    res
      .status(COMMON_ERROR_STATUSES[known.code])
      .json({ code: known.code, message: known.message(limit), requestId: requestIdOf(req) });
  });
}

import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';
import type { AppConfig } from '../config/env';

/** Headers and fields that may carry credentials; pino replaces them with "[redacted]". */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  '*.password',
  '*.token',
  '*.secret',
  '*.privateKey',
  '*.client_key',
];

/** One pino logger per process: JSON in production, pretty in development; every line says its roles. */
export function createRootLogger(config: AppConfig): Logger {
  const options: pino.LoggerOptions = {
    level: config.ODC_LOG_LEVEL,
    base: { pid: process.pid, roles: [...config.roles].join(',') },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  if (config.logFormat === 'pretty') {
    // The start-up lines already say their roles, version and listeners in the message.
    const ignore = 'pid,hostname,roles,odcVersion,nodeVersion,listeners,context';
    const messageFormat = '{if context}[{context}] {end}{msg}';
    return pino(options, pretty({ colorize: process.stdout.isTTY, ignore, messageFormat, sync: true }));
  }
  return pino(options);
}

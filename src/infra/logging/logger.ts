import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';
import type { LoggingConfig } from '../config/logging.config';
import { redactLogObject, redactText } from './redaction';

/** pino-http's request and response objects: their own serializers keep only what is safe. */
const SERIALIZED_KEYS = new Set(['req', 'res']);

/**
 * Every line through the one redaction list (src/infra/logging/redaction.ts): secret-named fields
 * (an SQL error's parameters included) before serialisation, secret shapes in the finished line
 * (messages, stacks, URLs). Production and tests log through the same options.
 */
export const REDACTING_OPTIONS: Pick<pino.LoggerOptions, 'formatters' | 'hooks'> = {
  formatters: {
    log: (object) =>
      Object.fromEntries(
        Object.entries(object).map(([name, value]) => [
          name,
          SERIALIZED_KEYS.has(name) ? value : redactLogObject(value),
        ]),
      ),
  },
  hooks: { streamWrite: redactText },
};

/** One pino logger per process: JSON in production, pretty in development; every line says its roles. */
export function createRootLogger(config: LoggingConfig & { readonly roles: ReadonlySet<string> }): Logger {
  const options: pino.LoggerOptions = {
    level: config.ODC_LOG_LEVEL,
    base: { pid: process.pid, roles: [...config.roles].join(',') },
    ...REDACTING_OPTIONS,
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  if (config.logFormat === 'pretty') {
    // The start-up lines already say their roles, version and listeners in the message, and a
    // request's line its method, route, status, time, user and id: one line each.
    const ignore = 'pid,hostname,roles,odcVersion,nodeVersion,listeners,context,req,res,responseTime,user';
    const messageFormat = '{if context}[{context}] {end}{msg}';
    return pino(options, pretty({ colorize: process.stdout.isTTY, ignore, messageFormat, sync: true }));
  }
  return pino(options);
}

import type { INestApplication, ModuleMetadata } from '@nestjs/common';
import pino, { type Logger } from 'pino';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import request from 'supertest';
import { startRuntime, type Runtime } from '../../src/app/runtime';
import { loadAppConfig, type AppConfig } from '../../src/app/config';
import { REDACTING_OPTIONS } from '../../src/infra/logging/logger';
import type { Clock } from '../../src/infra/time/clock';
import { createTestDatabase, type TestDatabase } from './database';
import { rememberLogs } from './log-audit';

/** Log lines written during a test, parsed, so tests can assert what was (and was not) logged. */
export class CapturedLogs {
  readonly lines: Record<string, unknown>[] = [];
  readonly stream = new Writable({
    write: (chunk: Buffer, _encoding, done) => {
      const text = chunk.toString('utf8');
      rememberLogs(text);
      for (const line of text.split('\n').filter(Boolean)) {
        this.lines.push(JSON.parse(line) as Record<string, unknown>);
      }
      done();
    },
  });
}

/**
 * The control plane's loops at test speed (status and health sync, admission), with the slow
 * cluster health round out of the way and no API rate limit in reach: what reservation tests run.
 */
export const FAST_CONTROL_PLANE_ENV: Readonly<Record<string, string>> = {
  ODC_STATUS_SYNC_INTERVAL_SECONDS: '0.2',
  ODC_HEALTH_SYNC_INTERVAL_SECONDS: '0.2',
  ODC_ADMISSION_INTERVAL_SECONDS: '0.5',
  ODC_CLUSTER_HEALTH_INTERVAL_SECONDS: '3600',
  ODC_RATE_LIMIT_API_PER_MINUTE: '60000',
};

export interface TestAppOptions {
  roles?: string;
  env?: Record<string, string>;
  imports?: ModuleMetadata['imports'];
  /** Reuse a database (e.g. two replicas of one deployment); default: a fresh migrated one. */
  database?: TestDatabase;
  /** The app's clock (a `ManualClock` the test steps); default the real time. */
  clock?: Clock;
}

export interface TestApp {
  runtime: Runtime;
  config: AppConfig;
  logs: CapturedLogs;
  logger: Logger;
  database: TestDatabase;
  /** supertest against the core app's HTTP server (coordinator or ops listener). */
  http(): ReturnType<typeof request>;
  core(): INestApplication;
  close(): Promise<void>;
}

export function testConfig(roles: string, env: Record<string, string> = {}): AppConfig {
  return loadAppConfig({
    NODE_ENV: 'test',
    ODC_ROLES: roles,
    ODC_HOST: '127.0.0.1',
    ODC_PORT: '0',
    ODC_DEPLOYER_PORT: '0',
    ODC_LOG_LEVEL: 'info',
    ODC_SHUTDOWN_TIMEOUT_SECONDS: '5',
    // Tests read what they just changed; the shared reads' reuse has a spec of its own.
    ODC_SHARED_READS_MAX_AGE_SECONDS: '0',
    ODC_QUEUE_POLL_INTERVAL_SECONDS: '0.5',
    ...env,
  });
}

/** Starts the real runtime for the given roles on a database of the test's own. */
export async function startTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const database = options.database ?? (await createTestDatabase());
  // A data folder of its own (a development start keeps its simulated cluster there), unless the
  // test shares one between starts.
  const ownDataDir = options.env?.ODC_DATA_DIR ? undefined : mkdtempSync(join(tmpdir(), 'odc-test-data-'));
  const config = testConfig(options.roles ?? 'coordinator,worker,cron', {
    ...(ownDataDir ? { ODC_DATA_DIR: ownDataDir } : {}),
    ...options.env,
  });
  const logs = new CapturedLogs();
  // The production logger's redaction, so tests see what production would write.
  const logger = pino(
    {
      level: config.ODC_LOG_LEVEL,
      base: { roles: config.ODC_ROLES },
      ...REDACTING_OPTIONS,
    },
    logs.stream,
  );
  const runtime = await startRuntime({
    config,
    logger,
    databaseUrl: database.url,
    imports: options.imports,
    clock: options.clock,
  });
  const core = () => {
    if (!runtime.core) {
      throw new Error('this runtime has no core app');
    }
    return runtime.core;
  };
  return {
    runtime,
    config,
    logs,
    logger,
    database,
    core,
    http: () => request(core().getHttpServer()),
    close: async () => {
      await runtime.close();
      if (ownDataDir) {
        rmSync(ownDataDir, { recursive: true, force: true });
      }
      if (!options.database) {
        await database.drop();
      }
    },
  };
}

/**
 * Starts an app whose first development start makes the admin, and reads the admin's key where
 * that start prints it: on the terminal, never in the log.
 */
export async function startWithFirstAdmin(
  options: TestAppOptions,
): Promise<{ app: TestApp; adminKey: string }> {
  const printed: string[] = [];
  const terminal = jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    printed.push(String(chunk));
    return true;
  });
  const app = await startTestApp(options).finally(() => terminal.mockRestore());
  const adminKey = /(odc_[a-z0-9]{12}_[A-Za-z0-9_-]{43})/.exec(printed.join(''))?.[1];
  if (!adminKey) {
    await app.close();
    throw new Error('the first start printed no admin key');
  }
  return { app, adminKey };
}

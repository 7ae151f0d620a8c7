import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { Pool } from 'undici';
import { join } from 'node:path';
import pino from 'pino';
import { startRuntime, type Runtime } from '../src/app/runtime';
import type { ApiKeyScope } from '../src/auth/api-keys/api-key.entity';
import { ApiKeysService } from '../src/auth/api-keys/api-keys.service';
import { UsersService } from '../src/auth/users/users.service';
import { EmbeddedPostgres } from '../src/infra/database/embedded-postgres';
import { loadAppConfig } from '../src/app/config';
import { AuthConfig } from '../src/auth/auth.config';

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export interface BenchDatabase {
  url: string;
  close(): Promise<void>;
}

/** DATABASE_URL when set, else a throwaway embedded server. */
export async function benchDatabase(): Promise<BenchDatabase> {
  const config = loadAppConfig();
  if (config.DATABASE_URL) {
    return { url: config.DATABASE_URL, close: async () => undefined };
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'odc-bench-'));
  chmodSync(dataDir, 0o755); // reachable by the postgres user, so the cluster lives (and is removed) in it
  const server = await EmbeddedPostgres.start({ dataDir });
  return {
    url: server.url,
    close: async () => {
      await server.stop('immediate');
      for (const dir of [dataDir, server.clusterDir]) {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

export function report(name: string, rows: Record<string, string | number>[]): void {
  console.log(`\n## ${name}`);
  console.table(rows);
}

export const fmt = (n: number, digits = 1) => Number(n.toFixed(digits));

export interface LoadResult {
  perSecond: number;
  p50: number;
  p99: number;
}

/** Runs `count` operations with `concurrency` in flight; throughput and latency percentiles. */
export async function runConcurrently(
  count: number,
  concurrency: number,
  operation: (i: number) => Promise<void>,
): Promise<LoadResult> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        const t0 = performance.now();
        await operation(i);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  return {
    perSecond: count / ((performance.now() - started) / 1000),
    p50: median(latencies),
    p99: percentile(latencies, 99),
  };
}

export interface HttpLoad {
  rps: number;
  p50: number;
  p99: number;
}

/** GET `path` from `concurrency` keep-alive connections for `durationMs`: throughput and latency. */
export async function httpLoad(
  origin: string,
  path: string,
  options: { concurrency: number; durationMs: number; headers?: Record<string, string> },
): Promise<HttpLoad> {
  const pool = new Pool(origin, { connections: options.concurrency });
  const latencies: number[] = [];
  const deadline = performance.now() + options.durationMs;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: options.concurrency }, async () => {
      while (performance.now() < deadline) {
        const t0 = performance.now();
        const res = await pool.request({ path, method: 'GET', headers: options.headers });
        await res.body.text();
        if (res.statusCode !== 200) {
          throw new Error(`${path}: status ${res.statusCode}`);
        }
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  await pool.close();
  return { rps: latencies.length / elapsed, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

/** The median of each figure over rounds. */
export function medianLoad(runs: HttpLoad[]): HttpLoad {
  return {
    rps: median(runs.map((r) => r.rps)),
    p50: median(runs.map((r) => r.p50)),
    p99: median(runs.map((r) => r.p99)),
  };
}

/** A coordinator on the bench database, on a free loopback port, logging warnings only. */
export function startBenchCoordinator(
  database: BenchDatabase,
  env: Record<string, string> = {},
): Promise<Runtime> {
  const config = loadAppConfig({
    NODE_ENV: 'production',
    DATABASE_URL: database.url,
    ODC_ROLES: 'coordinator',
    ODC_HOST: '127.0.0.1',
    ODC_PORT: '0',
    ODC_LOG_LEVEL: 'warn',
    ...env,
  });
  return startRuntime({ config, logger: pino({ level: 'warn' }) });
}

/** A client on the bench server as its admin user, for the length of `work` (CREATE and DROP DATABASE). */
export async function withAdmin<T>(url: string, work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** An API key for `username` (made if new), straight from the app's services. */
export function keyFor(
  core: Runtime,
  username: string,
  scopes: ApiKeyScope[],
  admin = false,
): Promise<string> {
  const app = core.core!;
  return issueKey(app.get(DataSource), app.get(AuthConfig), username, scopes, admin);
}

/**
 * The same, on a database the bench reaches itself (its app runs in another process): the app's
 * services on that connection, with the app's settings (the keys' lifetime).
 */
export async function issueKey(
  db: DataSource,
  config: AuthConfig,
  username: string,
  scopes: ApiKeyScope[],
  admin = false,
): Promise<string> {
  const user = await new UsersService(db).findOrCreateByUsername(username);
  if (admin) {
    await db.query(`UPDATE users SET role = 'admin' WHERE id = $1`, [user.id]);
  }
  return (await new ApiKeysService(db, config).issue(user.id, { name: 'bench', scopes, origin: 'api' })).key;
}

/** JSON calls to the API over one keep-alive pool, as the benches' clients make them. */
export interface BenchApi {
  request<T>(
    method: 'GET' | 'POST',
    path: string,
    key?: string,
    body?: object,
  ): Promise<{ status: number; body: T }>;
}

export function benchApi(pool: Pool): BenchApi {
  return {
    async request<T>(method: 'GET' | 'POST', path: string, key?: string, body?: object) {
      const res = await pool.request({
        method,
        path,
        headers: {
          ...(key ? { authorization: `Bearer ${key}` } : {}),
          ...(body ? { 'content-type': 'application/json' } : {}),
        },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      const text = await res.body.text();
      const json = String(res.headers['content-type'] ?? '').includes('json') && text !== '';
      return { status: res.statusCode, body: (json ? JSON.parse(text) : text) as T };
    },
  };
}

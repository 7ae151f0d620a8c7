import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { dataSourceOptions } from '../../src/app/entities';
import { withDatabase } from '../../src/infra/database/database-url';
import { EmbeddedPostgres } from '../../src/infra/database/embedded-postgres';
import { migrateExclusively } from '../../src/infra/database/migrate';
import { projectRoot } from '../../src/app/version';
import { startLogAudit } from './log-audit';
import { TEST_ENV, type SharedState } from './shared-state';

/**
 * The integration tier's setup: the database (below), and the compiled app that process-level
 * tests run exactly as `npm start` does.
 */
export default async function setup(): Promise<void> {
  await startTestDatabase();
  execFileSync('npm', ['run', 'build:fast', '--silent'], { cwd: projectRoot(), stdio: 'inherit' });
}

/** A test run's database need not survive a crash of the machine: no waiting for the disk. */
const NON_DURABLE = { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' };

/**
 * One PostgreSQL for the whole run: DATABASE_URL when set, else an embedded server in a temp
 * folder. A template database gets the migrations once; each test file clones it (fast). Each
 * tier's setup calls it; the first one starts it.
 */
export async function startTestDatabase(): Promise<void> {
  if ((globalThis as { odcTestState?: SharedState }).odcTestState) {
    return;
  }
  const started = Date.now();
  let embedded: EmbeddedPostgres | undefined;
  let adminUrl = process.env.DATABASE_URL;
  if (!adminUrl) {
    const dataDir = mkdtempSync(join(tmpdir(), 'odc-test-'));
    chmodSync(dataDir, 0o755); // reachable by the postgres user, so the cluster lives (and is removed) in it
    embedded = await EmbeddedPostgres.start({ dataDir, settings: NON_DURABLE });
    adminUrl = embedded.url;
  }
  const template = `odc_test_template_${process.pid}`;
  await recreateDatabase(adminUrl, template);
  const templateUrl = withDatabase(adminUrl, template);
  const dataSource = await new DataSource(
    dataSourceOptions({ url: templateUrl, poolSize: 2, applicationName: 'odc-test-setup' }),
  ).initialize();
  await migrateExclusively(dataSource);
  await dataSource.destroy();

  process.env[TEST_ENV.adminUrl] = adminUrl;
  process.env[TEST_ENV.template] = template;
  const logAuditDir = startLogAudit();
  process.env[TEST_ENV.logAuditDir] = logAuditDir;
  (globalThis as { odcTestState?: SharedState }).odcTestState = { embedded, adminUrl, template, logAuditDir };
  console.log(
    `\n[test setup] PostgreSQL ${embedded ? 'embedded' : 'from DATABASE_URL'} ready in ${Date.now() - started} ms`,
  );
}

async function recreateDatabase(adminUrl: string, name: string): Promise<void> {
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(name)} WITH (FORCE)`);
    await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`);
  } finally {
    await client.end();
  }
}

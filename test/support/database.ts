import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { withDatabase } from '../../src/infra/database/database-url';
import { TEST_ENV } from './shared-state';

function adminUrl(): string {
  const url = process.env[TEST_ENV.adminUrl];
  if (!url) {
    throw new Error('integration tests need the global setup (run them through jest)');
  }
  return url;
}

async function withAdmin<T>(work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: adminUrl() });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

/** A database of this test's own: migrated (cloned from the template) or, with `empty`, bare. */
export async function createTestDatabase(options: { empty?: boolean } = {}): Promise<TestDatabase> {
  const name = `odc_t_${randomBytes(6).toString('hex')}`;
  const template = process.env[TEST_ENV.template]!;
  await withAdmin((client) =>
    client.query(
      `CREATE DATABASE ${client.escapeIdentifier(name)}${options.empty ? '' : ` TEMPLATE ${client.escapeIdentifier(template)}`}`,
    ),
  );
  return {
    name,
    url: withDatabase(adminUrl(), name),
    drop: () =>
      withAdmin((client) =>
        client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(name)} WITH (FORCE)`),
      ).then(() => undefined),
  };
}

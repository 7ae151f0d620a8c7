import { DataSource } from 'typeorm';
import { dataSourceOptions } from '../../src/app/entities';
import { createTestDatabase, type TestDatabase } from './database';

export interface MediumDatabase {
  dataSource: DataSource;
  /** Closes the pool and drops the database. */
  close(): Promise<void>;
}

/**
 * A migrated database of this spec file's own and a pool on it: what a medium spec builds its
 * services on (rows from test/factories/).
 */
export async function mediumDatabase(options: { poolSize?: number } = {}): Promise<MediumDatabase> {
  const database: TestDatabase = await createTestDatabase();
  const dataSource = await new DataSource(
    dataSourceOptions({ url: database.url, poolSize: options.poolSize ?? 4, applicationName: 'odc:medium' }),
  ).initialize();
  return {
    dataSource,
    close: async () => {
      await dataSource.destroy();
      await database.drop();
    },
  };
}

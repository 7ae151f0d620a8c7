/**
 * The data source the TypeORM CLI loads (`npm run migration:*`, through scripts/db.ts, which
 * provides DATABASE_URL: the configured one or the embedded server's).
 */
import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { loadAppConfig } from './config';
import { dataSourceOptions } from './entities';

const config = loadAppConfig();
if (!config.DATABASE_URL) {
  throw new Error('DATABASE_URL is not set: run the TypeORM CLI through `npm run migration:*`');
}

export default new DataSource(
  dataSourceOptions({ url: config.DATABASE_URL, poolSize: 2, applicationName: 'odc:migrations-cli' }),
);

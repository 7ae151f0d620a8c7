import { join } from 'node:path';
import type { DataSourceOptions } from 'typeorm';
import { NotifyAfterCommit } from '../queue/notify-after-commit';

export interface DatabaseSettings {
  url: string;
  poolSize: number;
  applicationName: string;
}

/** Migrations live in `migrations/` at the root (TypeScript in tests, compiled JS under dist/). */
export const MIGRATIONS_GLOB = join(__dirname, '..', '..', '..', 'migrations', '*.{ts,js}');

/** `entities`: every entity of the application (src/app/entities.ts lists ODC's). */
export function typeOrmOptions(
  settings: DatabaseSettings,
  entities: NonNullable<DataSourceOptions['entities']>,
): DataSourceOptions {
  return {
    type: 'postgres',
    url: settings.url,
    entities,
    subscribers: [NotifyAfterCommit],
    migrations: [MIGRATIONS_GLOB],
    migrationsTableName: 'migrations',
    migrationsTransactionMode: 'each',
    synchronize: false,
    // gen_random_uuid() is built into PostgreSQL 13+; uuid-ossp would need an extension installed.
    uuidExtension: 'pgcrypto',
    logging: false,
    extra: { max: settings.poolSize, application_name: settings.applicationName },
  };
}

import { DataSource } from 'typeorm';
import type { AppConfig } from '../src/app/config';
import { dataSourceOptions } from '../src/app/entities';
import { EmbeddedPostgres } from '../src/infra/database/embedded-postgres';
import { migrateExclusively } from '../src/infra/database/migrate';

/**
 * An operator script's database: DATABASE_URL when set, else the embedded server under
 * ODC_DATA_DIR (the running app's when `npm start` runs), migrated, closed afterwards.
 */
export async function withScriptDatabase<T>(
  config: AppConfig,
  applicationName: string,
  work: (dataSource: DataSource) => Promise<T>,
): Promise<T> {
  const embedded = config.DATABASE_URL
    ? undefined
    : await EmbeddedPostgres.startOrBorrow({ dataDir: config.ODC_DATA_DIR });
  const dataSource = await new DataSource(
    dataSourceOptions({ url: config.DATABASE_URL ?? embedded!.url, poolSize: 2, applicationName }),
  ).initialize();
  try {
    await migrateExclusively(dataSource);
    return await work(dataSource);
  } finally {
    await dataSource.destroy();
    await embedded?.stop();
  }
}

/** Runs a script's main and exits with its code; an error is printed as its message only. */
export function runScript(main: () => Promise<number>): void {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(error instanceof Error ? error.message : error);
      process.exit(1);
    },
  );
}

import { type DynamicModule, Logger, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource, type DataSourceOptions } from 'typeorm';
import { typeOrmOptions, type DatabaseSettings } from './data-source-options';
import { migrateExclusively } from './migrate';

export interface DatabaseModuleOptions extends DatabaseSettings {
  runMigrations: boolean;
  /** Every entity of the application (src/app/entities.ts). */
  entities: NonNullable<DataSourceOptions['entities']>;
}

/** A failed migration is not retried: it would fail the same way, and the boot should say so now. */
class MigrationFailedError extends Error {
  constructor(cause: unknown) {
    super(`migrations failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'MigrationFailedError';
  }
}

/**
 * TypeORM on the resolved database URL. Migrations run inside the data source factory, so no
 * provider that needs the database is built before the schema is current. A database that is not
 * reachable yet (starting alongside us) gets a few retries; then the boot fails and says why.
 */
@Module({})
export class DatabaseModule {
  static forRoot(options: DatabaseModuleOptions): DynamicModule {
    const logger = new Logger('Database');
    return {
      module: DatabaseModule,
      global: true,
      imports: [
        TypeOrmModule.forRootAsync({
          useFactory: () => ({
            ...typeOrmOptions(options, options.entities),
            retryAttempts: 3,
            retryDelay: 2000,
            toRetry: (error: unknown) => !(error instanceof MigrationFailedError),
          }),
          dataSourceFactory: async (dsOptions) => {
            const dataSource = await new DataSource(dsOptions!).initialize();
            if (!options.runMigrations) {
              logger.log('migrations skipped (ODC_DB_SKIP_MIGRATIONS)');
              return dataSource;
            }
            try {
              const applied = await migrateExclusively(dataSource);
              logger.log(
                applied.length > 0 ? `applied migrations: ${applied.join(', ')}` : 'schema is current',
              );
              return dataSource;
            } catch (error) {
              await dataSource.destroy();
              throw new MigrationFailedError(error);
            }
          },
        }),
      ],
    };
  }
}

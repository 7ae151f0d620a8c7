import { type DynamicModule, Logger, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { dataSourceOptions, type DatabaseSettings } from './data-source-options';
import { migrateExclusively } from './migrate';

export interface DatabaseModuleOptions extends DatabaseSettings {
  runMigrations: boolean;
}

/**
 * TypeORM on the resolved database URL. Migrations run inside the data source factory, so no
 * provider that needs the database is built before the schema is current.
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
          useFactory: () => dataSourceOptions(options),
          dataSourceFactory: async (dsOptions) => {
            const dataSource = await new DataSource(dsOptions!).initialize();
            if (options.runMigrations) {
              const applied = await migrateExclusively(dataSource);
              logger.log(
                applied.length > 0 ? `applied migrations: ${applied.join(', ')}` : 'schema is current',
              );
            } else {
              logger.log('migrations skipped (ODC_DB_SKIP_MIGRATIONS)');
            }
            return dataSource;
          },
        }),
      ],
    };
  }
}

/**
 * `npm run migration:generate|create|run|revert -- [args]`: the TypeORM CLI against ODC's database,
 * DATABASE_URL when set, else the embedded server under ODC_DATA_DIR (started and stopped here).
 *   npm run migration:generate -- migrations/AddClusters   diff entities against the migrated schema
 *   npm run migration:create -- migrations/BackfillX       an empty migration to fill in by hand
 */
import 'reflect-metadata';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { projectRoot } from '../src/app/version';
import { loadAppConfig } from '../src/app/config';
import { dataSourceOptions } from '../src/app/entities';
import { EmbeddedPostgres } from '../src/infra/database/embedded-postgres';
import { migrateExclusively, revertLastExclusively } from '../src/infra/database/migrate';

const COMMANDS = [
  'migration:generate',
  'migration:create',
  'migration:run',
  'migration:revert',
  'migration:show',
];

async function main(): Promise<number> {
  const [command = '', ...args] = process.argv.slice(2);
  if (!COMMANDS.includes(command)) {
    console.error(`usage: npm run db -- <${COMMANDS.join('|')}> [args]`);
    return 2;
  }
  const root = projectRoot();
  const cli = join(root, 'node_modules/typeorm/cli.js');
  const config = loadAppConfig();
  const tsPath = (arg: string) => (arg.startsWith('-') ? arg : join(root, arg));
  if (command === 'migration:create') {
    return spawnSync(process.execPath, [cli, command, ...args.map(tsPath)], { stdio: 'inherit' }).status ?? 1;
  }

  const embedded = config.DATABASE_URL
    ? undefined
    : await EmbeddedPostgres.start({ dataDir: config.ODC_DATA_DIR });
  const url = config.DATABASE_URL ?? embedded!.url;
  try {
    if (command === 'migration:run' || command === 'migration:revert') {
      // In-process, under the same advisory lock replicas take at boot, so a migration Job and
      // booting replicas never change the schema at the same time.
      await withDataSource(url, async (dataSource) => {
        if (command === 'migration:run') {
          const applied = await migrateExclusively(dataSource);
          console.log(applied.length > 0 ? `applied: ${applied.join(', ')}` : 'schema is current');
        } else {
          await revertLastExclusively(dataSource);
          console.log('reverted the last migration');
        }
      });
      return 0;
    }
    if (command === 'migration:generate') {
      // Generate diffs entities against the schema: bring the schema up to date first.
      await withDataSource(url, migrateExclusively);
    }
    const dataSourceFile = join(root, 'dist/src/app/migrations-data-source.js');
    const result = spawnSync(
      process.execPath,
      [
        cli,
        command,
        '-d',
        dataSourceFile,
        ...(command === 'migration:generate' ? ['-p'] : []),
        ...args.map(tsPath),
      ],
      { stdio: 'inherit', env: { ...process.env, DATABASE_URL: url } },
    );
    return result.status ?? 1;
  } finally {
    await embedded?.stop();
  }
}

async function withDataSource(
  url: string,
  work: (dataSource: DataSource) => Promise<unknown>,
): Promise<void> {
  const dataSource = await new DataSource(
    dataSourceOptions({ url, poolSize: 2, applicationName: 'odc:migrations-cli' }),
  ).initialize();
  try {
    await work(dataSource);
  } finally {
    await dataSource.destroy();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);

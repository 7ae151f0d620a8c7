import { DataSource } from 'typeorm';
import { dataSourceOptions } from '../../../src/app/entities';
import { migrateExclusively, revertLastExclusively } from '../../../src/infra/database/migrate';
import { createTestDatabase, type TestDatabase } from '../../support/database';

const connect = (url: string, name: string) =>
  new DataSource(dataSourceOptions({ url, poolSize: 2, applicationName: name })).initialize();

describe('migrations', () => {
  let database: TestDatabase;
  let pools: DataSource[] = [];

  beforeEach(async () => {
    database = await createTestDatabase({ empty: true });
  });

  afterEach(async () => {
    await Promise.all(pools.map((pool) => pool.destroy()));
    pools = [];
    await database.drop();
  });

  it('agree with the entities: after migrating, TypeORM finds nothing to change', async () => {
    const pool = await connect(database.url, 'drift-check');
    pools = [pool];
    await migrateExclusively(pool);
    const pending = await pool.driver.createSchemaBuilder().log();
    expect(pending.upQueries.map((query) => query.query)).toEqual([]);
  });

  it('run once when replicas boot together', async () => {
    pools = await Promise.all(['a', 'b', 'c'].map((name) => connect(database.url, name)));
    const applied = await Promise.all(pools.map((pool) => migrateExclusively(pool)));
    const total = pools[0]!.migrations.length;
    expect(total).toBeGreaterThan(0);
    expect(applied.map((names) => names.length).sort()).toEqual([0, 0, total]);
    const [{ count }] = await pools[0]!.query<[{ count: number }]>(
      'SELECT count(*)::int AS count FROM migrations',
    );
    expect(count).toBe(total);
  });

  it('revert cleanly, all the way down and up again', async () => {
    const pool = await connect(database.url, 'revert');
    pools = [pool];
    await migrateExclusively(pool);
    for (let i = 0; i < pool.migrations.length; i += 1) {
      await revertLastExclusively(pool);
    }
    const tables = await pool.query<unknown[]>(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_name <> 'migrations'`,
    );
    expect(tables).toEqual([]);
    expect(await migrateExclusively(pool)).toHaveLength(pool.migrations.length);
  });
});

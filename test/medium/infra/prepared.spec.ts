import { DataSource, QueryFailedError } from 'typeorm';
import { isUniqueViolation } from '../../../src/infra/database/database-errors';
import { queryPrepared, sqlTextList, statementName } from '../../../src/infra/database/prepared';
import { mediumDatabase, type MediumDatabase } from '../../support/medium';

/** Named prepared statements (queryPrepared) on TypeORM's connections. */
describe('prepared statements', () => {
  let database: MediumDatabase;
  let dataSource: DataSource;

  beforeAll(async () => {
    database = await mediumDatabase({ poolSize: 2 });
    dataSource = database.dataSource;
    await dataSource.query('CREATE TABLE prepared_probe (id int PRIMARY KEY, label text)');
  });

  afterAll(async () => {
    await database.close();
  });

  const insert = 'INSERT INTO prepared_probe (id, label) VALUES ($1, $2) RETURNING id, label';

  it('runs one text with other values, in a transaction and outside one, each connection preparing it once', async () => {
    await dataSource.transaction(async (tx) => {
      expect(await queryPrepared(tx, insert, [1, 'a'])).toEqual([{ id: 1, label: 'a' }]);
      expect(await queryPrepared(tx, insert, [2, 'b'])).toEqual([{ id: 2, label: 'b' }]);
      const [{ prepared }] = await tx.query<[{ prepared: number }]>(
        'SELECT count(*)::int AS prepared FROM pg_prepared_statements WHERE name = $1',
        [statementName(insert)],
      );
      expect(prepared).toBe(1);
    });
    for (let id = 3; id < 7; id += 1) {
      await queryPrepared(dataSource.manager, insert, [id, 'outside']);
    }
    const [{ rows }] = await dataSource.query<[{ rows: number }]>(
      'SELECT count(*)::int AS rows FROM prepared_probe',
    );
    expect(rows).toBe(6);
  });

  it('fails as TypeORM’s queries do, and rolls its transaction back', async () => {
    const failure = await dataSource
      .transaction(async (tx) => {
        await queryPrepared(tx, insert, [10, 'kept?']);
        await queryPrepared(tx, insert, [1, 'again']);
      })
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(QueryFailedError);
    expect(isUniqueViolation(failure)).toBe(true);
    expect(await dataSource.query('SELECT id FROM prepared_probe WHERE id = 10')).toEqual([]);
  });

  it('keeps working after the table it reads changes (PostgreSQL plans it again)', async () => {
    const select = 'SELECT label FROM prepared_probe WHERE id = $1';
    expect(await queryPrepared(dataSource.manager, select, [1])).toEqual([{ label: 'a' }]);
    await dataSource.query('ALTER TABLE prepared_probe ADD COLUMN extra int');
    await dataSource.query('CREATE INDEX prepared_probe_label ON prepared_probe (label)');
    expect(await queryPrepared(dataSource.manager, select, [1])).toEqual([{ label: 'a' }]);
  });

  it('writes code constants into a statement as SQL literals', () => {
    expect(sqlTextList(['queued', "it's"])).toBe(`'queued', 'it''s'`);
  });
});

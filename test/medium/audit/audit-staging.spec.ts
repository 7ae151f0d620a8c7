import { randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import { AuditService } from '../../../src/audit/audit.service';
import { loadAppConfig } from '../../../src/app/config';
import { mediumDatabase, type MediumDatabase } from '../../support/medium';

/**
 * Audit records staged in the transaction of the action they record (AuditService.stage): they
 * commit with it or not at all, and reach the hash chain in the next group of any writer.
 */
describe('audit records staged with their action', () => {
  let database: MediumDatabase;
  let dataSource: DataSource;
  const config = loadAppConfig({ NODE_ENV: 'test', ODC_AUDIT_KEY: randomBytes(32).toString('base64') });
  /** Two replicas' writers over one database. */
  let audit: AuditService;
  let other: AuditService;

  beforeAll(async () => {
    database = await mediumDatabase({ poolSize: 6 });
    dataSource = database.dataSource;
    audit = new AuditService(dataSource, config);
    other = new AuditService(dataSource, config);
  });

  afterAll(async () => {
    await database.close();
  });

  beforeEach(() => dataSource.query('TRUNCATE audit_log, audit_outbox, audit_checkpoints'));

  const chained = async () =>
    (await dataSource.query<{ action: string }[]>('SELECT action FROM audit_log ORDER BY id')).map(
      (row) => row.action,
    );
  const staged = async () =>
    Number((await dataSource.query<{ n: string }[]>('SELECT count(*) AS n FROM audit_outbox'))[0]!.n);

  it('commits a record with its action or not at all, and chains it when asked', async () => {
    await expect(
      dataSource.transaction(async (tx) => {
        await audit.stage(tx, { action: 'thing.lost', outcome: 'success' });
        throw new Error('the action failed');
      }),
    ).rejects.toThrow('the action failed');
    await dataSource.transaction((tx) =>
      audit.stage(tx, {
        action: 'thing.kept',
        outcome: 'success',
        username: 'alice',
        resourceType: 'thing',
        resourceId: 't-1',
        ip: '10.0.0.1',
        requestMetadata: { size: 2 },
      }),
    );
    expect(await staged()).toBe(1);
    expect(await chained()).toEqual([]);

    await audit.chainStaged();
    expect(await staged()).toBe(0);
    const [row] = await dataSource.query<Record<string, unknown>[]>('SELECT * FROM audit_log');
    expect(row).toMatchObject({
      action: 'thing.kept',
      username: 'alice',
      resource_type: 'thing',
      resource_id: 't-1',
      ip: '10.0.0.1',
      request_metadata: { size: 2 },
    });
    expect(await audit.verifyChain()).toMatchObject({ ok: true, checked: 1 });
  });

  it('chains what a stopped writer staged with any writer’s next group, oldest first', async () => {
    for (const action of ['a.1', 'a.2', 'a.3']) {
      await dataSource.transaction((tx) => audit.stage(tx, { action, outcome: 'success' }));
    }
    // `audit` never asks for a group (its process "stopped"); the other replica appends.
    await other.record({ action: 'b.1', outcome: 'success' });
    expect(await chained()).toEqual(['a.1', 'a.2', 'a.3', 'b.1']);
    expect(await staged()).toBe(0);
    expect(await other.verifyChain()).toMatchObject({ ok: true, checked: 4 });
  });

  it('shows readers of the log what is staged, and checkpoints cover it', async () => {
    await dataSource.transaction((tx) => audit.stage(tx, { action: 'c.1', outcome: 'success' }));
    const page = await other.list({});
    expect(page.items.map((item) => item.action)).toEqual(['c.1']);
    await dataSource.transaction((tx) => audit.stage(tx, { action: 'c.2', outcome: 'success' }));
    expect(await other.checkpoint()).toMatchObject({ rows: 2 });
  });

  it('chains more than a group holds, in the order staged, however many writers stage and append at once', async () => {
    await dataSource.transaction(async (tx) => {
      for (let i = 0; i < 300; i += 1) {
        await audit.stage(tx, { action: `bulk.${i}`, outcome: 'success' });
      }
    });
    const writers = Array.from({ length: 40 }, (_, i) =>
      i % 2 === 0
        ? dataSource
            .transaction((tx) =>
              (i % 4 === 0 ? audit : other).stage(tx, { action: `w.${i}`, outcome: 'success' }),
            )
            .then(() => (i % 4 === 0 ? audit : other).chainStaged())
        : (i % 3 === 0 ? audit : other)
            .record({ action: `w.${i}`, outcome: 'success' })
            .then(() => undefined),
    );
    await Promise.all([...writers, audit.chainStaged()]);
    await other.chainStaged();
    const actions = await chained();
    expect(actions).toHaveLength(340);
    const bulk = actions.filter((action) => action.startsWith('bulk.'));
    expect(bulk).toEqual(Array.from({ length: 300 }, (_, i) => `bulk.${i}`));
    expect(await staged()).toBe(0);
    expect(await audit.verifyChain()).toMatchObject({ ok: true, checked: 340 });
  });
});

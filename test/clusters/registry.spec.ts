import { SchedulerRegistry } from '@nestjs/schedule';
import { DataSource } from 'typeorm';
import { ClusterRegistry, type RegistryChange } from '../../src/clusters/registry/cluster-registry';
import { dataSourceOptions } from '../../src/app/entities';
import { testConfig } from '../support/app';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { ManualClock } from '../support/manual-clock';

const POLL_MS = 1000;

/**
 * Two replicas = two registries, each on its own pool and LISTEN connection, on one database. Their
 * polls run on a clock that stands still until a test steps it: what arrives meanwhile came by
 * NOTIFY (or a reconnect's reload).
 */
describe('cluster registry: every replica sees a change through LISTEN/NOTIFY, polling as the fallback', () => {
  let database: TestDatabase;
  let pools: DataSource[];
  let replicas: ClusterRegistry[];
  const clock = new ManualClock();

  beforeAll(async () => {
    database = await createTestDatabase();
    const config = testConfig('coordinator', { ODC_REGISTRY_POLL_SECONDS: String(POLL_MS / 1000) });
    pools = await Promise.all(
      ['a', 'b'].map((name) =>
        new DataSource(
          dataSourceOptions({ url: database.url, poolSize: 2, applicationName: `replica-${name}` }),
        ).initialize(),
      ),
    );
    replicas = pools.map((pool) => new ClusterRegistry(pool, config, new SchedulerRegistry(), clock));
    await Promise.all(replicas.map((replica) => replica.onApplicationBootstrap()));
  });

  afterAll(async () => {
    await Promise.all(replicas.map((replica) => replica.onModuleDestroy()));
    await Promise.all(pools.map((pool) => pool.destroy()));
    await database.drop();
  });

  const nextChange = (replica: ClusterRegistry, id?: string) =>
    new Promise<RegistryChange>((resolve) => {
      const stop = replica.onChange((change) => {
        if (!id || change.id === id) {
          stop();
          resolve(change);
        }
      });
    });

  it('an insert, an update and a delete through one replica reach the other by NOTIFY, no poll run', async () => {
    const seen = nextChange(replicas[1]!);
    const [{ id }] = await pools[0]!.query<[{ id: string }]>(
      `INSERT INTO clusters (name, deployer_url) VALUES ('east', 'http://127.0.0.1:1') RETURNING id`,
    );
    expect(await seen).toEqual({ id, kind: 'upserted', connectionChanged: true });
    expect(replicas[1]!.get(id)?.name).toBe('east');

    const drained = nextChange(replicas[1]!, id);
    await pools[0]!.query(`UPDATE clusters SET draining = true WHERE id = $1`, [id]);
    expect(await drained).toEqual({ id, kind: 'upserted', connectionChanged: false });
    expect(replicas[1]!.get(id)?.draining).toBe(true);

    const moved = nextChange(replicas[1]!, id);
    await pools[0]!.query(`UPDATE clusters SET deployer_url = 'http://127.0.0.1:2' WHERE id = $1`, [id]);
    expect(await moved).toMatchObject({ connectionChanged: true });

    const removed = nextChange(replicas[1]!, id);
    await pools[0]!.query(`DELETE FROM clusters WHERE id = $1`, [id]);
    expect(await removed).toEqual({ id, kind: 'removed', connectionChanged: true });
    expect(replicas[1]!.get(id)).toBeUndefined();
  });

  it('a change that sends no notification is caught by the next poll', async () => {
    const known = nextChange(replicas[1]!);
    const [{ id }] = await pools[0]!.query<[{ id: string }]>(
      `INSERT INTO clusters (name, deployer_url) VALUES ('north', 'http://127.0.0.1:4') RETURNING id`,
    );
    await known;
    // The NOTIFY trigger off within this one transaction (the table's owner may do that, no superuser
    // needed): the row changes and nobody is told, as if the notification were lost.
    await pools[0]!.transaction(async (tx) => {
      await tx.query(`ALTER TABLE clusters DISABLE TRIGGER clusters_notify`);
      await tx.query(`UPDATE clusters SET priority = 7 WHERE id = $1`, [id]);
      await tx.query(`ALTER TABLE clusters ENABLE TRIGGER clusters_notify`);
    });
    // A notified change of another cluster, committed after it: once the replica has applied that
    // one, it has heard everything sent before, and the silent change is still unseen.
    const marker = nextChange(replicas[1]!);
    await pools[0]!.query(
      `INSERT INTO clusters (name, deployer_url) VALUES ('marker', 'http://127.0.0.1:5')`,
    );
    await marker;
    expect(replicas[1]!.get(id)?.priority).not.toBe(7);

    await clock.advance(POLL_MS); // each replica's poll runs, and is waited for
    expect(replicas[1]!.get(id)?.priority).toBe(7);
  });

  it('with its LISTEN connection killed, a replica reconnects and catches up', async () => {
    await pools[0]!.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'odc:registry-listener'`,
    );
    const seen = nextChange(replicas[1]!);
    await pools[0]!.query(`INSERT INTO clusters (name, deployer_url) VALUES ('west', 'http://127.0.0.1:3')`);
    expect((await seen).kind).toBe('upserted');
    expect(replicas[1]!.all().map((cluster) => cluster.name)).toContain('west');
  });

  it('two changes within one millisecond are both applied (content compared, not updated_at)', async () => {
    const [{ id }] = await pools[0]!.query<[{ id: string }]>(`SELECT id FROM clusters WHERE name = 'west'`);
    for (let round = 0; round < 50; round += 1) {
      await pools[0]!.query(`UPDATE clusters SET priority = $2 WHERE id = $1`, [id, 1000 + round]);
      await replicas[0]!.reloadOne(id);
      await pools[0]!.query(`UPDATE clusters SET priority = $2 WHERE id = $1`, [id, 2000 + round]);
      await replicas[0]!.reloadOne(id);
      expect(replicas[0]!.get(id)?.priority).toBe(2000 + round);
    }
  });
});

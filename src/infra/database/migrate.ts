import type { DataSource } from 'typeorm';
import { LOCK_NAMESPACE, MIGRATIONS_LOCK_ID } from './advisory-locks';

/**
 * Runs schema work while holding a session advisory lock, so replicas booting together (and a
 * migration Job running beside them) change the schema one at a time.
 */
async function withMigrationLock<T>(dataSource: DataSource, work: () => Promise<T>): Promise<T> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await runner.query('SELECT pg_advisory_lock($1, $2)', [LOCK_NAMESPACE.system, MIGRATIONS_LOCK_ID]);
    try {
      return await work();
    } finally {
      await runner.query('SELECT pg_advisory_unlock($1, $2)', [LOCK_NAMESPACE.system, MIGRATIONS_LOCK_ID]);
    }
  } finally {
    await runner.release();
  }
}

/** Applies pending migrations; replicas that waited for the lock find nothing left to do. */
export async function migrateExclusively(dataSource: DataSource): Promise<string[]> {
  return withMigrationLock(dataSource, async () => {
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    return applied.map((migration) => migration.name);
  });
}

/** Reverts the most recent migration. */
export async function revertLastExclusively(dataSource: DataSource): Promise<void> {
  await withMigrationLock(dataSource, () => dataSource.undoLastMigration({ transaction: 'each' }));
}

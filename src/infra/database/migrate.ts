import type { DataSource } from 'typeorm';
import { LOCK_NAMESPACE, MIGRATIONS_LOCK_ID } from './advisory-locks';

/**
 * Runs pending migrations while holding a session advisory lock, so replicas booting together
 * apply each migration once: the others wait, then find nothing left to do.
 */
export async function migrateExclusively(dataSource: DataSource): Promise<string[]> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await runner.query('SELECT pg_advisory_lock($1, $2)', [LOCK_NAMESPACE.system, MIGRATIONS_LOCK_ID]);
    try {
      const applied = await dataSource.runMigrations({ transaction: 'each' });
      return applied.map((migration) => migration.name);
    } finally {
      await runner.query('SELECT pg_advisory_unlock($1, $2)', [LOCK_NAMESPACE.system, MIGRATIONS_LOCK_ID]);
    }
  } finally {
    await runner.release();
  }
}

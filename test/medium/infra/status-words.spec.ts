import { DataSource } from 'typeorm';
import { dataSourceOptions } from '../../../src/app/entities';
import { migrateExclusively, revertLastExclusively } from '../../../src/infra/database/migrate';
import type { ReservationStatus } from '../../../src/reservations/reservation.entity';
import type { SnapshotReason } from '../../../src/storage/snapshots/snapshot.entity';
import { aDisk, aReservation, aSnapshot } from '../../factories';
import { createTestDatabase, type TestDatabase } from '../../support/database';

/** The words before migrations/1795630000000-EndingStatus.ts and 1795640000000-SnapshotEndReasons.ts. */
const FORMER_ENDING = 'expiring' as ReservationStatus;
const FORMER_END_REASON = 'expiry' as SnapshotReason;

describe('the migrations that renamed status words', () => {
  let database: TestDatabase;
  let db: DataSource;

  beforeAll(async () => {
    database = await createTestDatabase({ empty: true });
    db = await new DataSource(
      dataSourceOptions({ url: database.url, poolSize: 2, applicationName: 'status-words' }),
    ).initialize();
    await migrateExclusively(db);
    while (await applied('EndingStatus1795630000000')) {
      await revertLastExclusively(db);
    }
  });

  afterAll(async () => {
    await db.destroy();
    await database.drop();
  });

  async function applied(name: string): Promise<boolean> {
    const rows = await db.query<unknown[]>('SELECT 1 FROM migrations WHERE name = $1', [name]);
    return rows.length > 0;
  }

  it('carry rows written with the former words over: `ending`, and snapshots that say how their reservation ended', async () => {
    const ending = await aReservation(db, { status: FORMER_ENDING, endingAs: 'cancelled' });
    await db.query(
      `INSERT INTO reservation_events (reservation_id, from_status, to_status, message)
       VALUES ($1, 'active', 'expiring', 'Ending (cancelled): cancelled by alice')`,
      [ending.id],
    );
    const cancelled = await aReservation(db, { status: 'cancelled' });
    const failed = await aReservation(db, { status: 'failed' });
    const disk = await aDisk(db, { volumeId: 'vol-1' });
    const atCancel = await aSnapshot(db, disk, { reason: FORMER_END_REASON, reservationId: cancelled.id });
    const atFailure = await aSnapshot(db, disk, { reason: FORMER_END_REASON, reservationId: failed.id });
    const manual = await aSnapshot(db, disk);

    await migrateExclusively(db);

    const [reservation] = await db.query<{ status: string }[]>(
      'SELECT status FROM reservations WHERE id = $1',
      [ending.id],
    );
    expect(reservation!.status).toBe('ending');
    const events = await db.query<{ from_status: string; to_status: string }[]>(
      'SELECT from_status, to_status FROM reservation_events WHERE reservation_id = $1',
      [ending.id],
    );
    expect(events).toEqual([{ from_status: 'active', to_status: 'ending' }]);
    const reasons = await db.query<{ id: string; reason: string }[]>('SELECT id, reason FROM snapshots');
    expect(new Map(reasons.map((row) => [row.id, row.reason]))).toEqual(
      new Map([
        [atCancel.id, 'cancelled'],
        [atFailure.id, 'failed'],
        [manual.id, 'manual'],
      ]),
    );
  });
});

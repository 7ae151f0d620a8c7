import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A disk's snapshot at the end of a reservation says how that reservation ended (`expired`,
 * `cancelled`, `failed`) instead of `expiry`, which a cancelled one's read as if it had run out of
 * time. One per reservation and disk, as before: those are the snapshots that name a reservation.
 * A snapshot whose reservation is gone (its owner deleted) says `expired`.
 */
export class SnapshotEndReasons1795640000000 implements MigrationInterface {
  name = 'SnapshotEndReasons1795640000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
            DROP INDEX "public"."UQ_snapshots_disk_reservation"
        `);
    await queryRunner.query(`
            UPDATE "snapshots" s SET "reason" = r."status"
            FROM "reservations" r
            WHERE s."reason" = 'expiry' AND r.id = s."reservation_id"
              AND r."status" IN ('expired', 'cancelled', 'failed')
        `);
    await queryRunner.query(`
            UPDATE "snapshots" SET "reason" = 'expired' WHERE "reason" = 'expiry'
        `);
    await queryRunner.query(`
            CREATE UNIQUE INDEX "UQ_snapshots_disk_reservation" ON "snapshots" ("disk_id", "reservation_id")
            WHERE "reservation_id" IS NOT NULL
        `);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
            DROP INDEX "public"."UQ_snapshots_disk_reservation"
        `);
    await queryRunner.query(`
            UPDATE "snapshots" SET "reason" = 'expiry' WHERE "reason" IN ('expired', 'cancelled', 'failed')
        `);
    await queryRunner.query(`
            CREATE UNIQUE INDEX "UQ_snapshots_disk_reservation" ON "snapshots" ("disk_id", "reservation_id")
            WHERE "reason" = 'expiry'
        `);
  }
}

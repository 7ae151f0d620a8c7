import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A reservation's name means one thing: it is unique among its owner's reservations that are
 * neither over nor ending, so the API and the CLI can take it wherever they take an id. Names
 * that repeat among those today keep the oldest; the others get their id's first characters.
 */
export class LiveReservationNames1795620000000 implements MigrationInterface {
  name = 'LiveReservationNames1795620000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
            UPDATE "reservations" r SET "name" = left(r."name", 54) || '-' || left(r.id::text, 8)
            FROM (SELECT id, row_number() OVER (PARTITION BY owner_id, name ORDER BY created_at, id) AS n
                  FROM "reservations"
                  WHERE "name" IS NOT NULL AND "status" IN ('queued', 'placing', 'provisioning', 'active')) d
            WHERE r.id = d.id AND d.n > 1
        `);
    await queryRunner.query(`
            CREATE UNIQUE INDEX "UQ_reservations_live_name" ON "reservations" ("owner_id", "name")
            WHERE "name" IS NOT NULL AND "status" IN ('queued', 'placing', 'provisioning', 'active')
        `);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
            DROP INDEX "public"."UQ_reservations_live_name"
        `);
  }
}

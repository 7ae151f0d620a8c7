import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * For reads at scale, queue standings are stored (each admission pass writes every queued
 * reservation's place in its type's queue and its expected start, so reads show them without
 * planning), and an admin's list of everyone's reservations, newest first, reads an index instead
 * of sorting the table.
 */
export class QueueStandings1795600000000 implements MigrationInterface {
  name = 'QueueStandings1795600000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
            ALTER TABLE "reservations" ADD "queue_position" integer
        `);
    await queryRunner.query(`
            ALTER TABLE "reservations" ADD "estimated_start" TIMESTAMP WITH TIME ZONE
        `);
    // Until the first pass after the upgrade: the queue in the order it was made.
    await queryRunner.query(`
            UPDATE "reservations" r SET "queue_position" = s.position
            FROM (SELECT id, row_number() OVER (PARTITION BY gpu_type ORDER BY priority DESC, created_at, id) AS position
                  FROM "reservations" WHERE "status" = 'queued') s
            WHERE r.id = s.id
        `);
    await queryRunner.query(`
            CREATE INDEX "IDX_reservations_queue_position" ON "reservations" ("gpu_type", "queue_position")
            WHERE "status" = 'queued'
        `);
    await queryRunner.query(`
            CREATE INDEX "IDX_reservations_created" ON "reservations" ("created_at", "id")
        `);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
            DROP INDEX "public"."IDX_reservations_created"
        `);
    await queryRunner.query(`
            DROP INDEX "public"."IDX_reservations_queue_position"
        `);
    await queryRunner.query(`
            ALTER TABLE "reservations" DROP COLUMN "estimated_start"
        `);
    await queryRunner.query(`
            ALTER TABLE "reservations" DROP COLUMN "queue_position"
        `);
  }
}

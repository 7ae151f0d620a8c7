import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Queue standings are stored (issue 21): each admission pass writes every queued reservation's
 * place in its type's queue and its expected start, so reads show them without planning.
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
    await queryRunner.query(`
            CREATE INDEX "IDX_reservations_queue_position" ON "reservations" ("gpu_type", "queue_position")
            WHERE "status" = 'queued'
        `);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
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

import type { MigrationInterface, QueryRunner } from 'typeorm';

export class ScheduledTasks1795415586310 implements MigrationInterface {
  name = 'ScheduledTasks1795415586310';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "scheduled_tasks" ("name" text NOT NULL, "last_started_at" TIMESTAMP WITH TIME ZONE NOT NULL, "last_finished_at" TIMESTAMP WITH TIME ZONE, "last_outcome" text NOT NULL, "last_error" text, "last_instance" text NOT NULL, "run_count" bigint NOT NULL DEFAULT '0', CONSTRAINT "PK_scheduled_tasks" PRIMARY KEY ("name"))`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "scheduled_tasks"`);
  }
}

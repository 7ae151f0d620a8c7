import { MigrationInterface, QueryRunner } from 'typeorm';

export class CapacityLabels1795550000000 implements MigrationInterface {
  name = 'CapacityLabels1795550000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
            ALTER TABLE "capacity"
            ADD "labels" jsonb NOT NULL DEFAULT '{}'
        `);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
            ALTER TABLE "capacity" DROP COLUMN "labels"
        `);
  }
}

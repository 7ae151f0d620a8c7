import { MigrationInterface, QueryRunner } from 'typeorm';

export class ReservationClusterSetNull1795560000000 implements MigrationInterface {
  name = 'ReservationClusterSetNull1795560000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
            ALTER TABLE "reservations" DROP CONSTRAINT "FK_reservations_cluster"
        `);
    await queryRunner.query(`
            ALTER TABLE "reservations"
            ADD CONSTRAINT "FK_reservations_cluster" FOREIGN KEY ("cluster_id") REFERENCES "clusters"("id") ON DELETE
            SET NULL ON UPDATE NO ACTION
        `);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
            ALTER TABLE "reservations" DROP CONSTRAINT "FK_reservations_cluster"
        `);
    await queryRunner.query(`
            ALTER TABLE "reservations"
            ADD CONSTRAINT "FK_reservations_cluster" FOREIGN KEY ("cluster_id") REFERENCES "clusters"("id") ON DELETE RESTRICT ON UPDATE NO ACTION
        `);
  }
}

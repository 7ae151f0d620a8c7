import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The status of a reservation whose objects are being deleted, GPUs still held, is `ending` (it
 * was `expiring`, which read as if it had run out of time when it had been cancelled or had
 * failed; `ending_as` says which). Its rows, their timelines and the index of GPU-holding
 * reservations by node say it the new way.
 */
export class EndingStatus1795630000000 implements MigrationInterface {
  name = 'EndingStatus1795630000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await this.rename(queryRunner, 'expiring', 'ending');
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await this.rename(queryRunner, 'ending', 'expiring');
  }

  private async rename(queryRunner: QueryRunner, from: string, to: string): Promise<void> {
    await queryRunner.query(`
            DROP INDEX "public"."IDX_reservations_node"
        `);
    await queryRunner.query(`UPDATE "reservations" SET "status" = $2 WHERE "status" = $1`, [from, to]);
    await queryRunner.query(`UPDATE "reservation_events" SET "from_status" = $2 WHERE "from_status" = $1`, [
      from,
      to,
    ]);
    await queryRunner.query(`UPDATE "reservation_events" SET "to_status" = $2 WHERE "to_status" = $1`, [
      from,
      to,
    ]);
    await queryRunner.query(`
            CREATE INDEX "IDX_reservations_node" ON "reservations" ("cluster_id", "node_name")
            WHERE "status" IN ('placing', 'provisioning', 'active', '${to}')
        `);
  }
}

import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The audit chain becomes keyed, so that whoever can write the database without holding the audit
 * key can neither rewrite it nor cut rows off its end unnoticed: new rows name the audit key their
 * HMAC is under (earlier rows keep their plain SHA-256 and no key id), and signed checkpoints of
 * the chain's head are kept apart from the rows they cover.
 */
export class AuditKeyedChain1795590000000 implements MigrationInterface {
  name = 'AuditKeyedChain1795590000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
            ALTER TABLE "audit_log" ADD "key_id" character varying(16)
        `);
    await queryRunner.query(`
            CREATE TABLE "audit_checkpoints" (
                "id" BIGSERIAL NOT NULL,
                "rows" bigint NOT NULL,
                "last_id" bigint NOT NULL,
                "head" text NOT NULL,
                "at" TIMESTAMP WITH TIME ZONE NOT NULL,
                "key_id" character varying(16) NOT NULL,
                "signature" text NOT NULL,
                CONSTRAINT "PK_audit_checkpoints" PRIMARY KEY ("id")
            )
        `);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
            DROP TABLE "audit_checkpoints"
        `);
    await queryRunner.query(`
            ALTER TABLE "audit_log" DROP COLUMN "key_id"
        `);
  }
}

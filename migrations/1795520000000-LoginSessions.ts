import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Browser login sessions (express-session through connect-pg-simple: its table, by hand, as no
 * entity maps it) and the index usage reports are looked up by.
 */
export class LoginSessions1795520000000 implements MigrationInterface {
  name = 'LoginSessions1795520000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
            CREATE TABLE "http_sessions" (
                "sid" character varying NOT NULL,
                "sess" json NOT NULL,
                "expire" TIMESTAMP WITH TIME ZONE NOT NULL,
                CONSTRAINT "PK_http_sessions" PRIMARY KEY ("sid")
            )
        `);
    await queryRunner.query(`
            CREATE INDEX "IDX_http_sessions_expire" ON "http_sessions" ("expire")
        `);
    await queryRunner.query(`
            CREATE INDEX "IDX_audit_log_bedrock_request_id" ON "audit_log" ("bedrock_request_id")
            WHERE "bedrock_request_id" IS NOT NULL
        `);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "public"."IDX_audit_log_bedrock_request_id"`);
    await queryRunner.query(`DROP TABLE "http_sessions"`);
  }
}

import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Audit records staged in the transaction of the action they record: the action and its record
 * commit together, without the chain's lock, and are moved into the hash chain right after
 * (src/audit/audit.service.ts). The columns and limits are audit_log's, so a record that stages
 * also chains.
 */
export class AuditOutbox1795610000000 implements MigrationInterface {
  name = 'AuditOutbox1795610000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
            CREATE TABLE "audit_outbox" (
                "id" BIGSERIAL NOT NULL,
                "timestamp" TIMESTAMP WITH TIME ZONE NOT NULL,
                "user_id" uuid,
                "username" character varying(255),
                "action" character varying(100) NOT NULL,
                "resource_type" character varying(50),
                "resource_id" character varying(255),
                "outcome" text NOT NULL,
                "ip" text,
                "user_agent" text,
                "request_id" text,
                "request_metadata" jsonb,
                "bedrock_request_id" character varying(255),
                "bedrock_tokens_used" integer,
                CONSTRAINT "PK_audit_outbox" PRIMARY KEY ("id")
            )
        `);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "audit_outbox"`);
  }
}

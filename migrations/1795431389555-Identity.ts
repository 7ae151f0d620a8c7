import { MigrationInterface, QueryRunner } from 'typeorm';

export class Identity1795431389555 implements MigrationInterface {
  name = 'Identity1795431389555';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
            CREATE TABLE "audit_log" (
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
                "prev_hash" bytea NOT NULL,
                "hash" bytea NOT NULL,
                CONSTRAINT "PK_07fefa57f7f5ab8fc3f52b3ed0b" PRIMARY KEY ("id")
            )
        `);
    await queryRunner.query(`
            CREATE INDEX "IDX_audit_log_timestamp" ON "audit_log" ("timestamp")
        `);
    await queryRunner.query(`
            CREATE INDEX "IDX_audit_log_user" ON "audit_log" ("user_id")
        `);
    await queryRunner.query(`
            CREATE INDEX "IDX_audit_log_action" ON "audit_log" ("action")
        `);
    await queryRunner.query(`
            CREATE TABLE "users" (
                "id" uuid NOT NULL DEFAULT gen_random_uuid(),
                "username" text NOT NULL,
                "email" text,
                "role" text NOT NULL DEFAULT 'user',
                "admin_by_claims" boolean NOT NULL DEFAULT false,
                "oidc_subject" character varying(255),
                "oidc_issuer" character varying(512),
                "oidc_claims" jsonb,
                "ssh_keys" jsonb NOT NULL DEFAULT '[]'::jsonb,
                "disabled" boolean NOT NULL DEFAULT false,
                "last_login_at" TIMESTAMP WITH TIME ZONE,
                "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
                "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
                CONSTRAINT "PK_a3ffb1c0c8416b9fc6f907b7433" PRIMARY KEY ("id")
            )
        `);
    await queryRunner.query(`
            CREATE UNIQUE INDEX "UQ_users_username" ON "users" ("username")
        `);
    await queryRunner.query(`
            CREATE UNIQUE INDEX "UQ_users_oidc_identity" ON "users" ("oidc_issuer", "oidc_subject")
            WHERE "oidc_subject" IS NOT NULL
        `);
    await queryRunner.query(`
            CREATE TABLE "api_keys" (
                "id" uuid NOT NULL DEFAULT gen_random_uuid(),
                "prefix" text NOT NULL,
                "secret_hash" bytea NOT NULL,
                "user_id" uuid NOT NULL,
                "name" text NOT NULL,
                "scopes" text array NOT NULL,
                "origin" text NOT NULL,
                "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
                "expires_at" TIMESTAMP WITH TIME ZONE NOT NULL,
                "revoked_at" TIMESTAMP WITH TIME ZONE,
                "last_used_at" TIMESTAMP WITH TIME ZONE,
                CONSTRAINT "PK_5c8a79801b44bd27b79228e1dad" PRIMARY KEY ("id")
            )
        `);
    await queryRunner.query(`
            CREATE UNIQUE INDEX "UQ_api_keys_prefix" ON "api_keys" ("prefix")
        `);
    await queryRunner.query(`
            CREATE INDEX "IDX_api_keys_user" ON "api_keys" ("user_id")
        `);
    await queryRunner.query(`
            ALTER TABLE "api_keys"
            ADD CONSTRAINT "FK_api_keys_user" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE NO ACTION
        `);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
            ALTER TABLE "api_keys" DROP CONSTRAINT "FK_api_keys_user"
        `);
    await queryRunner.query(`
            DROP INDEX "public"."IDX_api_keys_user"
        `);
    await queryRunner.query(`
            DROP INDEX "public"."UQ_api_keys_prefix"
        `);
    await queryRunner.query(`
            DROP TABLE "api_keys"
        `);
    await queryRunner.query(`
            DROP INDEX "public"."UQ_users_oidc_identity"
        `);
    await queryRunner.query(`
            DROP INDEX "public"."UQ_users_username"
        `);
    await queryRunner.query(`
            DROP TABLE "users"
        `);
    await queryRunner.query(`
            DROP INDEX "public"."IDX_audit_log_action"
        `);
    await queryRunner.query(`
            DROP INDEX "public"."IDX_audit_log_user"
        `);
    await queryRunner.query(`
            DROP INDEX "public"."IDX_audit_log_timestamp"
        `);
    await queryRunner.query(`
            DROP TABLE "audit_log"
        `);
  }
}

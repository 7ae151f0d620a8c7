import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Identities from OIDC logins and trusted JWTs bind to (issuer, subject) in their own table, so a
 * user may hold several and a token's name never finds a user. Keys get the scopes that now guard
 * SSH keys, key management and identity links: keys made at a login or by admin:create had them
 * implicitly, keys made through the API did not.
 */
export class UserIdentities1795580000000 implements MigrationInterface {
  name = 'UserIdentities1795580000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
            CREATE TABLE "user_identities" (
                "id" uuid NOT NULL DEFAULT gen_random_uuid(),
                "user_id" uuid NOT NULL,
                "issuer" character varying(512) NOT NULL,
                "subject" character varying(255) NOT NULL,
                "kind" text NOT NULL,
                "bound_by" text NOT NULL,
                "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
                CONSTRAINT "PK_user_identities" PRIMARY KEY ("id")
            )
        `);
    await queryRunner.query(`
            CREATE INDEX "IDX_user_identities_user" ON "user_identities" ("user_id")
        `);
    await queryRunner.query(`
            CREATE UNIQUE INDEX "UQ_user_identities_issuer_subject" ON "user_identities" ("issuer", "subject")
        `);
    await queryRunner.query(`
            ALTER TABLE "user_identities"
            ADD CONSTRAINT "FK_user_identities_user" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE NO ACTION
        `);
    await queryRunner.query(`
            INSERT INTO "user_identities" ("user_id", "issuer", "subject", "kind", "bound_by", "created_at")
            SELECT "id", "oidc_issuer", "oidc_subject", 'oidc', 'first-sight', "created_at"
              FROM "users" WHERE "oidc_subject" IS NOT NULL AND "oidc_issuer" IS NOT NULL
        `);
    await queryRunner.query(`
            DROP INDEX "public"."UQ_users_oidc_identity"
        `);
    await queryRunner.query(`
            ALTER TABLE "users" DROP COLUMN "oidc_issuer", DROP COLUMN "oidc_subject"
        `);
    await queryRunner.query(`
            UPDATE "api_keys" SET "scopes" = "scopes" || ARRAY['ssh-keys:write', 'keys:write']
             WHERE "origin" IN ('cli-login', 'aws-login', 'admin-create', 'first-start')
        `);
    await queryRunner.query(`
            UPDATE "api_keys" SET "scopes" = "scopes" || ARRAY['users:admin']
             WHERE "origin" IN ('admin-create', 'first-start')
                OR ("origin" IN ('cli-login', 'aws-login') AND 'clusters:admin' = ANY("scopes"))
        `);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
            UPDATE "api_keys" SET "scopes" = array_remove(array_remove(array_remove("scopes",
              'ssh-keys:write'), 'keys:write'), 'users:admin')
        `);
    await queryRunner.query(`
            ALTER TABLE "users" ADD "oidc_issuer" character varying(512), ADD "oidc_subject" character varying(255)
        `);
    // One identity per user goes back (the columns hold one): its OIDC login's, else its first.
    await queryRunner.query(`
            UPDATE "users" u SET "oidc_issuer" = i."issuer", "oidc_subject" = i."subject"
              FROM (SELECT DISTINCT ON ("user_id") "user_id", "issuer", "subject" FROM "user_identities"
                     ORDER BY "user_id", ("kind" = 'oidc') DESC, "created_at") i
             WHERE u."id" = i."user_id"
        `);
    await queryRunner.query(`
            CREATE UNIQUE INDEX "UQ_users_oidc_identity" ON "users" ("oidc_issuer", "oidc_subject")
            WHERE "oidc_subject" IS NOT NULL
        `);
    await queryRunner.query(`
            DROP TABLE "user_identities"
        `);
  }
}

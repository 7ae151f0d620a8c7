import { MigrationInterface, QueryRunner } from 'typeorm';

/** The cluster registry (`vice_clusters` of the platform ODC replaces, and more) and per-node capacity. */
export class Clusters1795530000000 implements MigrationInterface {
  name = 'Clusters1795530000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
            CREATE TABLE "clusters" (
                "id" uuid NOT NULL DEFAULT gen_random_uuid(),
                "name" character varying(255) NOT NULL,
                "deployer_url" character varying(512) NOT NULL,
                "enabled" boolean NOT NULL DEFAULT true,
                "draining" boolean NOT NULL DEFAULT false,
                "priority" integer NOT NULL DEFAULT '100',
                "mtls_enabled" boolean NOT NULL DEFAULT false,
                "ca_cert" text,
                "client_cert" text,
                "client_key_encrypted" bytea,
                "token_encrypted" bytea,
                "key_id" character varying(32),
                "profile" jsonb NOT NULL DEFAULT '{}',
                "status" text NOT NULL DEFAULT 'unknown',
                "last_health_check" TIMESTAMP WITH TIME ZONE,
                "last_error" text,
                "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
                "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
                CONSTRAINT "PK_56c8e201f375e1e961dcdd6831c" PRIMARY KEY ("id")
            )
        `);
    await queryRunner.query(`
            CREATE UNIQUE INDEX "UQ_clusters_name" ON "clusters" ("name")
        `);
    await queryRunner.query(`
            CREATE INDEX "IDX_clusters_enabled" ON "clusters" ("enabled")
            WHERE "enabled" = true
        `);
    await queryRunner.query(`
            CREATE TABLE "capacity" (
                "cluster_id" uuid NOT NULL,
                "node_name" character varying(253) NOT NULL,
                "gpu_type" character varying(64),
                "allocatable_gpus" integer NOT NULL,
                "used_gpus" integer NOT NULL,
                "ready" boolean NOT NULL,
                "schedulable" boolean NOT NULL,
                "zone" character varying(128),
                "seen_at" TIMESTAMP WITH TIME ZONE NOT NULL,
                CONSTRAINT "PK_c4c00a10ae0537859d6bdfa1a63" PRIMARY KEY ("cluster_id", "node_name")
            )
        `);
    await queryRunner.query(`
            CREATE INDEX "IDX_capacity_gpu_type" ON "capacity" ("gpu_type")
        `);
    await queryRunner.query(`
            ALTER TABLE "capacity"
            ADD CONSTRAINT "FK_f3ec43050e2538c23c7c02cec7d" FOREIGN KEY ("cluster_id") REFERENCES "clusters"("id") ON DELETE CASCADE ON UPDATE NO ACTION
        `);
    // By hand (TypeORM does not generate triggers): updated_at kept current on every update, and a
    // NOTIFY on every change so each replica's registry reloads that cluster at once.
    await queryRunner.query(`
            CREATE FUNCTION clusters_touch_updated_at() RETURNS trigger AS $$
            BEGIN
                NEW.updated_at = now();
                RETURN NEW;
            END;
            $$ LANGUAGE plpgsql
        `);
    await queryRunner.query(`
            CREATE TRIGGER clusters_updated_at BEFORE UPDATE ON "clusters"
            FOR EACH ROW EXECUTE FUNCTION clusters_touch_updated_at()
        `);
    await queryRunner.query(`
            CREATE FUNCTION clusters_notify_change() RETURNS trigger AS $$
            BEGIN
                PERFORM pg_notify(
                    'odc_clusters',
                    json_build_object('op', TG_OP, 'id', COALESCE(NEW.id, OLD.id))::text
                );
                RETURN NULL;
            END;
            $$ LANGUAGE plpgsql
        `);
    await queryRunner.query(`
            CREATE TRIGGER clusters_notify AFTER INSERT OR UPDATE OR DELETE ON "clusters"
            FOR EACH ROW EXECUTE FUNCTION clusters_notify_change()
        `);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TRIGGER clusters_notify ON "clusters"`);
    await queryRunner.query(`DROP TRIGGER clusters_updated_at ON "clusters"`);
    await queryRunner.query(`DROP FUNCTION clusters_notify_change()`);
    await queryRunner.query(`DROP FUNCTION clusters_touch_updated_at()`);
    await queryRunner.query(`
            ALTER TABLE "capacity" DROP CONSTRAINT "FK_f3ec43050e2538c23c7c02cec7d"
        `);
    await queryRunner.query(`
            DROP INDEX "public"."IDX_capacity_gpu_type"
        `);
    await queryRunner.query(`
            DROP TABLE "capacity"
        `);
    await queryRunner.query(`
            DROP INDEX "public"."IDX_clusters_enabled"
        `);
    await queryRunner.query(`
            DROP INDEX "public"."UQ_clusters_name"
        `);
    await queryRunner.query(`
            DROP TABLE "clusters"
        `);
  }
}

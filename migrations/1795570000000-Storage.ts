import { MigrationInterface, QueryRunner } from 'typeorm';

export class Storage1795570000000 implements MigrationInterface {
  name = 'Storage1795570000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
            CREATE TABLE "disks" (
                "id" uuid NOT NULL DEFAULT gen_random_uuid(),
                "owner_id" uuid NOT NULL,
                "name" character varying(63) NOT NULL,
                "size_gb" integer NOT NULL,
                "provider" text NOT NULL,
                "status" text NOT NULL DEFAULT 'ready',
                "in_use_by" uuid,
                "volume_id" text,
                "volume_cluster_id" uuid,
                "zone" text,
                "claim_name" character varying(63),
                "attached_cluster_id" uuid,
                "generation" integer NOT NULL DEFAULT '0',
                "restore_from" uuid,
                "used_since_snapshot" boolean NOT NULL DEFAULT false,
                "last_error" text,
                "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
                "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
                "last_used_at" TIMESTAMP WITH TIME ZONE,
                "deleted_at" TIMESTAMP WITH TIME ZONE,
                "purge_after" TIMESTAMP WITH TIME ZONE,
                "version" integer NOT NULL,
                CONSTRAINT "PK_765d2554907d689ca154949630f" PRIMARY KEY ("id")
            )
        `);
    await queryRunner.query(`
            CREATE INDEX "IDX_disks_status" ON "disks" ("status")
        `);
    await queryRunner.query(`
            CREATE UNIQUE INDEX "UQ_disks_in_use_by" ON "disks" ("in_use_by")
            WHERE "in_use_by" IS NOT NULL
        `);
    await queryRunner.query(`
            CREATE UNIQUE INDEX "UQ_disks_owner_name" ON "disks" ("owner_id", "name")
            WHERE "deleted_at" IS NULL
        `);
    await queryRunner.query(`
            CREATE UNIQUE INDEX "UQ_disks_volume" ON "disks" ("provider", "volume_id")
            WHERE "volume_id" IS NOT NULL
        `);
    await queryRunner.query(`
            CREATE TABLE "snapshots" (
                "id" uuid NOT NULL DEFAULT gen_random_uuid(),
                "disk_id" uuid NOT NULL,
                "owner_id" uuid NOT NULL,
                "reason" text NOT NULL,
                "reservation_id" uuid,
                "status" text NOT NULL DEFAULT 'pending',
                "provider_snapshot_id" text,
                "cluster_id" uuid,
                "volume_id" text NOT NULL,
                "size_gb" integer,
                "portable_handle" text,
                "driver" text,
                "error" text,
                "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
                "ready_at" TIMESTAMP WITH TIME ZONE,
                "deleted_at" TIMESTAMP WITH TIME ZONE,
                CONSTRAINT "PK_f5661b5fd4224d23e26a631986b" PRIMARY KEY ("id")
            )
        `);
    await queryRunner.query(`
            CREATE INDEX "IDX_snapshots_status" ON "snapshots" ("status")
        `);
    await queryRunner.query(`
            CREATE INDEX "IDX_snapshots_disk" ON "snapshots" ("disk_id", "created_at")
        `);
    await queryRunner.query(`
            CREATE UNIQUE INDEX "UQ_snapshots_disk_reservation" ON "snapshots" ("disk_id", "reservation_id")
            WHERE "reason" = 'expiry'
        `);
    await queryRunner.query(`
            ALTER TABLE "reservations"
            ADD "disk_id" uuid
        `);
    await queryRunner.query(`
            ALTER TABLE "reservations"
            ADD "no_persist" boolean NOT NULL DEFAULT false
        `);
    await queryRunner.query(`
            ALTER TABLE "disks"
            ADD CONSTRAINT "FK_disks_owner" FOREIGN KEY ("owner_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE NO ACTION
        `);
    await queryRunner.query(`
            ALTER TABLE "disks"
            ADD CONSTRAINT "FK_disks_in_use_by" FOREIGN KEY ("in_use_by") REFERENCES "reservations"("id") ON DELETE
            SET NULL ON UPDATE NO ACTION
        `);
    await queryRunner.query(`
            ALTER TABLE "disks"
            ADD CONSTRAINT "FK_disks_volume_cluster" FOREIGN KEY ("volume_cluster_id") REFERENCES "clusters"("id") ON DELETE
            SET NULL ON UPDATE NO ACTION
        `);
    await queryRunner.query(`
            ALTER TABLE "snapshots"
            ADD CONSTRAINT "FK_snapshots_disk" FOREIGN KEY ("disk_id") REFERENCES "disks"("id") ON DELETE CASCADE ON UPDATE NO ACTION
        `);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
            ALTER TABLE "snapshots" DROP CONSTRAINT "FK_snapshots_disk"
        `);
    await queryRunner.query(`
            ALTER TABLE "disks" DROP CONSTRAINT "FK_disks_volume_cluster"
        `);
    await queryRunner.query(`
            ALTER TABLE "disks" DROP CONSTRAINT "FK_disks_in_use_by"
        `);
    await queryRunner.query(`
            ALTER TABLE "disks" DROP CONSTRAINT "FK_disks_owner"
        `);
    await queryRunner.query(`
            ALTER TABLE "reservations" DROP COLUMN "no_persist"
        `);
    await queryRunner.query(`
            ALTER TABLE "reservations" DROP COLUMN "disk_id"
        `);
    await queryRunner.query(`
            DROP INDEX "public"."UQ_snapshots_disk_reservation"
        `);
    await queryRunner.query(`
            DROP INDEX "public"."IDX_snapshots_disk"
        `);
    await queryRunner.query(`
            DROP INDEX "public"."IDX_snapshots_status"
        `);
    await queryRunner.query(`
            DROP TABLE "snapshots"
        `);
    await queryRunner.query(`
            DROP INDEX "public"."UQ_disks_volume"
        `);
    await queryRunner.query(`
            DROP INDEX "public"."UQ_disks_owner_name"
        `);
    await queryRunner.query(`
            DROP INDEX "public"."UQ_disks_in_use_by"
        `);
    await queryRunner.query(`
            DROP INDEX "public"."IDX_disks_status"
        `);
    await queryRunner.query(`
            DROP TABLE "disks"
        `);
  }
}

import { MigrationInterface, QueryRunner } from 'typeorm';

export class Reservations1795540000000 implements MigrationInterface {
  name = 'Reservations1795540000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
            CREATE TABLE "gpu_types" (
                "name" character varying(32) NOT NULL,
                "display_name" text NOT NULL,
                "resource_name" text,
                "gpu_memory_gb" integer,
                "gpus_per_node" integer NOT NULL,
                "allowed_counts" integer array NOT NULL,
                "max_hours" integer NOT NULL DEFAULT '24',
                "enabled" boolean NOT NULL DEFAULT true,
                CONSTRAINT "PK_a19958e58bfe96774068eded276" PRIMARY KEY ("name")
            )
        `);
    // By hand: the catalog's seed (operators may change rows; later releases add types).
    await queryRunner.query(`
            INSERT INTO "gpu_types" ("name", "display_name", "resource_name", "gpu_memory_gb", "gpus_per_node", "allowed_counts", "max_hours")
            VALUES
                ('t4', 'NVIDIA T4 16 GB', 'nvidia.com/gpu', 16, 4, '{1,2,4}', 24),
                ('l4', 'NVIDIA L4 24 GB', 'nvidia.com/gpu', 24, 8, '{1,2,4,8}', 24),
                ('a10g', 'NVIDIA A10G 24 GB', 'nvidia.com/gpu', 24, 8, '{1,2,4,8}', 24),
                ('a100', 'NVIDIA A100 80 GB', 'nvidia.com/gpu', 80, 8, '{1,2,4,8}', 24),
                ('h100', 'NVIDIA H100 80 GB', 'nvidia.com/gpu', 80, 8, '{1,2,4,8}', 24),
                ('h200', 'NVIDIA H200 141 GB', 'nvidia.com/gpu', 141, 8, '{1,2,4,8}', 24),
                ('b200', 'NVIDIA B200 180 GB', 'nvidia.com/gpu', 180, 8, '{1,2,4,8}', 24),
                ('cpu-x86', 'CPU only (x86-64)', NULL, NULL, 0, '{0}', 24),
                ('cpu-arm', 'CPU only (arm64)', NULL, NULL, 0, '{0}', 24)
        `);
    await queryRunner.query(`
            CREATE TABLE "reservations" (
                "id" uuid NOT NULL DEFAULT gen_random_uuid(),
                "owner_id" uuid NOT NULL,
                "name" character varying(63),
                "gpu_type" character varying(32) NOT NULL,
                "gpu_count" integer NOT NULL,
                "duration_minutes" integer NOT NULL,
                "image" text,
                "jupyter" boolean NOT NULL DEFAULT false,
                "node_labels" jsonb,
                "priority" integer NOT NULL DEFAULT '0',
                "status" text NOT NULL DEFAULT 'queued',
                "status_reason" text,
                "status_since" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
                "ending_as" text,
                "cluster_id" uuid,
                "node_name" character varying(253),
                "external_id" character varying(63) NOT NULL,
                "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
                "started_at" TIMESTAMP WITH TIME ZONE,
                "expires_at" TIMESTAMP WITH TIME ZONE,
                "ended_at" TIMESTAMP WITH TIME ZONE,
                "extended_minutes" integer NOT NULL DEFAULT '0',
                "warnings_sent" integer array NOT NULL DEFAULT '{}',
                "ssh_command" text,
                "jupyter_url" text,
                "secondary_users" text array NOT NULL DEFAULT '{}',
                "idempotency_key" character varying(255),
                "request_fingerprint" character varying(64),
                "placement_attempts" integer NOT NULL DEFAULT '0',
                "refused_by" uuid array NOT NULL DEFAULT '{}',
                "version" integer NOT NULL,
                CONSTRAINT "PK_da95cef71b617ac35dc5bcda243" PRIMARY KEY ("id")
            )
        `);
    await queryRunner.query(`
            CREATE INDEX "IDX_reservations_status" ON "reservations" ("status")
        `);
    await queryRunner.query(`
            CREATE UNIQUE INDEX "UQ_reservations_external_id" ON "reservations" ("external_id")
        `);
    await queryRunner.query(`
            CREATE UNIQUE INDEX "UQ_reservations_idempotency" ON "reservations" ("owner_id", "idempotency_key")
            WHERE "idempotency_key" IS NOT NULL
        `);
    await queryRunner.query(`
            CREATE INDEX "IDX_reservations_node" ON "reservations" ("cluster_id", "node_name")
            WHERE "status" IN ('placing', 'provisioning', 'active', 'expiring')
        `);
    await queryRunner.query(`
            CREATE INDEX "IDX_reservations_owner" ON "reservations" ("owner_id", "created_at")
        `);
    await queryRunner.query(`
            CREATE INDEX "IDX_reservations_queue" ON "reservations" ("gpu_type", "created_at")
            WHERE "status" = 'queued'
        `);
    await queryRunner.query(`
            CREATE TABLE "reservation_events" (
                "id" BIGSERIAL NOT NULL,
                "reservation_id" uuid NOT NULL,
                "at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
                "from_status" text,
                "to_status" text,
                "message" text NOT NULL,
                "details" jsonb,
                CONSTRAINT "PK_ff0f3306349ccf9e52f5e2a5987" PRIMARY KEY ("id")
            )
        `);
    await queryRunner.query(`
            CREATE INDEX "IDX_reservation_events_reservation" ON "reservation_events" ("reservation_id", "id")
        `);
    await queryRunner.query(`
            ALTER TABLE "capacity"
            ADD "managed_gpus" integer NOT NULL DEFAULT '0'
        `);
    await queryRunner.query(`
            ALTER TABLE "reservations"
            ADD CONSTRAINT "FK_reservations_owner" FOREIGN KEY ("owner_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE NO ACTION
        `);
    await queryRunner.query(`
            ALTER TABLE "reservations"
            ADD CONSTRAINT "FK_reservations_gpu_type" FOREIGN KEY ("gpu_type") REFERENCES "gpu_types"("name") ON DELETE NO ACTION ON UPDATE NO ACTION
        `);
    await queryRunner.query(`
            ALTER TABLE "reservations"
            ADD CONSTRAINT "FK_reservations_cluster" FOREIGN KEY ("cluster_id") REFERENCES "clusters"("id") ON DELETE RESTRICT ON UPDATE NO ACTION
        `);
    await queryRunner.query(`
            ALTER TABLE "reservation_events"
            ADD CONSTRAINT "FK_reservation_events_reservation" FOREIGN KEY ("reservation_id") REFERENCES "reservations"("id") ON DELETE CASCADE ON UPDATE NO ACTION
        `);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
            ALTER TABLE "reservation_events" DROP CONSTRAINT "FK_reservation_events_reservation"
        `);
    await queryRunner.query(`
            ALTER TABLE "reservations" DROP CONSTRAINT "FK_reservations_cluster"
        `);
    await queryRunner.query(`
            ALTER TABLE "reservations" DROP CONSTRAINT "FK_reservations_gpu_type"
        `);
    await queryRunner.query(`
            ALTER TABLE "reservations" DROP CONSTRAINT "FK_reservations_owner"
        `);
    await queryRunner.query(`
            ALTER TABLE "capacity" DROP COLUMN "managed_gpus"
        `);
    await queryRunner.query(`
            DROP INDEX "public"."IDX_reservation_events_reservation"
        `);
    await queryRunner.query(`
            DROP TABLE "reservation_events"
        `);
    await queryRunner.query(`
            DROP INDEX "public"."IDX_reservations_queue"
        `);
    await queryRunner.query(`
            DROP INDEX "public"."IDX_reservations_owner"
        `);
    await queryRunner.query(`
            DROP INDEX "public"."IDX_reservations_node"
        `);
    await queryRunner.query(`
            DROP INDEX "public"."UQ_reservations_idempotency"
        `);
    await queryRunner.query(`
            DROP INDEX "public"."UQ_reservations_external_id"
        `);
    await queryRunner.query(`
            DROP INDEX "public"."IDX_reservations_status"
        `);
    await queryRunner.query(`
            DROP TABLE "reservations"
        `);
    await queryRunner.query(`
            DROP TABLE "gpu_types"
        `);
  }
}

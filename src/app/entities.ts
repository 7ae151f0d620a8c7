import type { DataSourceOptions } from 'typeorm';
import { typeOrmOptions, type DatabaseSettings } from '../infra/database/data-source-options';
import { AuditCheckpointRow } from '../audit/audit-checkpoint.entity';
import { AuditEntry } from '../audit/audit-entry.entity';
import { ApiKey } from '../auth/api-keys/api-key.entity';
import { UserIdentity } from '../auth/users/user-identity.entity';
import { User } from '../auth/users/user.entity';
import { Cluster } from '../clusters/cluster.entity';
import { NodeCapacityRow } from '../clusters/node-capacity.entity';
import { GpuType } from '../reservations/catalog/gpu-type.entity';
import { ReservationEvent } from '../reservations/reservation-event.entity';
import { Reservation } from '../reservations/reservation.entity';
import { Disk } from '../storage/disks/disk.entity';
import { Snapshot } from '../storage/snapshots/snapshot.entity';
import { ScheduledTask } from '../infra/cron/scheduled-task.entity';

/**
 * Every TypeORM entity, listed once by the top (infra names no domain's table) for the app, the
 * migration CLI, the drift check and the scripts, tests and benches that open the database.
 */
export const ENTITIES = [
  ScheduledTask,
  User,
  UserIdentity,
  ApiKey,
  AuditEntry,
  AuditCheckpointRow,
  Cluster,
  NodeCapacityRow,
  GpuType,
  Reservation,
  ReservationEvent,
  Disk,
  Snapshot,
];

/** The TypeORM options for ODC's database: `typeOrmOptions` with every entity. */
export function dataSourceOptions(settings: DatabaseSettings): DataSourceOptions {
  return typeOrmOptions(settings, ENTITIES);
}

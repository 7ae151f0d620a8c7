import { type DynamicModule, type ModuleMetadata, Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import type { Logger } from 'pino';
import { AuditCronModule } from '../audit/audit.module';
import { AuthModule } from '../auth/auth.module';
import { ClusterHealthModule, ClustersApiModule, ClustersModule } from '../clusters/clusters.module';
import {
  ReservationsApiModule,
  ReservationsCronModule,
  ReservationsWorkerModule,
} from '../reservations/reservations.module';
import { HealthModule } from '../health/health.module';
import { StorageApiModule, StorageCronModule, StorageWorkerModule } from '../storage/storage.module';
import { ConfigModule } from '../infra/config/config.module';
import type { AppConfig } from './config';
import { CronModule } from '../infra/cron/cron.module';
import { DatabaseModule } from '../infra/database/database.module';
import { ENTITIES } from './entities';
import { PortsModule } from './ports.module';
import { CliDownloadModule } from './cli-download/cli-download.module';
import { LoggingModule } from '../infra/logging/logging.module';
import { MetricsModule } from '../infra/metrics/metrics.module';
import { QueueModule } from '../infra/queue/queue.module';
import type { Clock } from '../infra/time/clock';
import { ClockModule } from '../infra/time/clock.module';
import type { Role } from './roles';

type Imports = NonNullable<ModuleMetadata['imports']>;

/**
 * What each role adds to the core application. A role that is off contributes nothing: its
 * controllers are not mounted, its consumers and timers are never constructed.
 * - coordinator: the public API controllers (domain modules are added here as they land);
 * - worker: job consumers (domain `*-worker` modules);
 * - cron: the exactly-once tick runner and its tasks;
 * - deployer: not part of the core app; it is its own application on its own port.
 */
const ROLE_MODULES: Record<Exclude<Role, 'deployer'>, Imports> = {
  coordinator: [AuthModule, ClustersApiModule, ReservationsApiModule, StorageApiModule, CliDownloadModule],
  worker: [ClustersModule, ReservationsWorkerModule, StorageWorkerModule],
  cron: [CronModule, ClusterHealthModule, ReservationsCronModule, StorageCronModule, AuditCronModule],
};

export interface CoreAppOptions {
  config: AppConfig;
  logger: Logger;
  databaseUrl: string;
  /** Extra modules, for tests that bring their own consumers or ticks. */
  imports?: Imports;
  /** What every timer and time read of the app goes through; default the real time (tests step their own). */
  clock?: Clock;
}

@Module({})
export class AppModule {
  static forRoot({ config, logger, databaseUrl, imports = [], clock }: CoreAppOptions): DynamicModule {
    const roles = config.roles;
    const applicationName = `odc:${[...roles].join(',')}`;
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        LoggingModule.forRoot(logger),
        MetricsModule,
        ClockModule.forRoot(clock),
        // Every periodic timer of every role is registered in its SchedulerRegistry.
        ScheduleModule.forRoot(),
        DatabaseModule.forRoot({
          url: databaseUrl,
          poolSize: config.ODC_DB_POOL_SIZE,
          applicationName,
          runMigrations: !config.ODC_DB_SKIP_MIGRATIONS,
          entities: ENTITIES,
        }),
        QueueModule.forRoot({
          url: databaseUrl,
          supervise: roles.has('worker') || roles.has('cron'),
          listen: roles.has('worker'),
          pollIntervalSeconds: config.ODC_QUEUE_POLL_INTERVAL_SECONDS,
          monitorIntervalSeconds: config.ODC_QUEUE_MONITOR_INTERVAL_SECONDS,
          shutdownTimeoutSeconds: config.ODC_SHUTDOWN_TIMEOUT_SECONDS,
          applicationName,
        }),
        HealthModule,
        PortsModule.forRoot(),
        ...(Object.keys(ROLE_MODULES) as (keyof typeof ROLE_MODULES)[])
          .filter((role) => roles.has(role))
          .flatMap((role) => ROLE_MODULES[role]),
        ...imports,
      ],
    };
  }
}

import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/public';
import { ClustersModule } from '../clusters/public';
import { StorageCoreModule } from '../storage/public';
import { CronModule } from '../infra/cron/cron.module';
import { MetricsModule } from '../infra/metrics/metrics.module';
import { ReservationMetrics } from './reservation-metrics';
import { AdmissionService } from './admission/admission.service';
import { AdmissionWorker } from './admission/admission.worker';
import { AvailabilityController } from './availability.controller';
import { ExpiryTask } from './lifecycle/expiry.task';
import { NotifyWorker } from './lifecycle/notify.worker';
import { StatusSyncTask } from './lifecycle/status-sync.task';
import { TeardownWorker } from './lifecycle/teardown.worker';
import { DeploymentSpecs } from './provisioning/deployment-specs';
import { ProvisionWorker } from './provisioning/provision.worker';
import { ReapplyWorker } from './provisioning/reapply.worker';
import { QueueController } from './queue.controller';
import { ReservationQueues } from './reservation-queues';
import { ReservationsController } from './reservations.controller';
import { ReservationQueries } from './reservation-queries';
import { ReservationsService } from './reservations.service';
import { ReservationRequestChecks } from './request-checks';
import { Planner } from './scheduling/planner';
import { QueueStandings } from './scheduling/queue-standings';
import { SchedulingStateReader } from './scheduling/scheduling-state';

/** What every role that touches reservations holds: the clusters, the queues, the planner's view and standings, metrics. */
@Module({
  imports: [ClustersModule, MetricsModule, StorageCoreModule],
  providers: [ReservationQueues, Planner, SchedulingStateReader, QueueStandings, ReservationMetrics],
  exports: [
    ClustersModule,
    StorageCoreModule,
    ReservationQueues,
    SchedulingStateReader,
    QueueStandings,
    ReservationMetrics,
  ],
})
export class ReservationsCoreModule {}

/** Role coordinator: the reservations API, the queue, the catalog and availability. */
@Module({
  imports: [ReservationsCoreModule, AuthModule],
  controllers: [ReservationsController, QueueController, AvailabilityController],
  providers: [ReservationsService, ReservationQueries, ReservationRequestChecks],
})
export class ReservationsApiModule {}

/** Role worker: admission and placement, provisioning, re-applying, teardown, notices. */
@Module({
  imports: [ReservationsCoreModule],
  providers: [
    AdmissionService,
    AdmissionWorker,
    DeploymentSpecs,
    ProvisionWorker,
    ReapplyWorker,
    TeardownWorker,
    NotifyWorker,
  ],
})
export class ReservationsWorkerModule {}

/** Role cron: the status of reservations on their clusters, warnings, expiry, stuck and stale ones. */
@Module({
  imports: [ReservationsCoreModule, CronModule],
  providers: [StatusSyncTask, ExpiryTask],
})
export class ReservationsCronModule {}

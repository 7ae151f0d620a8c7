import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { ClustersModule } from '../clusters/clusters.module';
import { CronModule } from '../infra/cron/cron.module';
import { AdmissionService } from './admission/admission.service';
import { AdmissionWorker } from './admission/admission.worker';
import { AvailabilityController } from './availability.controller';
import { StatusSyncTask } from './lifecycle/status-sync.task';
import { TeardownWorker } from './lifecycle/teardown.worker';
import { ProvisionWorker } from './provisioning/provision.worker';
import { QueueController } from './queue.controller';
import { ReservationQueues } from './reservation-queues';
import { ReservationsController } from './reservations.controller';
import { ReservationsService } from './reservations.service';
import { SchedulingStateReader } from './scheduling/scheduling-state';

/** What every role that touches reservations holds: the clusters, the queues, the planner's view. */
@Module({
  imports: [ClustersModule],
  providers: [ReservationQueues, SchedulingStateReader],
  exports: [ClustersModule, ReservationQueues, SchedulingStateReader],
})
export class ReservationsCoreModule {}

/** Role coordinator: the reservations API, the queue, the catalog and availability. */
@Module({
  imports: [ReservationsCoreModule, AuthModule],
  controllers: [ReservationsController, QueueController, AvailabilityController],
  providers: [ReservationsService],
})
export class ReservationsApiModule {}

/** Role worker: admission and placement, provisioning, teardown. */
@Module({
  imports: [ReservationsCoreModule],
  providers: [AdmissionService, AdmissionWorker, ProvisionWorker, TeardownWorker],
})
export class ReservationsWorkerModule {}

/** Role cron: the status of reservations on their clusters (expiry comes with it). */
@Module({
  imports: [ReservationsCoreModule, CronModule],
  providers: [StatusSyncTask],
})
export class ReservationsCronModule {}

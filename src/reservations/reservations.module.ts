import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { ClustersModule } from '../clusters/clusters.module';
import { AvailabilityController } from './availability.controller';
import { QueueController } from './queue.controller';
import { ReservationsController } from './reservations.controller';
import { ReservationsService } from './reservations.service';
import { SchedulingStateReader } from './scheduling/scheduling-state';

/** Role coordinator: the reservations API, the queue, the catalog and availability. */
@Module({
  imports: [ClustersModule, AuthModule],
  controllers: [ReservationsController, QueueController, AvailabilityController],
  providers: [ReservationsService, SchedulingStateReader],
})
export class ReservationsApiModule {}

import { type DynamicModule, Module } from '@nestjs/common';
import { getDataSourceToken } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { CLUSTER_OCCUPANTS, type ClusterOccupants } from '../clusters/ports';
import { HoldersForStorage, liveReservationsOn, TimelineForStorage } from '../reservations/ports';
import { disksHomedOn } from '../storage/cluster-occupancy';
import { DISK_HOLDERS, RESERVATION_TIMELINE } from '../storage/ports';

/**
 * The ports lower domains declare, bound to the higher domains that answer them. Global and in
 * every core role: a port's user may be built wherever its module is, and may not import the
 * module that implements it (that one imports the user's).
 */
@Module({})
export class PortsModule {
  static forRoot(): DynamicModule {
    return {
      module: PortsModule,
      global: true,
      providers: [
        { provide: RESERVATION_TIMELINE, useClass: TimelineForStorage },
        { provide: DISK_HOLDERS, useClass: HoldersForStorage },
        {
          provide: CLUSTER_OCCUPANTS,
          inject: [getDataSourceToken()],
          useFactory: (dataSource: DataSource): ClusterOccupants => ({
            liveReservations: (clusterId) => liveReservationsOn(dataSource, clusterId),
            disksHomed: (clusterId) => disksHomedOn(dataSource, clusterId),
          }),
        },
      ],
      exports: [RESERVATION_TIMELINE, DISK_HOLDERS, CLUSTER_OCCUPANTS],
    };
  }
}

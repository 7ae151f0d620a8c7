import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { ClusterClients } from '../../clusters/client/cluster-clients';
import { ClusterRegistry } from '../../clusters/registry/cluster-registry';
import { QueueService } from '../../infra/queue/queue.service';
import { Reservation } from '../reservation.entity';
import { transition } from '../reservation-transitions';
import { TEARDOWN_QUEUE } from '../reservation-queues';
import { afterEnded } from './ending';

/**
 * Worker role: an ending reservation's objects deleted through its cluster's deployer (idempotent:
 * deleting what is gone is fine), then its final status, which gives its GPUs back exactly once
 * (the guarded transition out of `expiring`), an admission pass for whoever waits and its disk's
 * release (after its snapshot). A cluster
 * that cannot be reached keeps the job retrying; the GPUs stay held meanwhile, as the objects may
 * still run.
 */
@Injectable()
export class TeardownWorker implements OnApplicationBootstrap {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly jobs: QueueService,
    private readonly clients: ClusterClients,
    private readonly registry: ClusterRegistry,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.jobs.workEach<{ reservation_id: string }>(TEARDOWN_QUEUE, { batchSize: 8 }, (job) =>
      this.teardown(job.data.reservation_id),
    );
  }

  async teardown(id: string): Promise<void> {
    const reservation = await this.dataSource
      .getRepository(Reservation)
      .findOneBy({ id, status: 'expiring' });
    if (!reservation) {
      return;
    }
    if (reservation.clusterId && this.registry.get(reservation.clusterId)) {
      await this.clients.for(reservation.clusterId).deleteDeployment(reservation.externalId);
    }
    const endingAs = reservation.endingAs ?? 'expired';
    await this.dataSource.transaction(async (tx) => {
      const ended = await transition(tx, {
        id,
        from: ['expiring'],
        to: endingAs,
        message: `Ended (${endingAs}); its objects are deleted and its GPUs free`,
        set: { endedAt: new Date() },
      });
      if (ended) {
        await afterEnded(tx, this.jobs, ended);
      }
    });
  }
}

import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, In } from 'typeorm';
import { ClusterClients, ClusterRegistry } from '../../clusters/public';
import { QueueService } from '../../infra/queue/queue.service';
import { Reservation } from '../reservation.entity';
import { REAPPLY_QUEUE } from '../reservation-queues';
import { DeploymentSpecs } from './deployment-specs';

/**
 * Re-applies fetched and run at once per worker replica. One batch at a time keeps a reservation's
 * re-applies in the order they were sent (its jobs in one batch run in turn, a later batch waits),
 * so the batch is what lets a burst (an expiry round's warnings) reach every cluster at once.
 */
export const REAPPLY_BATCH = 32;

export interface ReapplyJob {
  reservation_id: string;
  /** A line for the notice file (an expiry warning). */
  warning?: string;
}

/**
 * Worker role: a provisioning or active reservation's spec applied again after something it is
 * built from changed (SSH keys of a user added, Jupyter turned on or off, a new expiry or a
 * warning for the notice file). Applying is idempotent; only what differs changes on the cluster.
 */
@Injectable()
export class ReapplyWorker implements OnApplicationBootstrap {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly jobs: QueueService,
    private readonly clients: ClusterClients,
    private readonly registry: ClusterRegistry,
    private readonly specs: DeploymentSpecs,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    // One reservation's re-applies in the order they were sent: the last notice written wins.
    await this.jobs.workEach<ReapplyJob>(
      REAPPLY_QUEUE,
      { batchSize: REAPPLY_BATCH, orderBy: (job) => job.reservation_id },
      (job) => this.reapply(job.data),
    );
  }

  async reapply(job: ReapplyJob): Promise<void> {
    const reservation = await this.dataSource
      .getRepository(Reservation)
      .findOneBy({ id: job.reservation_id, status: In(['provisioning', 'active']) });
    const cluster = reservation?.clusterId ? this.registry.get(reservation.clusterId) : undefined;
    if (!reservation || !cluster) {
      return;
    }
    const spec = await this.specs.build(reservation, cluster, job.warning);
    const client = this.clients.for(cluster.id);
    await client.applyDeployment(spec);
    // Ended while this was applied: its teardown may have run first, so what was just applied goes.
    const after = await this.dataSource.getRepository(Reservation).findOneBy({ id: reservation.id });
    if (after?.status !== 'provisioning' && after?.status !== 'active') {
      await client.deleteDeployment(reservation.externalId);
    }
  }
}

import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, In } from 'typeorm';
import { ClusterClients, ClusterRegistry } from '../../clusters/public';
import { QueueService } from '../../infra/queue/queue.service';
import { Reservation } from '../reservation.entity';
import { transitionMany } from '../reservation-transitions';
import { TEARDOWN_QUEUE } from '../reservation-queues';
import { afterEnded } from './ending';

/**
 * Worker role: an ending reservation's objects deleted through its cluster's deployer (idempotent:
 * deleting what is gone is fine), then its final status, which gives its GPUs back exactly once
 * (the guarded transition out of `ending`), an admission pass for whoever waits and its disk's
 * release (after its snapshot). A cluster
 * that cannot be reached keeps the job retrying; the GPUs stay held meanwhile, as the objects may
 * still run.
 *
 * A batch of jobs goes together: one read, the deletes at once, then one transaction ending all
 * those deleted (one statement) with one admission job. A delete that failed fails the batch after
 * the others have ended: it is retried, and the others, no longer `ending`, are left alone.
 */
@Injectable()
export class TeardownWorker implements OnApplicationBootstrap {
  private readonly logger = new Logger('Teardown');

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly jobs: QueueService,
    private readonly clients: ClusterClients,
    private readonly registry: ClusterRegistry,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.jobs.work<{ reservation_id: string }>(
      TEARDOWN_QUEUE,
      { batchSize: 16, localConcurrency: 2 },
      (jobs) => this.teardownMany(jobs.map((job) => job.data.reservation_id)),
    );
  }

  async teardown(id: string): Promise<void> {
    await this.teardownMany([id]);
  }

  async teardownMany(ids: string[]): Promise<void> {
    const ending = await this.dataSource
      .getRepository(Reservation)
      .findBy({ id: In([...new Set(ids)]), status: 'ending' });
    const failures: unknown[] = [];
    const deleted: Reservation[] = [];
    await Promise.all(
      ending.map(async (reservation) => {
        try {
          if (reservation.clusterId && this.registry.get(reservation.clusterId)) {
            await this.clients.for(reservation.clusterId).deleteDeployment(reservation.externalId);
          }
          deleted.push(reservation);
        } catch (error) {
          this.logger.warn({ reservation: reservation.id, err: error }, 'teardown failed; it is retried');
          failures.push(error);
        }
      }),
    );
    if (deleted.length > 0) {
      await this.dataSource.transaction(async (tx) => {
        const ended = await transitionMany(
          tx,
          { from: ['ending'], set: { endedAt: new Date() } },
          deleted.map((reservation) => {
            const endingAs = reservation.endingAs ?? 'expired';
            return {
              id: reservation.id,
              to: endingAs,
              message: `Ended (${endingAs}); its objects are deleted and its GPUs free`,
            };
          }),
        );
        await afterEnded(tx, this.jobs, ...ended.values());
      });
    }
    if (failures.length > 0) {
      throw new AggregateError(failures, `${failures.length} of ${ending.length} teardowns failed`);
    }
  }
}

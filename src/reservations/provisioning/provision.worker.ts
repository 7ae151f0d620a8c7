import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, In } from 'typeorm';
import {
  ClusterClients,
  DeployerError,
  DeployerPolicyRejected,
  DeployerRequestRejected,
  DeployerUnreachable,
  type Cluster,
  ClusterRegistry,
} from '../../clusters/public';
import { StorageProviderError, DiskUnavailable, DiskVolumes } from '../../storage/public';
import { ReservationsConfig } from '../reservations.config';
import { QueueService } from '../../infra/queue/queue.service';
import { Reservation } from '../reservation.entity';
import { transition, transitionMany } from '../reservation-transitions';
import { PROVISION_QUEUE, requestAdmission } from '../reservation-queues';
import { afterEnded } from '../lifecycle/ending';
import { DeploymentSpecs, type SpecSources } from './deployment-specs';

/**
 * Worker role: a placed reservation's objects, built for its cluster from that cluster's profile,
 * sent to the cluster's deployer. Applied → provisioning (status sync makes it active). Refused or
 * unreachable → the objects are removed again (whatever part was made) and the reservation goes
 * back to the queue with that cluster to avoid, until ODC_MAX_PLACEMENT_ATTEMPTS; a spec the
 * deployer's policy refuses fails at once (another try would be refused the same way). The job is
 * idempotent: a reservation no longer `placing` is left alone, and applying is idempotent per
 * external id.
 *
 * A batch of jobs is provisioned together: one read of the reservations and of what their specs
 * are built from, their applies at once, one statement moving those applied to `provisioning`
 * (with their events). A reservation whose provisioning failed for a reason other than its
 * cluster's answer fails the batch, which is retried: the others are no longer `placing` by then.
 */
@Injectable()
export class ProvisionWorker implements OnApplicationBootstrap {
  private readonly logger = new Logger('Provision');

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly jobs: QueueService,
    private readonly clients: ClusterClients,
    private readonly registry: ClusterRegistry,
    private readonly specs: DeploymentSpecs,
    private readonly config: ReservationsConfig,
    private readonly volumes: DiskVolumes,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.jobs.work<{ reservation_id: string }>(
      PROVISION_QUEUE,
      { batchSize: 16, localConcurrency: 2 },
      (jobs) => this.provisionMany(jobs.map((job) => job.data.reservation_id)),
    );
  }

  async provision(id: string): Promise<void> {
    await this.provisionMany([id]);
  }

  /** Throws (after the others are done) when one could not be provisioned: the batch is retried. */
  async provisionMany(ids: string[]): Promise<void> {
    // With their owners and GPU types (one statement): what their specs are built from.
    const placed = await this.dataSource.getRepository(Reservation).find({
      where: { id: In([...new Set(ids)]), status: 'placing' },
      relations: { owner: true, type: true },
    });
    if (placed.length === 0) {
      return;
    }
    const sources = await this.specs.sourcesWith(placed);
    const failures: unknown[] = [];
    const applied: { reservation: Reservation; cluster: Cluster }[] = [];
    await Promise.all(
      placed.map(async (reservation) => {
        try {
          const cluster = await this.apply(reservation, sources);
          if (cluster) {
            applied.push({ reservation, cluster });
          }
        } catch (error) {
          this.logger.warn({ reservation: reservation.id, err: error }, 'provisioning failed; it is retried');
          failures.push(error);
        }
      }),
    );
    const moved = await transitionMany(
      this.dataSource.manager,
      { from: ['placing'] },
      applied.map(({ reservation, cluster }) => ({
        id: reservation.id,
        to: 'provisioning' as const,
        message: `Objects applied on ${cluster.name}; waiting for the environment to be ready`,
      })),
    );
    await Promise.all(
      applied
        .filter(({ reservation }) => !moved.has(reservation.id))
        // Cancelled while being applied: its teardown may have run before the objects existed.
        .map(({ reservation, cluster }) =>
          this.clients.for(cluster.id).deleteDeployment(reservation.externalId),
        ),
    );
    if (failures.length > 0) {
      throw new AggregateError(failures, `${failures.length} of ${placed.length} provisionings failed`);
    }
  }

  /**
   * Its objects applied on its cluster: the cluster, or undefined when it was bounced or failed
   * instead (or has no placement). Throws when the failure is not the cluster's answer.
   */
  private async apply(reservation: Reservation, sources: SpecSources): Promise<Cluster | undefined> {
    if (!reservation.clusterId || !reservation.nodeName) {
      return undefined;
    }
    const cluster = this.registry.get(reservation.clusterId);
    if (!cluster) {
      await this.bounce(reservation, 'its cluster is no longer registered');
      return undefined;
    }
    if (reservation.diskId && !(await this.diskReady(reservation, cluster))) {
      return undefined;
    }
    const spec = await this.specs.build(reservation, cluster, undefined, sources);
    const client = this.clients.for(cluster.id);
    try {
      await client.applyDeployment(spec);
      return cluster;
    } catch (error) {
      if (!(error instanceof DeployerError)) {
        throw error; // not the cluster's answer: the job is retried
      }
      if (mayHaveCreated(error)) {
        // Whatever part was made goes before anything else; if that fails too, the job is retried
        // (apply is idempotent), and the provisioning timeout bounds it.
        await client.deleteDeployment(reservation.externalId);
      }
      if (error instanceof DeployerPolicyRejected || error instanceof DeployerRequestRejected) {
        await this.fail(reservation, `the cluster ${cluster.name} refused its objects: ${error.message}`);
      } else {
        await this.bounce(reservation, `${cluster.name} could not take it: ${error.message}`);
      }
      return undefined;
    }
  }

  /**
   * Its disk made mountable here, or the reservation failed saying why (never a silent fallback to
   * scratch space). A provider that is away throws: the job is retried, the provisioning timeout
   * bounds it.
   */
  private async diskReady(reservation: Reservation, cluster: Cluster): Promise<boolean> {
    try {
      await this.volumes.prepare(reservation, cluster);
      return true;
    } catch (error) {
      if (error instanceof DiskUnavailable || (error instanceof StorageProviderError && !error.retryable)) {
        await this.fail(reservation, `its disk could not be attached on ${cluster.name}: ${error.message}`);
        return false;
      }
      throw error;
    }
  }

  /** Back to the queue, this cluster to avoid; failed once it has bounced too often. */
  private async bounce(reservation: Reservation, why: string): Promise<void> {
    const attempts = reservation.placementAttempts + 1;
    if (attempts >= this.config.ODC_MAX_PLACEMENT_ATTEMPTS) {
      await this.fail(reservation, `${why} (after ${attempts} placements)`);
      return;
    }
    await this.dataSource.transaction(async (tx) => {
      const requeued = await transition(tx, {
        id: reservation.id,
        from: ['placing'],
        to: 'queued',
        message: `Back to the queue: ${why}`,
        set: {
          clusterId: null,
          nodeName: null,
          placementAttempts: attempts,
          refusedBy: [
            ...new Set([...reservation.refusedBy, ...(reservation.clusterId ? [reservation.clusterId] : [])]),
          ],
        },
      });
      if (requeued) {
        await requestAdmission(tx, this.jobs);
      }
    });
    this.logger.warn({ reservation: reservation.id, why }, 'placement bounced');
  }

  /** Failed, its objects already removed: its GPUs are free for whoever waits. */
  private async fail(reservation: Reservation, why: string): Promise<void> {
    await this.dataSource.transaction(async (tx) => {
      const failed = await transition(tx, {
        id: reservation.id,
        from: ['placing'],
        to: 'failed',
        message: `Failed: ${why}`,
        set: { statusReason: why, endedAt: new Date() },
      });
      if (failed) {
        await afterEnded(tx, this.jobs, failed);
      }
    });
  }
}

/** The apply reached the deployer (it may have created part of the objects), unlike a refused connection. */
function mayHaveCreated(error: DeployerError): boolean {
  return !(
    error instanceof DeployerUnreachable &&
    (error.reason === 'unreachable' || error.reason === 'circuit_open')
  );
}

import { Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, In } from 'typeorm';
import { ClusterClients } from '../../clusters/client/cluster-clients';
import type { Cluster } from '../../clusters/cluster.entity';
import { ClusterRegistry } from '../../clusters/registry/cluster-registry';
import type { DeploymentStatus } from '../../deployer/contract';
import { AppConfig } from '../../infra/config/env';
import { ExclusiveTaskRunner, type TickResult } from '../../infra/cron/exclusive-task.runner';
import { QueueService } from '../../infra/queue/queue.service';
import { ReservationMetrics } from '../reservation-metrics';
import { REAPPLY_QUEUE } from '../reservation-queues';
import { Reservation } from '../reservation.entity';
import { recordEvent, transition } from '../reservation-transitions';
import { endReservation } from './ending';
import { workloadProblem, workloadReady } from './workload-health';

export const STATUS_SYNC_TASK = 'reservations.status-sync';

const MINUTE = 60_000;

/**
 * Cron (exactly once across replicas): what each cluster says of the reservations on it, with one
 * batched `GET /deployments` per cluster per round. Provisioning and ready → active, with how to
 * connect and when it expires; a workload that failed (image, crash loop, evicted, node lost, its
 * objects gone) → the reservation fails with that reason, through teardown. A cluster that cannot
 * be reached changes nothing (its health check reports it).
 */
@Injectable()
export class StatusSyncTask implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('StatusSync');
  private readonly periodMs: number;
  private stop?: () => void;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly registry: ClusterRegistry,
    private readonly clients: ClusterClients,
    private readonly jobs: QueueService,
    private readonly runner: ExclusiveTaskRunner,
    private readonly metrics: ReservationMetrics,
    config: AppConfig,
  ) {
    this.periodMs = config.ODC_STATUS_SYNC_INTERVAL_SECONDS * 1000;
  }

  onApplicationBootstrap(): void {
    this.stop = this.runner.every(STATUS_SYNC_TASK, this.periodMs, () => this.sync());
  }

  onModuleDestroy(): void {
    this.stop?.();
  }

  tick(): Promise<TickResult> {
    return this.runner.run(STATUS_SYNC_TASK, { periodMs: this.periodMs }, () => this.sync());
  }

  async sync(now = new Date()): Promise<void> {
    const watched = await this.dataSource
      .getRepository(Reservation)
      .findBy({ status: In(['provisioning', 'active']) });
    const byCluster = new Map<string, Reservation[]>();
    for (const reservation of watched) {
      if (reservation.clusterId) {
        byCluster.set(reservation.clusterId, [...(byCluster.get(reservation.clusterId) ?? []), reservation]);
      }
    }
    await Promise.all(
      [...byCluster].map(([clusterId, reservations]) => this.syncCluster(clusterId, reservations, now)),
    );
  }

  private async syncCluster(clusterId: string, reservations: Reservation[], now: Date): Promise<void> {
    const cluster = this.registry.get(clusterId);
    if (!cluster) {
      return;
    }
    let statuses: DeploymentStatus[];
    try {
      statuses = await this.clients.for(clusterId).listDeployments();
    } catch (error) {
      this.logger.warn({ cluster: cluster.name, err: error }, 'status of its deployments unknown this round');
      return;
    }
    const byExternalId = new Map(statuses.map((status) => [status.external_id, status]));
    for (const reservation of reservations) {
      const status = byExternalId.get(reservation.externalId);
      if (reservation.status === 'provisioning' && workloadReady(status)) {
        await this.activate(reservation, cluster, status!, now);
        continue;
      }
      const problem = workloadProblem(status);
      if (problem) {
        await this.dataSource.transaction((tx) =>
          endReservation(tx, this.jobs, reservation.id, 'failed', problem),
        );
      } else if (reservation.status === 'active') {
        await this.refreshJupyterUrl(reservation, status!);
      }
    }
  }

  /** Jupyter turned on or off while running: its URL follows the Ingress. */
  private async refreshJupyterUrl(reservation: Reservation, status: DeploymentStatus): Promise<void> {
    const jupyterUrl = jupyterUrlOf(reservation, status);
    if (jupyterUrl === reservation.jupyterUrl) {
      return;
    }
    await this.dataSource.transaction(async (tx) => {
      await tx.getRepository(Reservation).update({ id: reservation.id, status: 'active' }, { jupyterUrl });
      await recordEvent(tx, {
        reservationId: reservation.id,
        message: jupyterUrl ? `Jupyter at ${jupyterUrl}` : 'Jupyter is off',
      });
    });
  }

  private async activate(
    reservation: Reservation,
    cluster: Cluster,
    status: DeploymentStatus,
    now: Date,
  ): Promise<void> {
    const host = cluster.profile.ssh_host ?? status.ssh?.host_ip ?? status.ssh?.node;
    const sshCommand = `ssh -p ${status.ssh!.node_port} dev@${host}`;
    const jupyterUrl = jupyterUrlOf(reservation, status);
    const activated = await this.dataSource.transaction(async (tx) => {
      // Its minutes as they are now, locked: an extension made during this round counts.
      const current = await tx
        .getRepository(Reservation)
        .findOne({ where: { id: reservation.id }, lock: { mode: 'pessimistic_write' } });
      if (!current) {
        return undefined;
      }
      const expiresAt = new Date(
        now.getTime() + (current.durationMinutes + current.extendedMinutes) * MINUTE,
      );
      const active = await transition(tx, {
        id: reservation.id,
        from: ['provisioning'],
        to: 'active',
        message: `Ready: ${sshCommand}${jupyterUrl ? `; Jupyter at ${jupyterUrl}` : ''}`,
        set: { startedAt: now, expiresAt, sshCommand, jupyterUrl },
      });
      if (active) {
        // Its notice file learns the expiry (it was not known until now).
        await this.jobs.send(REAPPLY_QUEUE, { reservation_id: reservation.id }, { manager: tx });
      }
      return active;
    });
    if (activated) {
      this.metrics.observeTimeToActive(reservation.createdAt, now);
    }
  }
}

function jupyterUrlOf(reservation: Reservation, status: DeploymentStatus): string | null {
  return reservation.jupyter && status.jupyter_host ? `https://${status.jupyter_host}/` : null;
}

import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, In } from 'typeorm';
import { ClusterClients, type Cluster, ClusterRegistry } from '../../clusters/public';
import type { DeploymentStatus } from '../../deployer/public';
import { ReservationsConfig } from '../reservations.config';
import { ExclusiveTaskRunner } from '../../infra/cron/exclusive-task.runner';
import { PeriodicTask } from '../../infra/cron/periodic-task';
import { QueueService } from '../../infra/queue/queue.service';
import { ReservationMetrics } from '../reservation-metrics';
import { Reservation, type ReservationStatus } from '../reservation.entity';
import { recordEvent, recordEvents } from '../reservation-transitions';
import { endReservation } from './ending';
import { workloadProblem, workloadReady } from './workload-health';
import { queryPrepared } from '../../infra/database/prepared';

export const STATUS_SYNC_TASK = 'reservations.status-sync';

/**
 * Cron (exactly once across replicas): what each cluster says of the reservations on it, asked with
 * `GET /deployments?external_id=…` (100 ids a call, ODC_DEPLOYER_CLIENT_STATUS_CONCURRENCY calls in
 * flight per cluster, every cluster at once): the provisioning reservations every round
 * (ODC_STATUS_SYNC_INTERVAL_SECONDS), the running ones too every ODC_HEALTH_SYNC_INTERVAL_SECONDS.
 * A round is linear in what it asks about: one read of the reservations, one pass to group them.
 * Provisioning and ready → active, with how to connect and when it expires (no re-apply: the
 * notice file already says how long after activation); a workload that failed
 * (image, crash loop, evicted, node lost, its objects gone) → the reservation fails with that
 * reason, through teardown. A cluster that cannot be reached changes nothing (its health check
 * reports it).
 */
@Injectable()
export class StatusSyncTask extends PeriodicTask {
  private readonly logger = new Logger('StatusSync');
  private readonly healthPeriodMs: number;
  private lastHealthRound = Number.NEGATIVE_INFINITY;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly registry: ClusterRegistry,
    private readonly clients: ClusterClients,
    private readonly jobs: QueueService,
    runner: ExclusiveTaskRunner,
    private readonly metrics: ReservationMetrics,
    config: ReservationsConfig,
  ) {
    super(runner, STATUS_SYNC_TASK, config.ODC_STATUS_SYNC_INTERVAL_SECONDS * 1000);
    this.healthPeriodMs = config.ODC_HEALTH_SYNC_INTERVAL_SECONDS * 1000;
  }

  protected runRound(): Promise<void> {
    return this.sync();
  }

  async sync(now = this.clock.now()): Promise<void> {
    // Running reservations only every ODC_HEALTH_SYNC_INTERVAL_SECONDS: most rounds ask only
    // about what is starting, which is what waits on them.
    const statuses = statusesToAsk(now.getTime(), this.lastHealthRound, this.healthPeriodMs);
    if (statuses.includes('active')) {
      this.lastHealthRound = now.getTime();
    }
    // Only what a round reads of them: at thousands of rows, building whole entities is most of
    // the round's own CPU.
    const watched = await this.dataSource.getRepository(Reservation).find({
      select: {
        id: true,
        status: true,
        clusterId: true,
        externalId: true,
        jupyter: true,
        jupyterUrl: true,
        createdAt: true,
      },
      where: { status: In(statuses) },
    });
    const byCluster = groupByCluster(watched);
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
      statuses = await this.clients.for(clusterId).listDeployments(reservations.map((r) => r.externalId));
    } catch (error) {
      this.logger.warn({ cluster: cluster.name, err: error }, 'status of its deployments unknown this round');
      return;
    }
    const byExternalId = new Map(statuses.map((status) => [status.external_id, status]));
    const ready: { reservation: Reservation; status: DeploymentStatus }[] = [];
    for (const reservation of reservations) {
      const status = byExternalId.get(reservation.externalId);
      if (reservation.status === 'provisioning' && workloadReady(status)) {
        ready.push({ reservation, status: status! });
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
    if (ready.length > 0) {
      await this.activate(ready, cluster, now);
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

  /**
   * Ready → active, all of a round's at once: how to connect, and an expiry counted from now with
   * each row's minutes as they are under the UPDATE's lock (an extension made during this round
   * counts). One still provisioning only: one cancelled meanwhile stays as it is.
   */
  private async activate(
    ready: { reservation: Reservation; status: DeploymentStatus }[],
    cluster: Cluster,
    now: Date,
  ): Promise<void> {
    const connections = new Map(
      ready.map(({ reservation, status }) => {
        const host = cluster.profile.ssh_host ?? status.ssh?.host_ip ?? status.ssh?.node;
        return [
          reservation.id,
          {
            reservation,
            sshCommand: `ssh -p ${status.ssh!.node_port} dev@${host}`,
            jupyterUrl: jupyterUrlOf(reservation, status),
          },
        ];
      }),
    );
    const activated = await this.dataSource.transaction(async (tx) => {
      // Read back through a SELECT: TypeORM answers a bare UPDATE … RETURNING as [rows, count].
      const rows = await queryPrepared<{ id: string }>(
        tx,
        `WITH activated AS (
           UPDATE reservations r
           SET status = 'active', status_since = now(), version = r.version + 1, started_at = $1,
               expires_at = $1::timestamptz + (r.duration_minutes + r.extended_minutes) * interval '1 minute',
               ssh_command = a.ssh_command, jupyter_url = a.jupyter_url
           FROM unnest($2::uuid[], $3::text[], $4::text[]) AS a(id, ssh_command, jupyter_url)
           WHERE r.id = a.id AND r.status = 'provisioning'
           RETURNING r.id)
         SELECT id FROM activated`,
        [
          now,
          [...connections.keys()],
          [...connections.values()].map((c) => c.sshCommand),
          [...connections.values()].map((c) => c.jupyterUrl),
        ],
      );
      const active = rows.map((row) => connections.get(row.id)!);
      await recordEvents(
        tx,
        active.map(({ reservation, sshCommand, jupyterUrl }) => ({
          reservationId: reservation.id,
          fromStatus: 'provisioning',
          toStatus: 'active',
          message: `Ready: ${sshCommand}${jupyterUrl ? `; Jupyter at ${jupyterUrl}` : ''}`,
        })),
      );
      // No re-apply for the notice file: it already says how long after activation it expires
      // (noticeText), and the next re-apply (extension, share, warning) writes the time itself.
      return active;
    });
    for (const { reservation } of activated) {
      this.metrics.observeTimeToActive(reservation.createdAt, now);
    }
  }
}

/**
 * What a status sync round asks about: the provisioning reservations always (they wait on it), the
 * running ones too once `periodMs` has passed since the last round that asked about them.
 */
export function statusesToAsk(
  nowMs: number,
  lastWithRunningMs: number,
  periodMs: number,
): ReservationStatus[] {
  return nowMs - lastWithRunningMs >= periodMs ? ['provisioning', 'active'] : ['provisioning'];
}

/** Placed reservations by cluster, in one pass (a reservation without a cluster is left out). */
export function groupByCluster<T extends { clusterId: string | null }>(reservations: T[]): Map<string, T[]> {
  const byCluster = new Map<string, T[]>();
  for (const reservation of reservations) {
    if (!reservation.clusterId) {
      continue;
    }
    const group = byCluster.get(reservation.clusterId);
    if (group) {
      group.push(reservation);
    } else {
      byCluster.set(reservation.clusterId, [reservation]);
    }
  }
  return byCluster;
}

function jupyterUrlOf(reservation: Reservation, status: DeploymentStatus): string | null {
  return reservation.jupyter && status.jupyter_host ? `https://${status.jupyter_host}/` : null;
}

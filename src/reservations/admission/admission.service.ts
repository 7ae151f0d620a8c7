import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import { foreignGpus, NodeCapacityRow, ClusterRegistry } from '../../clusters/public';
import { QueueService } from '../../infra/queue/queue.service';
import { CLAIMING_STATUSES } from '../reservation.entity';
import { ReservationMetrics } from '../reservation-metrics';
import { PROVISION_QUEUE } from '../reservation-queues';
import { recordEvents } from '../reservation-transitions';
import { QueueStandings } from '../scheduling/queue-standings';
import type { PlannedStart } from '../scheduling/schedule';
import { SchedulingStateReader } from '../scheduling/scheduling-state';
import { queryPrepared } from '../../infra/database/prepared';

export interface PassResult {
  admitted: number;
  /** Plans another worker (or capacity that changed meanwhile) made impossible: re-planned next pass. */
  contended: number;
}

/**
 * One admission pass: plan from the database's view, then claim, in one transaction, every
 * reservation that may start now on its node, and store the standings of those left queued (reads
 * show them: nothing plans on a request). The plan is optimistic; the claim is not: it locks
 * the capacity rows of the planned nodes (in key order, so two passes cannot deadlock), recounts
 * what ODC holds on each and only then moves those that fit from queued to placing (a guarded
 * update: one cancelled meanwhile stays cancelled), with their events and provision jobs in the
 * same transaction. Two workers planning at once can therefore never overbook a node or place a
 * reservation twice.
 */
@Injectable()
export class AdmissionService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly scheduling: SchedulingStateReader,
    private readonly standings: QueueStandings,
    private readonly registry: ClusterRegistry,
    private readonly jobs: QueueService,
    private readonly metrics: ReservationMetrics,
  ) {}

  async pass(now = new Date()): Promise<PassResult> {
    const started = performance.now();
    const plan = await this.scheduling.plan(undefined, now);
    const admitted =
      plan.admit.length > 0 ? await this.dataSource.transaction((tx) => this.claim(tx, plan.admit)) : 0;
    // What stays queued shows this plan's standings (those claimed are no longer queued).
    await this.standings.store(plan);
    this.metrics.observeAdmissionPass((performance.now() - started) / 1000);
    return { admitted, contended: plan.admit.length - admitted };
  }

  /** Claims what still fits, in plan order; the number claimed. */
  private async claim(tx: EntityManager, planned: PlannedStart[]): Promise<number> {
    const free = await this.lockedFreeGpus(tx, planned);
    const fitting: PlannedStart[] = [];
    for (const start of planned) {
      const node = nodeKey(start.clusterId, start.nodeName);
      const left = free.get(node) ?? 0;
      if (left >= start.request.gpuCount) {
        free.set(node, left - start.request.gpuCount);
        fitting.push(start);
      }
    }
    if (fitting.length === 0) {
      return 0;
    }
    // Read back through a SELECT: TypeORM answers a bare UPDATE … RETURNING as [rows, count].
    const placedRows = await queryPrepared<{ id: string }>(
      tx,
      `WITH placed AS (
         UPDATE reservations r
         SET status = 'placing', cluster_id = p.cluster_id, node_name = p.node_name,
             status_since = now(), version = r.version + 1
         FROM unnest($1::uuid[], $2::uuid[], $3::text[]) AS p(id, cluster_id, node_name)
         WHERE r.id = p.id AND r.status = 'queued'
         RETURNING r.id)
       SELECT id FROM placed`,
      [
        fitting.map((start) => start.request.id),
        fitting.map((start) => start.clusterId),
        fitting.map((start) => start.nodeName),
      ],
    );
    const placed = new Set(placedRows.map((row) => row.id));
    const claimed = fitting.filter((start) => placed.has(start.request.id));
    await recordEvents(
      tx,
      claimed.map(({ request, clusterId, nodeName }) => ({
        reservationId: request.id,
        fromStatus: 'queued',
        toStatus: 'placing',
        message: `Placed on ${this.registry.get(clusterId)?.name ?? clusterId}, node ${nodeName}`,
        details: { cluster_id: clusterId, node: nodeName },
      })),
    );
    await this.jobs.sendMany(
      PROVISION_QUEUE,
      claimed.map((start) => ({ reservation_id: start.request.id })),
      { manager: tx },
    );
    return claimed.length;
  }

  /**
   * The planned nodes' capacity rows, locked (in key order), and the GPUs each has free for ODC
   * now: allocatable, less others' pods, less what ODC's reservations hold there. A node gone,
   * not ready or cordoned has none.
   */
  private async lockedFreeGpus(tx: EntityManager, planned: PlannedStart[]): Promise<Map<string, number>> {
    const nodes = [...new Map(planned.map((p) => [nodeKey(p.clusterId, p.nodeName), p])).values()];
    const clusters = nodes.map((p) => p.clusterId);
    const names = nodes.map((p) => p.nodeName);
    const rows = await tx
      .getRepository(NodeCapacityRow)
      .createQueryBuilder('node')
      .where(
        '(node.cluster_id, node.node_name) IN (SELECT * FROM unnest(CAST(:clusters AS uuid[]), CAST(:names AS text[])))',
        { clusters, names },
      )
      .orderBy('node.cluster_id')
      .addOrderBy('node.node_name')
      .setLock('pessimistic_write')
      .getMany();
    const held = await tx.query<{ cluster_id: string; node_name: string; gpus: number }[]>(
      `SELECT cluster_id, node_name, sum(gpu_count)::int AS gpus FROM reservations
       WHERE status = ANY($1) AND (cluster_id, node_name) IN (SELECT * FROM unnest($2::uuid[], $3::text[]))
       GROUP BY cluster_id, node_name`,
      [[...CLAIMING_STATUSES], clusters, names],
    );
    const heldOn = new Map(held.map((row) => [nodeKey(row.cluster_id, row.node_name), row.gpus]));
    return new Map(
      rows
        .filter((row) => row.ready && row.schedulable)
        .map((row) => {
          const node = nodeKey(row.clusterId, row.nodeName);
          return [node, row.allocatableGpus - foreignGpus(row) - (heldOn.get(node) ?? 0)];
        }),
    );
  }
}

function nodeKey(clusterId: string, nodeName: string): string {
  return `${clusterId}\u0000${nodeName}`;
}

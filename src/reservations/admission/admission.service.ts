import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, In } from 'typeorm';
import { foreignGpus } from '../../clusters/capacity/node-rules';
import { NodeCapacityRow } from '../../clusters/node-capacity.entity';
import { ClusterRegistry } from '../../clusters/registry/cluster-registry';
import { QueueService } from '../../infra/queue/queue.service';
import { CLAIMING_STATUSES, Reservation } from '../reservation.entity';
import { ReservationMetrics } from '../reservation-metrics';
import { PROVISION_QUEUE } from '../reservation-queues';
import { transition } from '../reservation-transitions';
import type { PlannedStart } from '../scheduling/schedule';
import { SchedulingStateReader } from '../scheduling/scheduling-state';

export interface PassResult {
  admitted: number;
  /** Plans another worker (or capacity that changed meanwhile) made impossible: re-planned next pass. */
  contended: number;
}

/**
 * One admission pass: plan from the database's view, then claim each reservation that may start
 * now on its node. The plan is optimistic; the claim is not: it locks the node's capacity row,
 * recounts what ODC holds there and only then moves the reservation from queued to placing (a
 * guarded transition), with its provision job in the same transaction. Two workers planning at
 * once can therefore never overbook a node or place a reservation twice.
 */
@Injectable()
export class AdmissionService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly scheduling: SchedulingStateReader,
    private readonly registry: ClusterRegistry,
    private readonly jobs: QueueService,
    private readonly metrics: ReservationMetrics,
  ) {}

  async pass(now = new Date()): Promise<PassResult> {
    const started = performance.now();
    const plan = await this.scheduling.plan(undefined, now);
    let admitted = 0;
    let contended = 0;
    for (const planned of plan.admit) {
      if (await this.claim(planned)) {
        admitted += 1;
      } else {
        contended += 1;
      }
    }
    this.metrics.observeAdmissionPass((performance.now() - started) / 1000);
    return { admitted, contended };
  }

  private async claim(planned: PlannedStart): Promise<boolean> {
    const { request, clusterId, nodeName } = planned;
    const cluster = this.registry.get(clusterId);
    return this.dataSource.transaction(async (tx) => {
      const node = await tx
        .getRepository(NodeCapacityRow)
        .findOne({ where: { clusterId, nodeName }, lock: { mode: 'pessimistic_write' } });
      if (!node || !node.ready || !node.schedulable) {
        return false;
      }
      const held = await tx
        .getRepository(Reservation)
        .sum('gpuCount', { clusterId, nodeName, status: In([...CLAIMING_STATUSES]) });
      const free = node.allocatableGpus - foreignGpus(node) - (held ?? 0);
      if (free < request.gpuCount) {
        return false;
      }
      const placed = await transition(tx, {
        id: request.id,
        from: ['queued'],
        to: 'placing',
        message: `Placed on ${cluster?.name ?? clusterId}, node ${nodeName}`,
        set: { clusterId, nodeName },
        details: { cluster_id: clusterId, node: nodeName },
      });
      if (!placed) {
        return false;
      }
      await this.jobs.send(PROVISION_QUEUE, { reservation_id: request.id }, { manager: tx });
      return true;
    });
  }
}

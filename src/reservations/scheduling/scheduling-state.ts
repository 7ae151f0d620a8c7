import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, In, type EntityManager } from 'typeorm';
import { standingOf } from '../../clusters/capacity/availability';
import { foreignGpus } from '../../clusters/capacity/node-rules';
import { NodeCapacityRow } from '../../clusters/node-capacity.entity';
import { ClusterRegistry } from '../../clusters/registry/cluster-registry';
import { AppConfig } from '../../infra/config/env';
import { CLAIMING_STATUSES, Reservation } from '../reservation.entity';
import { schedule, type Claim, type NodeState, type QueuedRequest, type Schedule } from './schedule';

const MINUTE = 60_000;

/** Where a queued reservation stands: its place among its type's queue and its expected start. */
export interface QueueStanding {
  position: number;
  /** Undefined when nothing known lets it start (no node large enough accepts it). */
  estimatedStart?: Date;
}

export interface SchedulingState {
  now: Date;
  nodes: NodeState[];
  claims: Claim[];
  queued: QueuedRequest[];
  usage: Map<string, number>;
}

/** Teardown of an ending reservation, as the planner expects it to take. */
const TEARDOWN_ALLOWANCE_MS = MINUTE;

/**
 * When a reservation holding GPUs is expected to let them go: not yet active, its full duration
 * from now; active, its expiry plus the grace period; past that (or ending), once teardown is done.
 * Never in the past: GPUs are free only once the reservation has ended.
 */
export function claimUntil(reservation: Reservation, now: Date, graceMs: number): Date {
  if (!reservation.expiresAt) {
    return new Date(now.getTime() + (reservation.durationMinutes + reservation.extendedMinutes) * MINUTE);
  }
  const earliest = now.getTime() + TEARDOWN_ALLOWANCE_MS;
  const expected = reservation.status === 'expiring' ? earliest : reservation.expiresAt.getTime() + graceMs;
  return new Date(Math.max(expected, earliest));
}

export function queuedRequest(reservation: Reservation): QueuedRequest {
  return {
    id: reservation.id,
    ownerId: reservation.ownerId,
    gpuType: reservation.gpuType,
    gpuCount: reservation.gpuCount,
    durationMs: (reservation.durationMinutes + reservation.extendedMinutes) * MINUTE,
    priority: reservation.priority,
    createdAt: reservation.createdAt,
    avoidClusters: reservation.refusedBy,
    ...(reservation.nodeLabels ? { nodeLabels: reservation.nodeLabels } : {}),
  };
}

/**
 * The database's view as the scheduler's input: nodes of accepting clusters (GPUs of pods ODC does
 * not manage are not ODC's to give), the GPUs ODC's reservations hold, the queue, and each owner's
 * GPUs in use.
 */
@Injectable()
export class SchedulingStateReader {
  private latest?: { startedAt: number; plan: Promise<Schedule> };

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly registry: ClusterRegistry,
    private readonly config: AppConfig,
  ) {}

  async read(manager: EntityManager = this.dataSource.manager, now = new Date()): Promise<SchedulingState> {
    const [rows, holding, queued] = await Promise.all([
      manager.getRepository(NodeCapacityRow).find(),
      manager.getRepository(Reservation).findBy({ status: In([...CLAIMING_STATUSES]) }),
      manager.getRepository(Reservation).findBy({ status: 'queued' }),
    ]);
    const nodes: NodeState[] = [];
    for (const row of rows) {
      const cluster = this.registry.get(row.clusterId);
      if (
        !cluster ||
        row.gpuType === null ||
        !standingOf(cluster).accepting ||
        !row.ready ||
        !row.schedulable
      ) {
        continue;
      }
      nodes.push({
        clusterId: row.clusterId,
        nodeName: row.nodeName,
        gpuType: row.gpuType,
        allocatable: row.allocatableGpus,
        foreign: foreignGpus(row),
        clusterPriority: cluster.priority,
        labels: row.labels,
      });
    }
    const usage = new Map<string, number>();
    const claims: Claim[] = [];
    for (const reservation of holding) {
      usage.set(reservation.ownerId, (usage.get(reservation.ownerId) ?? 0) + reservation.gpuCount);
      if (reservation.clusterId && reservation.nodeName) {
        claims.push({
          clusterId: reservation.clusterId,
          nodeName: reservation.nodeName,
          gpus: reservation.gpuCount,
          until: claimUntil(reservation, now, this.config.ODC_EXPIRY_GRACE_SECONDS * 1000),
        });
      }
    }
    return { now, nodes, claims, queued: queued.map(queuedRequest), usage };
  }

  async plan(manager?: EntityManager, now?: Date): Promise<Schedule> {
    return schedule(await this.read(manager, now));
  }

  /**
   * A plan that saw everything committed before `since` (a `performance.now()` instant): the one
   * being made, if it started after that, else a new one. Answers that show queue standings share
   * plans this way, so a burst of requests makes one plan per wave instead of one each.
   */
  planSince(since: number): Promise<Schedule> {
    if (this.latest && this.latest.startedAt >= since) {
      return this.latest.plan;
    }
    const startedAt = performance.now();
    const plan = this.plan();
    this.latest = { startedAt, plan };
    plan.catch(() => {
      if (this.latest?.plan === plan) {
        this.latest = undefined;
      }
    });
    return plan;
  }
}

/** Each queued reservation's place in its type's queue (from 1) and expected start. */
export function queueStandings(plan: Schedule): Map<string, QueueStanding> {
  const starts = new Map(
    [...plan.admit, ...plan.waiting].map((planned) => [planned.request.id, planned.start]),
  );
  const positions = new Map<string, number>();
  const standings = new Map<string, QueueStanding>();
  for (const request of plan.order) {
    const position = (positions.get(request.gpuType) ?? 0) + 1;
    positions.set(request.gpuType, position);
    const estimatedStart = starts.get(request.id);
    standings.set(request.id, { position, ...(estimatedStart ? { estimatedStart } : {}) });
  }
  return standings;
}

import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import { FOREIGN_GPUS_SQL } from '../../clusters/public';
import { sqlTextList } from '../../infra/database/prepared';
import { CLAIMING_STATUSES, type Reservation } from '../reservation.entity';
import type { Schedule } from './schedule';

/**
 * An expected start that moved by less than this is left as stored: estimates of reservations
 * behind ones still starting move with the clock on every pass, and rewriting them all each time
 * would be most of a pass's writes for no news.
 */
const ESTIMATE_TOLERANCE_SECONDS = 10;

/** Where a queued reservation stands: its place among its type's queue and its expected start. */
export interface QueueStanding {
  position: number;
  /** Undefined when nothing known lets it start (no node large enough accepts it). */
  estimatedStart?: Date;
}

/** Where a reservation may run, as a reserve checks it: the accepting clusters, and a disk's pin. */
export interface Reach {
  clusters: readonly string[];
  clusterId?: string;
  zone?: string;
}

/** What a standing is estimated from, before the reservation's row exists. */
export type NewReservation = Pick<Reservation, 'gpuType' | 'gpuCount' | 'priority' | 'nodeLabels'>;

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

/**
 * Queue standings kept on the queued rows, so that no read plans: each admission pass writes the
 * plan's (only rows whose position changed, or whose estimate moved by 10 s or more), and a new
 * reservation is inserted with an estimate made without planning, which the next pass (the one its
 * reserve asks for) replaces.
 */
@Injectable()
export class QueueStandings {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** Writes a plan's standings onto the reservations still queued; the number of rows changed. */
  async store(plan: Schedule, manager: EntityManager = this.dataSource.manager): Promise<number> {
    const standings = [...queueStandings(plan)];
    if (standings.length === 0) {
      return 0;
    }
    const rows = await manager.query<{ id: string }[]>(
      `WITH stored AS (
         UPDATE reservations r SET queue_position = s.position, estimated_start = s.start
         FROM unnest($1::uuid[], $2::int[], $3::timestamptz[]) AS s(id, position, start)
         WHERE r.id = s.id AND r.status = 'queued'
           AND (r.queue_position IS DISTINCT FROM s.position
                OR (r.estimated_start IS NULL) <> (s.start IS NULL)
                OR abs(extract(epoch FROM r.estimated_start - s.start)) >= $4)
         RETURNING r.id)
       SELECT id FROM stored`,
      [
        standings.map(([id]) => id),
        standings.map(([, standing]) => standing.position),
        standings.map(([, standing]) => standing.estimatedStart ?? null),
        ESTIMATE_TOLERANCE_SECONDS,
      ],
    );
    return rows.length;
  }
}

/** Adds a value to a statement's parameters and gives its placeholder (`$n`). */
export type SqlParameter = (value: unknown) => string;

/**
 * A new reservation's standing until the next pass, as SQL for its INSERT (one row: `position`,
 * `estimated_start`; its values through `p`): behind every queued reservation of its type at its
 * priority or above (it is the youngest); starting now when none is ahead and a node it may use has
 * its GPUs free now (others' pods as last synced, ODC's claims as they are), else when the last of
 * those ahead is expected to start (unknown if any of theirs is). Part of the INSERT's statement, so
 * a reserve waits for no round trip of its own.
 */
export function newStandingSql(p: SqlParameter, request: NewReservation, reach: Reach): string {
  const gpuType = p(request.gpuType);
  const [clusterId, zone] = [p(reach.clusterId ?? null), p(reach.zone ?? null)];
  const fitsNow = `EXISTS (
      SELECT 1 FROM capacity c
      WHERE c.gpu_type = ${gpuType} AND c.ready AND c.schedulable AND c.cluster_id = ANY(${p(reach.clusters)}::uuid[])
        AND (${clusterId}::uuid IS NULL OR c.cluster_id = ${clusterId}::uuid)
        AND (${zone}::text IS NULL OR c.zone = ${zone}::text)
        AND c.labels @> ${p(JSON.stringify(request.nodeLabels ?? {}))}::jsonb
        AND c.allocatable_gpus - ${FOREIGN_GPUS_SQL} - coalesce((
          SELECT sum(r.gpu_count) FROM reservations r
          WHERE r.cluster_id = c.cluster_id AND r.node_name = c.node_name
            AND r.status IN (${sqlTextList(CLAIMING_STATUSES)})), 0) >= ${p(request.gpuCount)}::int)`;
  return `SELECT count(*)::int + 1 AS position,
            CASE WHEN count(*) = 0 THEN CASE WHEN ${fitsNow} THEN now() END
                 WHEN count(*) FILTER (WHERE estimated_start IS NULL) = 0 THEN max(estimated_start)
            END AS estimated_start
     FROM reservations WHERE status = 'queued' AND gpu_type = ${gpuType} AND priority >= ${p(request.priority)}::int`;
}

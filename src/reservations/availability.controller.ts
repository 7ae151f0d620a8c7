import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Authenticated } from '../auth/public';
import {
  standingOf,
  summarizeAvailability,
  type AvailabilityFigures,
  type ClusterFigures,
  FOREIGN_GPUS_SQL,
  AvailabilityDto,
  ClusterRegistry,
} from '../clusters/public';
import { SharedRead } from '../infra/cache/shared-read';
import { ReservationsConfig } from './reservations.config';
import { CLAIMING_STATUSES, Reservation } from './reservation.entity';

@ApiTags('availability')
@Controller('api/v1/availability')
export class AvailabilityController {
  private readonly answer: SharedRead<AvailabilityDto>;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly registry: ClusterRegistry,
    config: ReservationsConfig,
  ) {
    this.answer = new SharedRead(() => this.compute(), config.ODC_SHARED_READS_MAX_AGE_SECONDS * 1000);
  }

  /**
   * The database adds up the nodes, and the answer is shared by every caller for
   * ODC_SHARED_READS_MAX_AGE_SECONDS: it costs what the clusters and types are, not what the nodes
   * or the callers are.
   */
  @Get()
  @ApiOperation({
    operationId: 'getAvailability',
    summary: 'See what is free',
    description:
      'Per GPU type and per cluster: total and free GPUs, the largest block free on one node (the most ' +
      'a reservation can get now), full nodes free, and how many reservations wait for the type. Nodes ' +
      'and others’ pods are as of the last capacity sync; ODC’s reservations as they were at most ' +
      'ODC_SHARED_READS_MAX_AGE_SECONDS ago.',
  })
  @Authenticated()
  @ApiOkResponse({ type: AvailabilityDto })
  availability(): Promise<AvailabilityDto> {
    return this.answer.get('all');
  }

  private async compute(): Promise<AvailabilityDto> {
    const clusters = new Map(this.registry.all().map((cluster) => [cluster.id, standingOf(cluster)]));
    const [figures, queued] = await Promise.all([this.figuresByCluster(), this.queuedByType()]);
    return { gpu_types: summarizeAvailability(figures, clusters, queued) };
  }

  /**
   * Each cluster's figures per GPU type, over its ready, schedulable nodes. In use on a node:
   * others' pods as the last sync saw them, plus what ODC's reservations hold there now (the sync
   * may not have seen a reservation placed a moment ago, or one just ended).
   */
  private async figuresByCluster(): Promise<ClusterFigures[]> {
    const rows = await this.dataSource.query<
      (AvailabilityFigures & { gpu_type: string; cluster_id: string })[]
    >(
      `WITH held AS (
         SELECT cluster_id, node_name, sum(gpu_count)::int AS gpus FROM reservations
         WHERE status = ANY($1) AND cluster_id IS NOT NULL GROUP BY cluster_id, node_name),
       node AS (
         SELECT c.gpu_type, c.cluster_id, c.allocatable_gpus, c.ready AND c.schedulable AS live,
                ${FOREIGN_GPUS_SQL} + coalesce(h.gpus, 0) AS used
         FROM capacity c LEFT JOIN held h USING (cluster_id, node_name)
         WHERE c.gpu_type IS NOT NULL)
       SELECT gpu_type, cluster_id,
              coalesce(sum(allocatable_gpus) FILTER (WHERE live), 0)::int AS total_gpus,
              coalesce(sum(greatest(0, allocatable_gpus - used)) FILTER (WHERE live), 0)::int AS free_gpus,
              coalesce(max(greatest(0, allocatable_gpus - used)) FILTER (WHERE live), 0)::int AS max_reservable,
              count(*) FILTER (WHERE live AND used = 0 AND allocatable_gpus > 0)::int AS full_nodes_free,
              count(*) FILTER (WHERE live)::int AS nodes
       FROM node GROUP BY gpu_type, cluster_id`,
      [[...CLAIMING_STATUSES]],
    );
    return rows.map(({ gpu_type: gpuType, cluster_id: clusterId, ...figures }) => ({
      gpuType,
      clusterId,
      ...figures,
    }));
  }

  private async queuedByType(): Promise<Map<string, number>> {
    const counts = await this.dataSource
      .getRepository(Reservation)
      .createQueryBuilder('r')
      .select('r.gpu_type', 'gpu_type')
      .addSelect('count(*)::int', 'queued')
      .where(`r.status = 'queued'`)
      .groupBy('r.gpu_type')
      .getRawMany<{ gpu_type: string; queued: number }>();
    return new Map(counts.map((row) => [row.gpu_type, row.queued]));
  }
}

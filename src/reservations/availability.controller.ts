import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Authenticated } from '../auth/auth.decorators';
import { standingOf, summarizeAvailability } from '../clusters/capacity/availability';
import { foreignGpus } from '../clusters/capacity/node-rules';
import { CapacitySync } from '../clusters/capacity/capacity-sync';
import { AvailabilityDto } from '../clusters/dto/availability.dto';
import { ClusterRegistry } from '../clusters/registry/cluster-registry';
import { CLAIMING_STATUSES, Reservation } from './reservation.entity';

@ApiTags('availability')
@Controller('api/v1/availability')
export class AvailabilityController {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly registry: ClusterRegistry,
    private readonly capacity: CapacitySync,
  ) {}

  /**
   * Per GPU type and per cluster: total and free GPUs, the largest block free on one node, full
   * nodes free (the nodes and others' pods as of the last capacity sync, ODC's reservations as they
   * are now), and how many reservations wait for the type.
   */
  @Get()
  @Authenticated()
  @ApiOkResponse({ type: AvailabilityDto })
  async availability(): Promise<AvailabilityDto> {
    const clusters = new Map(this.registry.all().map((cluster) => [cluster.id, standingOf(cluster)]));
    const [rows, held, queued] = await Promise.all([
      this.capacity.all(),
      this.heldByNode(),
      this.queuedByType(),
    ]);
    // In use: others' pods as the last sync saw them, plus what ODC's reservations hold now (the
    // sync may not have seen a reservation placed a moment ago, or one just ended).
    const current = rows.map((row) => ({
      ...row,
      usedGpus: foreignGpus(row) + (held.get(`${row.clusterId}/${row.nodeName}`) ?? 0),
    }));
    return { gpu_types: summarizeAvailability(current, clusters, queued) };
  }

  private async heldByNode(): Promise<Map<string, number>> {
    const rows = await this.dataSource
      .getRepository(Reservation)
      .createQueryBuilder('r')
      .select('r.cluster_id', 'cluster_id')
      .addSelect('r.node_name', 'node_name')
      .addSelect('sum(r.gpu_count)::int', 'gpus')
      .where('r.status IN (:...statuses)', { statuses: [...CLAIMING_STATUSES] })
      .groupBy('r.cluster_id')
      .addGroupBy('r.node_name')
      .getRawMany<{ cluster_id: string; node_name: string; gpus: number }>();
    return new Map(rows.map((row) => [`${row.cluster_id}/${row.node_name}`, row.gpus]));
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

import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Authenticated } from '../auth/auth.decorators';
import { standingOf, summarizeAvailability } from '../clusters/capacity/availability';
import { CapacitySync } from '../clusters/capacity/capacity-sync';
import { AvailabilityDto } from '../clusters/dto/availability.dto';
import { ClusterRegistry } from '../clusters/registry/cluster-registry';
import { Reservation } from './reservation.entity';

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
   * nodes free (from the last capacity sync, every ODC_CLUSTER_HEALTH_INTERVAL_SECONDS), and how
   * many reservations wait for the type.
   */
  @Get()
  @Authenticated()
  @ApiOkResponse({ type: AvailabilityDto })
  async availability(): Promise<AvailabilityDto> {
    const clusters = new Map(this.registry.all().map((cluster) => [cluster.id, standingOf(cluster)]));
    const [rows, queued] = await Promise.all([this.capacity.all(), this.queuedByType()]);
    return { gpu_types: summarizeAvailability(rows, clusters, queued) };
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

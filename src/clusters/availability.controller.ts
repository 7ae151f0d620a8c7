import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { Authenticated } from '../auth/auth.decorators';
import { summarizeAvailability, type ClusterStanding } from './capacity/availability';
import { CapacitySync } from './capacity/capacity-sync';
import type { Cluster } from './cluster.entity';
import { AvailabilityDto } from './dto/availability.dto';
import { ClusterRegistry } from './registry/cluster-registry';

/** New reservations may go to a cluster that is enabled, not draining, and healthy at its last check. */
export function standingOf(cluster: Cluster): ClusterStanding {
  return {
    name: cluster.name,
    accepting: cluster.enabled && !cluster.draining && cluster.status === 'healthy',
  };
}

@ApiTags('availability')
@Controller('api/v1/availability')
export class AvailabilityController {
  constructor(
    private readonly registry: ClusterRegistry,
    private readonly capacity: CapacitySync,
  ) {}

  /**
   * Per GPU type and per cluster: total and free GPUs, the largest block free on one node, full
   * nodes free and the queue, from the last capacity sync (every ODC_CLUSTER_HEALTH_INTERVAL_SECONDS).
   */
  @Get()
  @Authenticated()
  @ApiOkResponse({ type: AvailabilityDto })
  async availability(): Promise<AvailabilityDto> {
    const clusters = new Map(this.registry.all().map((cluster) => [cluster.id, standingOf(cluster)]));
    return { gpu_types: summarizeAvailability(await this.capacity.all(), clusters) };
  }
}

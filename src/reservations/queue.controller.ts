import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { Authenticated, CurrentPrincipal, type Principal } from '../auth/public';
import { GpuTypeDto, QUEUE_HEAD_DEFAULT, QueueDto, QueueQueryDto } from './dto/queue.dto';
import { ReservationQueries } from './reservation-queries';

@ApiTags('reservations')
@Controller('api/v1')
export class QueueController {
  constructor(private readonly reservations: ReservationQueries) {}

  /**
   * Per GPU type, the reservations waiting, in the order admission will take them, with estimated
   * waits as the last admission pass planned them: the head of each queue and your own entries.
   */
  @Get('queue')
  @Authenticated('reservations:read')
  @ApiOkResponse({ type: QueueDto })
  queue(@CurrentPrincipal() principal: Principal, @Query() query: QueueQueryDto): Promise<QueueDto> {
    return this.reservations.queue(principal, query.limit ?? QUEUE_HEAD_DEFAULT);
  }

  /** What may be reserved: each GPU type, its allowed GPU counts and its longest reservation. */
  @Get('gpu-types')
  @Authenticated()
  @ApiOkResponse({ type: [GpuTypeDto] })
  async gpuTypes(): Promise<GpuTypeDto[]> {
    return (await this.reservations.catalog()).map((type) => ({
      name: type.name,
      display_name: type.displayName,
      ...(type.gpuMemoryGb !== null ? { gpu_memory_gb: type.gpuMemoryGb } : {}),
      gpus_per_node: type.gpusPerNode,
      allowed_counts: type.allowedCounts,
      max_hours: type.maxHours,
    }));
  }
}

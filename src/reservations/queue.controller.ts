import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Authenticated, CurrentPrincipal, type Principal } from '../auth/public';
import { GpuTypeListDto, QUEUE_HEAD_DEFAULT, QueueDto, QueueQueryDto } from './dto/queue.dto';
import { ReservationQueries } from './reservation-queries';

@ApiTags('reservations')
@Controller('api/v1')
export class QueueController {
  constructor(private readonly reservations: ReservationQueries) {}

  @Get('queue')
  @ApiOperation({
    operationId: 'getQueue',
    summary: 'See the queue',
    description:
      'Per GPU type, the reservations waiting, in the order admission will take them, with estimated ' +
      'waits as the last admission pass planned them: the head of each queue (`limit` entries) and ' +
      'your own entries.',
  })
  @Authenticated('reservations:read')
  @ApiOkResponse({ type: QueueDto })
  queue(@CurrentPrincipal() principal: Principal, @Query() query: QueueQueryDto): Promise<QueueDto> {
    return this.reservations.queue(principal, query.limit ?? QUEUE_HEAD_DEFAULT);
  }

  @Get('gpu-types')
  @ApiOperation({
    operationId: 'listGpuTypes',
    summary: 'List the GPU types',
    description:
      'What may be reserved: each GPU type, its allowed GPU counts (a reservation never spans nodes) ' +
      'and its longest reservation. The values a reservation’s `gpu_type`, `gpu_count` and `hours` take.',
  })
  @Authenticated()
  @ApiOkResponse({ type: GpuTypeListDto })
  async gpuTypes(): Promise<GpuTypeListDto> {
    const items = (await this.reservations.catalog()).map((type) => ({
      name: type.name,
      display_name: type.displayName,
      ...(type.gpuMemoryGb !== null ? { gpu_memory_gb: type.gpuMemoryGb } : {}),
      gpus_per_node: type.gpusPerNode,
      allowed_counts: type.allowedCounts,
      max_hours: type.maxHours,
    }));
    return { items };
  }
}

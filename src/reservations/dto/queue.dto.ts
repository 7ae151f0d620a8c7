import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, Max, Min } from 'class-validator';

export const QUEUE_HEAD_DEFAULT = 100;
export const QUEUE_HEAD_MAX = 1000;

export class QueueQueryDto {
  @ApiPropertyOptional({
    type: 'integer',
    minimum: 1,
    maximum: QUEUE_HEAD_MAX,
    default: QUEUE_HEAD_DEFAULT,
    description: 'Entries shown from the head of each type’s queue (yours are shown wherever they are)',
  })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(QUEUE_HEAD_MAX)
  limit?: number;
}

export class QueueEntryDto {
  @ApiProperty({ description: 'From 1, in the order admission takes them' }) position!: number;
  @ApiPropertyOptional({ description: 'Yours (or any, for admins): its id' }) reservation_id?: string;
  @ApiPropertyOptional({ description: 'Shown for your own entries, and to admins' }) owner?: string;
  @ApiProperty() gpu_count!: number;
  @ApiProperty() hours!: number;
  @ApiProperty({ format: 'date-time' }) queued_at!: string;
  @ApiPropertyOptional({ description: 'Absent when nothing known lets it start' })
  estimated_wait_seconds?: number;
}

export class GpuTypeQueueDto {
  @ApiProperty() gpu_type!: string;
  @ApiProperty({ description: 'Reservations waiting for the type, all of them' }) length!: number;
  @ApiPropertyOptional({ description: 'The longest estimated wait in the queue: how long its last may wait' })
  longest_wait_seconds?: number;
  @ApiProperty({
    type: [QueueEntryDto],
    description: 'The head of the queue (`limit` entries) and, beyond it, your own entries; in order',
  })
  entries!: QueueEntryDto[];
}

export class QueueDto {
  @ApiProperty({ type: [GpuTypeQueueDto] }) gpu_types!: GpuTypeQueueDto[];
}

export class GpuTypeDto {
  @ApiProperty({ example: 'h100' }) name!: string;
  @ApiProperty() display_name!: string;
  @ApiPropertyOptional() gpu_memory_gb?: number;
  @ApiProperty() gpus_per_node!: number;
  @ApiProperty({ type: [Number] }) allowed_counts!: number[];
  @ApiProperty() max_hours!: number;
}

export class GpuTypeListDto {
  @ApiProperty({ type: [GpuTypeDto] }) items!: GpuTypeDto[];
}

import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

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
  @ApiProperty() length!: number;
  @ApiProperty({ type: [QueueEntryDto] }) entries!: QueueEntryDto[];
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

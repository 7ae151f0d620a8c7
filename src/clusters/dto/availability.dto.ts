import { ApiProperty } from '@nestjs/swagger';
import type { ClusterAvailability, GpuTypeAvailability } from '../capacity/availability';
import type { NodeCapacityRow } from '../node-capacity.entity';

export class ClusterAvailabilityDto implements ClusterAvailability {
  @ApiProperty() cluster!: string;
  @ApiProperty({ description: 'Enabled, not draining and healthy: new reservations may go there' })
  accepting!: boolean;
  @ApiProperty({ description: 'GPUs on ready, schedulable nodes' }) total_gpus!: number;
  @ApiProperty() free_gpus!: number;
  @ApiProperty({ description: 'The most GPUs free on one node: the largest reservation that fits now' })
  max_reservable!: number;
  @ApiProperty({ description: 'Nodes with every GPU free' }) full_nodes_free!: number;
  @ApiProperty() nodes!: number;
}

export class GpuTypeAvailabilityDto implements GpuTypeAvailability {
  @ApiProperty({ example: 'h100' }) gpu_type!: string;
  @ApiProperty({ description: 'Over accepting clusters' }) total_gpus!: number;
  @ApiProperty() free_gpus!: number;
  @ApiProperty() max_reservable!: number;
  @ApiProperty() full_nodes_free!: number;
  @ApiProperty() nodes!: number;
  @ApiProperty({ description: 'Reservations waiting for this type' }) queued!: number;
  @ApiProperty({ type: [ClusterAvailabilityDto] }) clusters!: ClusterAvailabilityDto[];
}

export class AvailabilityDto {
  @ApiProperty({ type: [GpuTypeAvailabilityDto] }) gpu_types!: GpuTypeAvailabilityDto[];
}

/** One node of a cluster as its deployer last reported it. */
export class NodeCapacityDto {
  @ApiProperty() node!: string;
  @ApiProperty({
    nullable: true,
    type: String,
    description: "The profile's GPU type whose node selector it matches",
  })
  gpu_type!: string | null;
  @ApiProperty() allocatable_gpus!: number;
  @ApiProperty() used_gpus!: number;
  @ApiProperty() free_gpus!: number;
  @ApiProperty() ready!: boolean;
  @ApiProperty() schedulable!: boolean;
  @ApiProperty({ nullable: true, type: String }) zone!: string | null;
  @ApiProperty({ format: 'date-time' }) seen_at!: string;

  static from(row: NodeCapacityRow): NodeCapacityDto {
    return {
      node: row.nodeName,
      gpu_type: row.gpuType,
      allocatable_gpus: row.allocatableGpus,
      used_gpus: row.usedGpus,
      free_gpus: Math.max(0, row.allocatableGpus - row.usedGpus),
      ready: row.ready,
      schedulable: row.schedulable,
      zone: row.zone,
      seen_at: row.seenAt.toISOString(),
    };
  }
}

export class ClusterCapacityDto {
  @ApiProperty() cluster_id!: string;
  @ApiProperty() cluster!: string;
  @ApiProperty({ type: [NodeCapacityDto] }) nodes!: NodeCapacityDto[];
}

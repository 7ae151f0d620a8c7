import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * The GPU catalog: what may be reserved. Seeded by migration (t4, l4, a10g, a100, h100, h200,
 * b200, and CPU-only types with no GPU); clusters say which types they offer in their profile.
 */
@Entity({ name: 'gpu_types' })
export class GpuType {
  @PrimaryColumn({ type: 'varchar', length: 32 })
  name!: string;

  @Column({ name: 'display_name', type: 'text' })
  displayName!: string;

  /** The extended resource pods request (`nvidia.com/gpu`); null for CPU-only types. */
  @Column({ name: 'resource_name', type: 'text', nullable: true })
  resourceName!: string | null;

  @Column({ name: 'gpu_memory_gb', type: 'integer', nullable: true })
  gpuMemoryGb!: number | null;

  /** GPUs on one node of this type: the largest reservation (never split across nodes). */
  @Column({ name: 'gpus_per_node', type: 'integer' })
  gpusPerNode!: number;

  /** The GPU counts a reservation may ask for. */
  @Column({ name: 'allowed_counts', type: 'integer', array: true })
  allowedCounts!: number[];

  /** The longest single reservation (extensions are bounded by the lifetime limit). */
  @Column({ name: 'max_hours', type: 'integer', default: 24 })
  maxHours!: number;

  @Column({ type: 'boolean', default: true })
  enabled!: boolean;
}

import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { Cluster } from './cluster.entity';

/**
 * One node of a cluster as its deployer last reported it (cron capacity sync): the source for
 * placement and for `/availability`. Rows not seen for a while are dropped.
 */
@Entity({ name: 'capacity' })
export class NodeCapacityRow {
  @PrimaryColumn({ name: 'cluster_id', type: 'uuid' })
  clusterId!: string;

  @PrimaryColumn({ name: 'node_name', type: 'varchar', length: 253 })
  nodeName!: string;

  @ManyToOne(() => Cluster, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'cluster_id' })
  cluster?: Cluster;

  /** The catalog name (`h100`) the cluster profile maps this node to; null for nodes without GPUs of a known type. */
  @Index('IDX_capacity_gpu_type')
  @Column({ name: 'gpu_type', type: 'varchar', length: 64, nullable: true })
  gpuType!: string | null;

  @Column({ name: 'allocatable_gpus', type: 'integer' })
  allocatableGpus!: number;

  /** GPUs requested by any pod on the node. */
  @Column({ name: 'used_gpus', type: 'integer' })
  usedGpus!: number;

  /** Of those, ODC's own (pods its deployer manages); the rest belong to others and stay. */
  @Column({ name: 'managed_gpus', type: 'integer', default: 0 })
  managedGpus!: number;

  @Column({ type: 'boolean' })
  ready!: boolean;

  @Column({ type: 'boolean' })
  schedulable!: boolean;

  @Column({ type: 'varchar', length: 128, nullable: true })
  zone!: string | null;

  /** The node's labels as last reported: a reservation's node_labels are matched against them. */
  @Column({ type: 'jsonb', default: () => "'{}'" })
  labels!: Record<string, string>;

  @Column({ name: 'seen_at', type: 'timestamptz' })
  seenAt!: Date;
}

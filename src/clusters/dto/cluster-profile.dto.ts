import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayUnique,
  IsArray,
  IsIn,
  IsInt,
  IsNotEmptyObject,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
  ValidateNested,
  IsBoolean,
} from 'class-validator';
import {
  DNS_LABEL,
  DNS_SUBDOMAIN,
  DNS_SUBDOMAIN_SCHEMA,
  IsLabelMap,
  LABEL_MAP_SCHEMA,
} from '../../infra/kubernetes/names';

/** A GPU type name of the catalog (`h100`, `a100`, `t4`, `cpu`…). */
export const GPU_TYPE_NAME = /^[a-z0-9][a-z0-9-]{0,31}$/;
const EXTENDED_RESOURCE = /^[a-z0-9.-]+\/[a-z0-9.-]+$/;
const STORAGE_DOMAIN = /^[A-Za-z0-9][A-Za-z0-9:._/-]{0,127}$/;
/** Kubernetes' default NodePort range, 30000–32767. */
export const DEFAULT_NODE_PORTS = 2768;

/** A GPU type this cluster offers, and how its nodes are recognised and requested. */
export class ProfileGpuType {
  @ApiProperty({ example: 'h100', description: 'Catalog name', pattern: GPU_TYPE_NAME.source })
  @Matches(GPU_TYPE_NAME, { message: 'name must be a GPU type name like h100 (lower case, digits, -)' })
  name!: string;

  @ApiProperty({
    example: { 'nvidia.com/gpu.product': 'NVIDIA-H100-80GB-HBM3' },
    description: 'Node labels that identify these nodes (also the pods’ node selector)',
    ...LABEL_MAP_SCHEMA,
    minProperties: 1,
  })
  @IsLabelMap()
  // An empty selector would match every node, CPU nodes too.
  @IsNotEmptyObject({}, { message: 'node_selector must name at least one label' })
  node_selector!: Record<string, string>;

  @ApiProperty({
    example: 8,
    description: 'GPUs on each node of this type',
    type: 'integer',
    minimum: 1,
    maximum: 64,
  })
  @IsInt()
  @Min(1)
  @Max(64)
  gpus_per_node!: number;

  @ApiPropertyOptional({
    example: 'nvidia.com/gpu',
    default: 'nvidia.com/gpu',
    pattern: EXTENDED_RESOURCE.source,
  })
  @IsOptional()
  @Matches(EXTENDED_RESOURCE, {
    message: 'resource_name must be an extended resource like nvidia.com/gpu',
  })
  resource_name?: string;
}

export class ProfileToleration {
  @ApiPropertyOptional({ example: 'nvidia.com/gpu' })
  @IsOptional()
  @IsString()
  key?: string;

  @ApiPropertyOptional({ enum: ['Exists', 'Equal'] })
  @IsOptional()
  @IsIn(['Exists', 'Equal'])
  operator?: 'Exists' | 'Equal';

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  value?: string;

  @ApiPropertyOptional({ enum: ['NoSchedule', 'PreferNoSchedule', 'NoExecute'] })
  @IsOptional()
  @IsIn(['NoSchedule', 'PreferNoSchedule', 'NoExecute'])
  effect?: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
}

/**
 * What the coordinator needs to build manifests that are right for this cluster the first time:
 * where they go, how they are exposed, stored and snapshotted, which GPU nodes exist and how to
 * land on them.
 */
export class ClusterProfile {
  @ApiPropertyOptional({
    example: 'gpu-east.example.com',
    description:
      "Where users reach the SSH node ports (a bastion or a nodes' public name); default: the node's address",
    ...DNS_SUBDOMAIN_SCHEMA,
  })
  @IsOptional()
  @Matches(DNS_SUBDOMAIN, { message: 'ssh_host must be a DNS name' })
  ssh_host?: string;

  @ApiPropertyOptional({
    default: false,
    description:
      "A simulated cluster (a development start's local-sim): nothing listens at its SSH and Jupyter addresses, and reservations there say so",
  })
  @IsOptional()
  @IsBoolean()
  simulated?: boolean;

  @ApiPropertyOptional({
    type: 'integer',
    example: 2768,
    default: DEFAULT_NODE_PORTS,
    minimum: 1,
    maximum: 65535,
    description:
      "NodePorts ODC's reservations may hold on this cluster: each has one for SSH, and one more with Jupyter. A counted resource: when they are taken, requests queue for this cluster until a reservation there ends. Default: the size of Kubernetes' default range (30000–32767); set it to your range's size less what other Services use.",
  })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(65535)
  node_ports?: number;

  @ApiPropertyOptional({ example: 'odc-workloads', default: 'odc-workloads', pattern: DNS_LABEL.source })
  @IsOptional()
  @Matches(DNS_LABEL, { message: 'namespace must be a DNS-1123 label' })
  namespace?: string;

  @ApiPropertyOptional({ example: 'nginx', ...DNS_SUBDOMAIN_SCHEMA })
  @IsOptional()
  @Matches(DNS_SUBDOMAIN, { message: 'ingress_class must be a DNS-1123 subdomain' })
  ingress_class?: string;

  @ApiPropertyOptional({
    example: 'gpu.example.com',
    description: 'A reservation with Jupyter gets https://<external id>.<domain>/',
    ...DNS_SUBDOMAIN_SCHEMA,
  })
  @IsOptional()
  @Matches(DNS_SUBDOMAIN, { message: 'ingress_domain must be a DNS name' })
  ingress_domain?: string;

  @ApiPropertyOptional({ example: 'gp3', ...DNS_SUBDOMAIN_SCHEMA })
  @IsOptional()
  @Matches(DNS_SUBDOMAIN, { message: 'storage_class must be a DNS-1123 subdomain' })
  storage_class?: string;

  @ApiPropertyOptional({ example: 'ebs-snapshots', ...DNS_SUBDOMAIN_SCHEMA })
  @IsOptional()
  @Matches(DNS_SUBDOMAIN, { message: 'volume_snapshot_class must be a DNS-1123 subdomain' })
  volume_snapshot_class?: string;

  @ApiPropertyOptional({
    example: 'aws:123456789012:us-east-2',
    description:
      'Clusters with the same storage domain share a storage backend (the same cloud account and region, or the same array): a disk snapshot taken in one can be restored in another. Unset: this cluster shares with none.',
    pattern: STORAGE_DOMAIN.source,
  })
  @IsOptional()
  @Matches(STORAGE_DOMAIN, {
    message: 'storage_domain must be up to 128 letters, digits and : . _ / -',
  })
  storage_domain?: string;

  @ApiPropertyOptional({ type: [ProfileGpuType], maxItems: 32 })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(32)
  @ValidateNested({ each: true })
  @Type(() => ProfileGpuType)
  gpu_types?: ProfileGpuType[];

  @ApiPropertyOptional({ type: [ProfileToleration], maxItems: 16 })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(16)
  @ValidateNested({ each: true })
  @Type(() => ProfileToleration)
  tolerations?: ProfileToleration[];

  @ApiPropertyOptional({ example: 'topology.kubernetes.io/zone', default: 'topology.kubernetes.io/zone' })
  @IsOptional()
  @IsString()
  zone_label?: string;

  @ApiPropertyOptional({ example: ['us-east-1a', 'us-east-1b'], maxItems: 32, uniqueItems: true })
  @IsOptional()
  @IsArray()
  @ArrayUnique()
  @ArrayMaxSize(32)
  @IsString({ each: true })
  zones?: string[];
}

export const DEFAULT_ZONE_LABEL = 'topology.kubernetes.io/zone';

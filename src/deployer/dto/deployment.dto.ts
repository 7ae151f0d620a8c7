/**
 * The deployment endpoints' shapes for the OpenAPI document. Each class implements its contract
 * type, so the compiler keeps the two in step; the request body itself is checked by
 * parseDeploymentSpec (manifests are Kubernetes' to validate); the log query by LogQueryDto.
 */
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import { IsBoolean, IsInt, IsOptional, IsString, Min } from 'class-validator';
import type {
  AppliedObject,
  ApplyResult,
  ClusterCapacity,
  DeployerHealth,
  DeploymentMetadata,
  DeploymentStatus,
  GpuTypeCapacity,
  LogOptions,
  Manifest,
  NodeCapacity,
  PodSummary,
  SshEndpoint,
  UrlReady,
} from '../contract';

const MANIFEST = {
  type: 'object',
  additionalProperties: true,
  description: 'A full Kubernetes object (apiVersion, kind, metadata, spec)',
} as const;

export class DeploymentMetadataDto implements DeploymentMetadata {
  @ApiProperty({ example: 'res-7f3a', description: 'DNS-1123 label; the idempotency key' })
  external_id!: string;
  @ApiProperty() reservation_id!: string;
  @ApiProperty() user_id!: string;
  @ApiProperty() username!: string;
  @ApiProperty({ example: 1, description: 'The contract version the caller speaks' }) spec_version!: number;
  @ApiPropertyOptional({
    example: 'odc-disk-0123456789ab-g1',
    description:
      'The persistent disk’s claim the workload mounts: the only claim besides its own it may mount',
  })
  disk_claim?: string;
}

export class DeploymentSpecDto {
  @ApiProperty({ type: DeploymentMetadataDto }) metadata!: DeploymentMetadataDto;
  @ApiPropertyOptional({ ...MANIFEST, description: 'apps/v1 Deployment (or `pod`)' }) deployment?: Manifest;
  @ApiPropertyOptional({ ...MANIFEST, description: 'v1 Pod (or `deployment`)' }) pod?: Manifest;
  @ApiPropertyOptional(MANIFEST) service?: Manifest;
  @ApiPropertyOptional(MANIFEST) ingress?: Manifest;
  @ApiPropertyOptional({ type: 'array', items: MANIFEST }) config_maps?: Manifest[];
  @ApiPropertyOptional({ type: 'array', items: MANIFEST }) persistent_volumes?: Manifest[];
  @ApiPropertyOptional({ type: 'array', items: MANIFEST }) persistent_volume_claims?: Manifest[];
  @ApiPropertyOptional(MANIFEST) pod_disruption_budget?: Manifest;
}

export class AppliedObjectDto implements AppliedObject {
  @ApiProperty() kind!: string;
  @ApiProperty() name!: string;
  @ApiPropertyOptional() namespace?: string;
  @ApiProperty({ enum: ['created', 'configured', 'unchanged', 'pruned'] }) action!: AppliedObject['action'];
}

export class ApplyResultDto implements ApplyResult {
  @ApiProperty() external_id!: string;
  @ApiProperty({ type: [AppliedObjectDto] }) objects!: AppliedObjectDto[];
}

export class PodSummaryDto implements PodSummary {
  @ApiProperty() name!: string;
  @ApiProperty({ example: 'Running' }) phase!: string;
  @ApiProperty() ready!: boolean;
  @ApiPropertyOptional() node?: string;
  @ApiProperty() restarts!: number;
  @ApiPropertyOptional({ example: 'OOMKilled' }) last_termination_reason?: string;
  @ApiPropertyOptional({ example: '0/4 nodes are available: 4 Insufficient nvidia.com/gpu.' })
  scheduling_message?: string;
}

export class WarningEventDto {
  @ApiProperty() reason!: string;
  @ApiProperty() message!: string;
  @ApiProperty({ example: 'Pod/res-7f3a-5d9c8-abcde' }) object!: string;
  @ApiPropertyOptional({ format: 'date-time' }) at?: string;
}

export class SshEndpointDto implements SshEndpoint {
  @ApiProperty({
    example: 30022,
    description: 'The node port of the Service port named `ssh`: `ssh -p <node_port> dev@<host_ip>`',
  })
  node_port!: number;
  @ApiPropertyOptional({
    example: '10.0.0.12',
    description: 'The address of the node the ready (else running) pod runs on (its `status.hostIP`)',
  })
  host_ip?: string;
  @ApiPropertyOptional({ description: 'The node the pod runs on' }) node?: string;
}

export class DeploymentStatusDto implements DeploymentStatus {
  @ApiProperty() external_id!: string;
  @ApiProperty() exists!: boolean;
  @ApiProperty() ready_replicas!: number;
  @ApiProperty({ type: [PodSummaryDto] }) pods!: PodSummaryDto[];
  @ApiProperty({ type: [WarningEventDto] }) warnings!: WarningEventDto[];
  @ApiPropertyOptional({
    type: SshEndpointDto,
    description: 'Once the deployment’s Service has a node port for its `ssh` port',
  })
  ssh?: SshEndpointDto;
  @ApiPropertyOptional({
    example: 'res-7f3a.gpu.example.com',
    description: 'The host of the deployment’s Ingress rule (Jupyter), when it has one',
  })
  jupyter_host?: string;
}

export class UrlReadyChecksDto {
  @ApiProperty() workload!: boolean;
  @ApiProperty() service!: boolean;
  @ApiProperty() ingress!: boolean;
}

export class UrlReadyDto implements UrlReady {
  @ApiProperty({ description: 'The workload is ready and reachable through its Service' }) ready!: boolean;
  @ApiProperty({ type: UrlReadyChecksDto }) checks!: UrlReadyChecksDto;
}

export class NodeCapacityDto implements NodeCapacity {
  @ApiProperty() name!: string;
  @ApiPropertyOptional({ example: 'NVIDIA-H100-80GB-HBM3' }) gpu_type?: string;
  @ApiProperty({ type: 'object', additionalProperties: { type: 'string' } }) labels!: Record<string, string>;
  @ApiProperty() allocatable_gpus!: number;
  @ApiProperty() requested_gpus!: number;
  @ApiProperty({ description: 'Of the requested GPUs, those of pods this deployer manages' })
  managed_gpus!: number;
  @ApiProperty() ready!: boolean;
  @ApiProperty() schedulable!: boolean;
}

export class GpuTypeCapacityDto implements GpuTypeCapacity {
  @ApiProperty() gpu_type!: string;
  @ApiProperty() nodes!: number;
  @ApiProperty() allocatable_gpus!: number;
  @ApiProperty() requested_gpus!: number;
  @ApiProperty({ description: 'On ready, schedulable nodes only' }) free_gpus!: number;
}

export class ClusterCapacityDto implements ClusterCapacity {
  @ApiProperty({ type: [NodeCapacityDto] }) nodes!: NodeCapacityDto[];
  @ApiProperty({ type: [GpuTypeCapacityDto] }) totals!: GpuTypeCapacityDto[];
}

export class KubernetesReachDto {
  @ApiProperty({ enum: [true] }) reachable!: true;
  @ApiProperty({ example: 'v1.32.0' }) version!: string;
}

export class DeployerHealthDto implements DeployerHealth {
  @ApiProperty({ enum: ['ok'] }) status!: 'ok';
  @ApiProperty({ type: KubernetesReachDto }) kubernetes!: KubernetesReachDto;
  @ApiProperty({ type: [String] }) namespaces!: string[];
  @ApiProperty() uptime_seconds!: number;
}

const queryBoolean = ({ value }: { value: unknown }) =>
  value === 'true' ? true : value === 'false' ? false : value;

/** GET /deployments/{id}/logs: Kubernetes' pod log options. */
export class LogQueryDto implements LogOptions {
  @ApiPropertyOptional({ description: 'Default: the pod’s only or first container' })
  @IsOptional()
  @IsString()
  container?: string;

  @ApiPropertyOptional({ minimum: 0 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  tailLines?: number;

  @ApiPropertyOptional({ minimum: 1 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  sinceSeconds?: number;

  @ApiPropertyOptional({ description: 'The previous (terminated) container’s log, e.g. after an OOM kill' })
  @IsOptional()
  @Transform(queryBoolean)
  @IsBoolean()
  previous?: boolean;

  @ApiPropertyOptional()
  @IsOptional()
  @Transform(queryBoolean)
  @IsBoolean()
  timestamps?: boolean;
}

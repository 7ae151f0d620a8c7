/**
 * The deployment endpoints' shapes for the OpenAPI document. Each class implements its contract
 * type, so the compiler keeps the two in step; the request body itself is checked by
 * parseDeploymentSpec (manifests are Kubernetes' to validate); the log query by LogQueryDto.
 */
import {
  ApiProperty,
  ApiPropertyOptional,
  type ApiPropertyOptions,
  type SchemaObject,
} from '@nestjs/swagger';
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
import { SPEC_VERSION } from '../contract';
import { DNS_LABEL, DNS_SUBDOMAIN_SCHEMA } from '../../infra/kubernetes/names';

/** What parseDeploymentSpec asks of every object; the rest is Kubernetes' and the policy's to judge. */
const MANIFEST_SCHEMA: SchemaObject = {
  type: 'object',
  additionalProperties: true,
  required: ['apiVersion', 'kind', 'metadata'],
  properties: {
    apiVersion: { type: 'string' },
    kind: { type: 'string' },
    metadata: {
      type: 'object',
      additionalProperties: true,
      required: ['name'],
      properties: { name: DNS_SUBDOMAIN_SCHEMA },
    },
  },
  description: 'A full Kubernetes object (apiVersion, kind, metadata, spec)',
};
// Through allOf: ApiProperty takes `required` for the property's own (a boolean), and would drop
// the object's list of required fields.
const MANIFEST: ApiPropertyOptions = { allOf: [MANIFEST_SCHEMA] };

/** A spec runs one workload: a deployment or a pod, never both (parseDeploymentSpec). */
export const DEPLOYMENT_SPEC_SCHEMA: SchemaObject = {
  allOf: [{ $ref: '#/components/schemas/DeploymentSpecDto' }],
  // Each branch also says the other workload is absent (or null), so no body matches both.
  oneOf: [
    {
      required: ['deployment'],
      properties: { deployment: { type: 'object' }, pod: { not: { type: 'object' } } },
    },
    {
      required: ['pod'],
      properties: { pod: { type: 'object' }, deployment: { not: { type: 'object' } } },
    },
  ],
};

export class DeploymentMetadataDto implements DeploymentMetadata {
  @ApiProperty({
    example: 'res-7f3a',
    description: 'DNS-1123 label; the idempotency key',
    pattern: DNS_LABEL.source,
  })
  external_id!: string;
  @ApiProperty() reservation_id!: string;
  @ApiProperty() user_id!: string;
  @ApiProperty() username!: string;
  @ApiProperty({
    example: SPEC_VERSION,
    enum: [SPEC_VERSION],
    description: 'The contract version the caller speaks',
  })
  spec_version!: number;
  @ApiPropertyOptional({
    ...DNS_SUBDOMAIN_SCHEMA,
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
  @ApiPropertyOptional({ type: 'array', items: MANIFEST_SCHEMA }) config_maps?: Manifest[];
  @ApiPropertyOptional({ type: 'array', items: MANIFEST_SCHEMA }) persistent_volumes?: Manifest[];
  @ApiPropertyOptional({ type: 'array', items: MANIFEST_SCHEMA }) persistent_volume_claims?: Manifest[];
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

  @ApiPropertyOptional({ type: 'integer', minimum: 0 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  tailLines?: number;

  @ApiPropertyOptional({ type: 'integer', minimum: 1 })
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

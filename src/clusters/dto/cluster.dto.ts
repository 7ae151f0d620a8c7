import { ApiProperty, ApiPropertyOptional, PartialType } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  IsBoolean,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
  ValidateNested,
} from 'class-validator';
import { DNS_LABEL } from '../../infra/kubernetes/names';
import { HTTP_URL } from '../../infra/http/http-url';
import { IsVisibleName } from '../../infra/http/name-validators';
import { CLUSTER_STATUSES, type Cluster, type ClusterStatus } from '../cluster.entity';
import { certificateSummary, type CertificateSummary } from '../secrets/pem-check';
import { ClusterProfile } from './cluster-profile.dto';

const PEM_MAX = 64 * 1024;
/**
 * Registration: the fields the platform ODC replaces registers a cluster with, plus draining, a
 * bearer token and the profile.
 */
export class CreateClusterDto {
  @ApiProperty({
    example: 'gpu-cluster-east',
    description: 'A DNS-1123 label, unique',
    pattern: DNS_LABEL.source,
  })
  @Matches(DNS_LABEL, { message: 'name must be a DNS-1123 label (lower case, digits, -; at most 63)' })
  @IsVisibleName()
  name!: string;

  @ApiProperty({
    example: 'https://deployer.gpu-east.example.com:8443',
    pattern: HTTP_URL.source,
    maxLength: 512,
  })
  @Matches(HTTP_URL, {
    message: 'deployer_url must be an http(s) URL without query or fragment',
  })
  @MaxLength(512)
  deployer_url!: string;

  @ApiPropertyOptional({ default: true })
  @IsOptional()
  @IsBoolean()
  enabled?: boolean;

  @ApiPropertyOptional({
    default: 100,
    description: 'Lower is preferred',
    type: 'integer',
    minimum: 0,
    maximum: 10_000,
  })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(10_000)
  priority?: number;

  @ApiPropertyOptional({
    description:
      'Present client_cert/client_key to the deployer; on registration, defaults to whether client_cert is sent',
  })
  @IsOptional()
  @IsBoolean()
  mtls_enabled?: boolean;

  @ApiPropertyOptional({
    description: "PEM: the CA that signed the deployer's server certificate (pinned)",
    maxLength: PEM_MAX,
  })
  @IsOptional()
  @IsString()
  @MaxLength(PEM_MAX)
  ca_cert?: string;

  @ApiPropertyOptional({
    description: 'PEM: the certificate ODC presents to the deployer',
    maxLength: PEM_MAX,
  })
  @IsOptional()
  @IsString()
  @MaxLength(PEM_MAX)
  client_cert?: string;

  @ApiPropertyOptional({
    description: 'PEM: its private key; stored encrypted, never returned',
    writeOnly: true,
    maxLength: PEM_MAX,
  })
  @IsOptional()
  @IsString()
  @MaxLength(PEM_MAX)
  client_key?: string;

  @ApiPropertyOptional({
    description: "The deployer's bearer token; stored encrypted, never returned",
    writeOnly: true,
    minLength: 16,
    maxLength: 4096,
  })
  @IsOptional()
  @IsString()
  @MinLength(16)
  @MaxLength(4096)
  token?: string;

  @ApiPropertyOptional({ type: ClusterProfile })
  @IsOptional()
  @ValidateNested()
  @Type(() => ClusterProfile)
  profile?: ClusterProfile;
}

/**
 * Any subset of the registration's fields; what is not sent stays (e.g. only the three PEMs to
 * renew certificates). `null` for ca_cert/client_cert/client_key/token removes it.
 */
export class UpdateClusterDto extends PartialType(CreateClusterDto) {}

export class CertificateSummaryDto implements CertificateSummary {
  @ApiProperty() subject!: string;
  @ApiProperty() issuer!: string;
  @ApiProperty({ format: 'date-time' }) not_after!: string;
  @ApiProperty() fingerprint_sha256!: string;
}

/** A cluster as the API shows it: never a private key or token, only whether one is set. */
export class ClusterDto {
  @ApiProperty() id!: string;
  @ApiProperty() name!: string;
  @ApiProperty() deployer_url!: string;
  @ApiProperty() enabled!: boolean;
  @ApiProperty({ description: 'No new reservations are placed here' }) draining!: boolean;
  @ApiProperty() priority!: number;
  @ApiProperty() mtls_enabled!: boolean;
  @ApiPropertyOptional({ type: CertificateSummaryDto }) ca_cert?: CertificateSummaryDto;
  @ApiPropertyOptional({ type: CertificateSummaryDto }) client_cert?: CertificateSummaryDto;
  @ApiProperty() has_client_key!: boolean;
  @ApiProperty() has_token!: boolean;
  @ApiProperty({ type: ClusterProfile }) profile!: ClusterProfile;
  @ApiProperty({ enum: CLUSTER_STATUSES }) status!: ClusterStatus;
  @ApiPropertyOptional({ format: 'date-time' }) last_health_check?: string;
  @ApiPropertyOptional() last_error?: string;
  @ApiProperty({ format: 'date-time' }) created_at!: string;
  @ApiProperty({ format: 'date-time' }) updated_at!: string;

  static from(cluster: Cluster): ClusterDto {
    return {
      id: cluster.id,
      name: cluster.name,
      deployer_url: cluster.deployerUrl,
      enabled: cluster.enabled,
      draining: cluster.draining,
      priority: cluster.priority,
      mtls_enabled: cluster.mtlsEnabled,
      ...(cluster.caCert ? { ca_cert: certificateSummary(cluster.caCert) } : {}),
      ...(cluster.clientCert ? { client_cert: certificateSummary(cluster.clientCert) } : {}),
      has_client_key: cluster.clientKeyEncrypted !== null,
      has_token: cluster.tokenEncrypted !== null,
      profile: cluster.profile,
      status: cluster.status,
      ...(cluster.lastHealthCheck ? { last_health_check: cluster.lastHealthCheck.toISOString() } : {}),
      ...(cluster.lastError ? { last_error: cluster.lastError } : {}),
      created_at: cluster.createdAt.toISOString(),
      updated_at: cluster.updatedAt.toISOString(),
    };
  }
}

export class ClusterListDto {
  @ApiProperty({ type: [ClusterDto], description: 'By priority, then name' }) items!: ClusterDto[];
}

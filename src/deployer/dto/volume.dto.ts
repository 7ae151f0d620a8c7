import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsObject, IsOptional, IsString, Matches, ValidateNested } from 'class-validator';
import type {
  AccessMode,
  SnapshotInfo,
  SnapshotRequest,
  StaticVolumeSource,
  VolumeInfo,
  VolumeRequest,
} from '../contract';
import { SIZE_QUANTITY } from '../../infra/kubernetes/quantity';
import { DNS_LABEL, IsLabelMap } from './validators';

const ACCESS_MODES: AccessMode[] = ['ReadWriteOnce', 'ReadWriteOncePod', 'ReadWriteMany'];

/** What every object a caller names has: its name, its namespace, its own labels. */
class NamedObjectRequestDto {
  @ApiProperty({ example: 'alice-work' })
  @Matches(DNS_LABEL, { message: 'name must be a DNS-1123 label (lower case, digits, -; at most 63)' })
  name!: string;

  @ApiPropertyOptional({ description: 'Default: the first namespace of the deployer' })
  @IsOptional()
  @Matches(DNS_LABEL, { message: 'namespace must be a DNS-1123 label' })
  namespace?: string;

  @ApiPropertyOptional({ type: 'object', additionalProperties: { type: 'string' } })
  @IsOptional()
  @IsObject()
  @IsLabelMap()
  labels?: Record<string, string>;
}

export class StaticVolumeSourceDto implements StaticVolumeSource {
  @ApiProperty({ example: 'ebs.csi.aws.com' })
  @IsString()
  driver!: string;

  @ApiProperty({ example: 'vol-0123456789abcdef0' })
  @IsString()
  @Matches(/^\S+$/, { message: 'volume_handle must not contain spaces' })
  volume_handle!: string;

  @ApiPropertyOptional({ example: 'ext4' })
  @IsOptional()
  @IsString()
  fs_type?: string;

  @ApiPropertyOptional({ example: 'us-east-1a' })
  @IsOptional()
  @IsString()
  zone?: string;
}

export class VolumeRequestDto extends NamedObjectRequestDto implements VolumeRequest {
  @ApiProperty({ example: '100Gi' })
  @Matches(SIZE_QUANTITY, { message: 'size must be a Kubernetes quantity such as 100Gi' })
  size!: string;

  @ApiPropertyOptional({ example: 'gp3' })
  @IsOptional()
  @IsString()
  storage_class?: string;

  @ApiPropertyOptional({ enum: ACCESS_MODES, default: 'ReadWriteOnce' })
  @IsOptional()
  @IsIn(ACCESS_MODES)
  access_mode?: AccessMode;

  @ApiPropertyOptional({ description: 'A VolumeSnapshot (same namespace) to restore from' })
  @IsOptional()
  @Matches(DNS_LABEL, { message: 'from_snapshot must be a DNS-1123 label' })
  from_snapshot?: string;

  @ApiPropertyOptional({ type: StaticVolumeSourceDto })
  @IsOptional()
  @ValidateNested()
  @Type(() => StaticVolumeSourceDto)
  static_volume?: StaticVolumeSourceDto;
}

export class VolumeInfoDto implements VolumeInfo {
  @ApiProperty() name!: string;
  @ApiProperty() namespace!: string;
  @ApiProperty({ example: 'Bound', description: 'Pending, Bound or Lost' }) phase!: string;
  @ApiProperty({ example: '100Gi' }) requested_size!: string;
  @ApiPropertyOptional({ example: '100Gi' }) capacity?: string;
  @ApiPropertyOptional() storage_class?: string;
  @ApiPropertyOptional() volume_name?: string;
  @ApiPropertyOptional() from_snapshot?: string;
  @ApiPropertyOptional({ format: 'date-time' }) created_at?: string;
  @ApiProperty({ type: [String], description: 'Pods (not finished) that mount the claim' })
  used_by!: string[];
  @ApiProperty({ type: 'object', additionalProperties: { type: 'string' } }) labels!: Record<string, string>;
}

export class SnapshotRequestDto extends NamedObjectRequestDto implements SnapshotRequest {
  @ApiProperty({ example: 'alice-work', description: 'The claim to snapshot' })
  @Matches(DNS_LABEL, { message: 'volume must be a DNS-1123 label' })
  volume!: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  snapshot_class?: string;
}

export class SnapshotInfoDto implements SnapshotInfo {
  @ApiProperty() name!: string;
  @ApiProperty() namespace!: string;
  @ApiProperty() volume!: string;
  @ApiPropertyOptional() snapshot_class?: string;
  @ApiProperty() ready_to_use!: boolean;
  @ApiPropertyOptional({ example: '100Gi' }) restore_size?: string;
  @ApiPropertyOptional() error?: string;
  @ApiPropertyOptional({ format: 'date-time' }) created_at?: string;
  @ApiProperty({ type: 'object', additionalProperties: { type: 'string' } }) labels!: Record<string, string>;
}

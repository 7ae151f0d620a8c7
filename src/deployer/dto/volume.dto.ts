import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  IsIn,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  registerDecorator,
  ValidateNested,
  type ValidationArguments,
} from 'class-validator';
import type {
  AccessMode,
  SnapshotInfo,
  SnapshotRequest,
  SnapshotSource,
  StaticVolumeSource,
  VolumeInfo,
  VolumeRequest,
} from '../contract';
import { ABOUT_ABSENCE } from '../../infra/http/about-absence';
import { SIZE_QUANTITY } from '../../infra/kubernetes/quantity';
import { DNS_LABEL, IsLabelMap, LABEL_MAP_SCHEMA } from '../../infra/kubernetes/names';

const ACCESS_MODES: AccessMode[] = ['ReadWriteOnce', 'ReadWriteOncePod', 'ReadWriteMany'];
const NO_SPACES = /^\S+$/;

/** What every object a caller names has: its name, its namespace, its own labels. */
class NamedObjectRequestDto {
  @ApiProperty({ example: 'alice-work', pattern: DNS_LABEL.source })
  @Matches(DNS_LABEL, { message: 'name must be a DNS-1123 label (lower case, digits, -; at most 63)' })
  name!: string;

  @ApiPropertyOptional({
    description: 'Default: the first namespace of the deployer',
    pattern: DNS_LABEL.source,
  })
  @IsOptional()
  @Matches(DNS_LABEL, { message: 'namespace must be a DNS-1123 label' })
  namespace?: string;

  @ApiPropertyOptional(LABEL_MAP_SCHEMA)
  @IsOptional()
  @IsObject()
  @IsLabelMap()
  labels?: Record<string, string>;
}

export class StaticVolumeSourceDto implements StaticVolumeSource {
  @ApiProperty({ example: 'ebs.csi.aws.com' })
  @IsString()
  driver!: string;

  @ApiProperty({ example: 'vol-0123456789abcdef0', pattern: NO_SPACES.source })
  @IsString()
  @Matches(NO_SPACES, { message: 'volume_handle must not contain spaces' })
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
  @ApiProperty({ example: '100Gi', pattern: SIZE_QUANTITY.source })
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

  @ApiPropertyOptional({
    description: 'A VolumeSnapshot (same namespace) to restore from',
    pattern: DNS_LABEL.source,
  })
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

/** Absent as class-validator's `@IsOptional` reads it: undefined or null. */
const isAbsent = (value: unknown) => value === undefined || value === null;

/**
 * Exactly one of the decorated property and `other` is given. It sits on a property without
 * `@IsOptional` (which would skip it when that property is absent).
 */
function IsExactlyOneOf(other: string, message: string): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'isExactlyOneOf',
      target: target.constructor,
      propertyName: String(propertyName),
      constraints: [other],
      options: { message, context: ABOUT_ABSENCE },
      validator: {
        validate: (value: unknown, args: ValidationArguments) =>
          isAbsent(value) !== isAbsent((args.object as Record<string, unknown>)[other]),
      },
    });
}

export class SnapshotSourceDto implements SnapshotSource {
  @ApiProperty({
    example: 'snap-0123456789abcdef0',
    description:
      "The backend's id of the snapshot: `snapshot_handle` of the snapshot in the cluster that took it",
    pattern: NO_SPACES.source,
  })
  @IsString()
  @Matches(NO_SPACES, { message: 'snapshot_handle must not be empty nor contain spaces' })
  snapshot_handle!: string;

  @ApiProperty({ example: 'ebs.csi.aws.com', description: 'Must be one of the policy’s allowed CSI drivers' })
  @IsString()
  driver!: string;
}

export class SnapshotRequestDto extends NamedObjectRequestDto implements SnapshotRequest {
  @ApiPropertyOptional({
    example: 'alice-work',
    description: 'The claim to snapshot (or give `source`)',
    pattern: DNS_LABEL.source,
  })
  @IsOptional()
  @Matches(DNS_LABEL, { message: 'volume must be a DNS-1123 label' })
  volume?: string;

  @ApiPropertyOptional({
    type: SnapshotSourceDto,
    description:
      'A snapshot the storage backend holds (taken in another cluster on the same backend) to import, instead of `volume`',
    // Unlike the optional fields around it, not null: @ValidateNested refuses it.
    nullable: false,
  })
  @IsExactlyOneOf(
    'volume',
    'give exactly one of volume (a claim to snapshot) and source (a snapshot to import)',
  )
  @ValidateNested()
  @Type(() => SnapshotSourceDto)
  source?: SnapshotSourceDto;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  snapshot_class?: string;
}

/** PATCH /volumes/{name}, /snapshots/{name}: labels merged onto the object's. */
export class LabelsPatchDto {
  @ApiProperty({
    ...LABEL_MAP_SCHEMA,
    example: { 'odc.dev/quarantined': 'true' },
    description:
      'Added or changed; the deployer’s own labels (managed-by, persistent-disk, external-id) cannot change',
  })
  @IsObject()
  @IsLabelMap()
  labels!: Record<string, string>;
}

export class SnapshotInfoDto implements SnapshotInfo {
  @ApiProperty() name!: string;
  @ApiProperty() namespace!: string;
  @ApiProperty({ description: 'The claim it was taken of; empty for an import' }) volume!: string;
  @ApiPropertyOptional() snapshot_class?: string;
  @ApiPropertyOptional({
    example: 'snap-0123456789abcdef0',
    description: "The backend's id, once cut: another cluster on the same backend imports it by this",
  })
  snapshot_handle?: string;
  @ApiPropertyOptional({ example: 'ebs.csi.aws.com' }) driver?: string;
  @ApiPropertyOptional({ description: 'Imported from the backend (`source`) rather than taken here' })
  imported?: boolean;
  @ApiProperty() ready_to_use!: boolean;
  @ApiPropertyOptional({ example: '100Gi' }) restore_size?: string;
  @ApiPropertyOptional() error?: string;
  @ApiPropertyOptional({ format: 'date-time' }) created_at?: string;
  @ApiProperty({ type: 'object', additionalProperties: { type: 'string' } }) labels!: Record<string, string>;
}

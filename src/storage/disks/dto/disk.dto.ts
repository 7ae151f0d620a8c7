import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsUUID, Matches, Max, Min } from 'class-validator';
import { DNS_LABEL } from '../../../infra/kubernetes/names';
import { IsVisibleName, USERNAME_PATTERN } from '../../../infra/http/name-validators';
import {
  SNAPSHOT_REASONS,
  SNAPSHOT_STATUSES,
  type SnapshotReason,
  type SnapshotStatus,
} from '../../snapshots/snapshot.entity';

const DISK_NAME_MESSAGE = 'must be a DNS-1123 label (lower case, digits, -; at most 63)';
const EBS_VOLUME_ID = /^vol-[0-9a-f]{8,17}$/;

export class CreateDiskDto {
  @ApiProperty({
    example: 'work',
    description: 'A DNS-1123 label, unique among your disks',
    pattern: DNS_LABEL.source,
  })
  @Matches(DNS_LABEL, { message: `name ${DISK_NAME_MESSAGE}` })
  @IsVisibleName()
  name!: string;

  @ApiPropertyOptional({
    example: 200,
    description: 'Default ODC_DISK_DEFAULT_SIZE_GB, at most ODC_DISK_MAX_SIZE_GB',
    type: 'integer',
    minimum: 1,
    maximum: 65536,
  })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(65536)
  size_gb?: number;
}

export class AdoptDiskDto {
  @ApiProperty({ example: 'alice', description: 'Whose disk it becomes', pattern: USERNAME_PATTERN.source })
  @Matches(USERNAME_PATTERN, { message: 'owner must be an ODC username' })
  owner!: string;

  @ApiProperty({ example: 'work', pattern: DNS_LABEL.source })
  @Matches(DNS_LABEL, { message: `name ${DISK_NAME_MESSAGE}` })
  @IsVisibleName()
  name!: string;

  @ApiProperty({
    example: 'vol-0123456789abcdef0',
    description: 'An existing volume of the provider (aws-ebs: an EBS volume id)',
    pattern: EBS_VOLUME_ID.source,
  })
  @Matches(EBS_VOLUME_ID, {
    message: 'volume_id must be an EBS volume id like vol-0123456789abcdef0',
  })
  volume_id!: string;
}

export class RenameDiskDto {
  @ApiProperty({ example: 'work-old', pattern: DNS_LABEL.source })
  @Matches(DNS_LABEL, { message: `new_name ${DISK_NAME_MESSAGE}` })
  @IsVisibleName()
  new_name!: string;
}

export class RestoreDiskDto {
  @ApiProperty({ description: 'A ready snapshot of this disk', format: 'uuid' })
  @IsUUID()
  snapshot_id!: string;

  @ApiPropertyOptional({
    example: 'work-yesterday',
    description: 'Restore into a new disk of this name; without it the disk itself goes back to the snapshot',
    pattern: DNS_LABEL.source,
  })
  @IsOptional()
  @Matches(DNS_LABEL, { message: `new_name ${DISK_NAME_MESSAGE}` })
  @IsVisibleName()
  new_name?: string;
}

/** Admins: act on another user's disk of that name. */
export class DiskOwnerQueryDto {
  @ApiPropertyOptional({
    description: "Admins: the owner's username (default: you)",
    pattern: USERNAME_PATTERN.source,
  })
  @IsOptional()
  @Matches(USERNAME_PATTERN, { message: 'owner must be an ODC username' })
  owner?: string;
}

export class ListDisksQueryDto {
  @ApiPropertyOptional({ enum: ['all'], description: 'Admins: every user’s disks' })
  @IsOptional()
  @IsIn(['all'])
  user?: 'all';

  @ApiPropertyOptional({
    description: 'Include soft-deleted disks (in their grace period)',
    enum: ['true', 'false'],
  })
  @IsOptional()
  @Type(() => String)
  @IsIn(['true', 'false'])
  deleted?: 'true' | 'false';
}

export const DISK_STATUSES = ['free', 'in_use', 'releasing', 'deleted', 'purged', 'lost'] as const;
export type DiskStatus = (typeof DISK_STATUSES)[number];

export class DiskDto {
  @ApiProperty() id!: string;
  @ApiProperty() name!: string;
  @ApiProperty() owner!: string;
  @ApiProperty() size_gb!: number;
  @ApiProperty({ example: 'k8s-csi' }) provider!: string;
  @ApiProperty({
    enum: DISK_STATUSES,
    description:
      'free; in_use (held by a reservation); releasing (its reservation ended, its snapshot being taken); deleted (in its grace period); purged; lost (its volume vanished)',
  })
  status!: DiskStatus;
  @ApiPropertyOptional({ description: 'The reservation holding it' }) in_use_by?: string;
  @ApiPropertyOptional({ description: 'The cluster its volume lives in (none before first use)' })
  cluster?: string;
  @ApiPropertyOptional() zone?: string;
  @ApiProperty({ description: 'Its data exists only as a volume or snapshot once a reservation used it' })
  has_volume!: boolean;
  @ApiPropertyOptional({ description: 'Its next volume starts from this snapshot' }) restore_from?: string;
  @ApiProperty() snapshot_count!: number;
  @ApiPropertyOptional({ format: 'date-time' }) last_snapshot_at?: string;
  @ApiPropertyOptional({ format: 'date-time' }) last_used_at?: string;
  @ApiProperty({ format: 'date-time' }) created_at!: string;
  @ApiPropertyOptional({ format: 'date-time' }) deleted_at?: string;
  @ApiPropertyOptional({ format: 'date-time', description: 'Soft-deleted: when its data goes for good' })
  purge_after?: string;
  @ApiPropertyOptional() last_error?: string;
}

export class SnapshotDto {
  @ApiProperty() id!: string;
  @ApiProperty() disk!: string;
  @ApiProperty({ enum: SNAPSHOT_STATUSES }) status!: SnapshotStatus;
  @ApiProperty({
    enum: SNAPSHOT_REASONS,
    description:
      'Why it was taken: expired, cancelled or failed (the end of the reservation that held the disk, as it ended); manual (asked for); pre-delete (before a delete); pre-restore (before a restore in place)',
  })
  reason!: SnapshotReason;
  @ApiPropertyOptional({ description: 'The reservation whose end it records' }) reservation_id?: string;
  @ApiPropertyOptional() size_gb?: number;
  @ApiPropertyOptional() cluster?: string;
  @ApiPropertyOptional() error?: string;
  @ApiProperty({ format: 'date-time' }) created_at!: string;
  @ApiPropertyOptional({ format: 'date-time' }) ready_at?: string;
}

export class DiskListDto {
  @ApiProperty({ type: [DiskDto], description: 'By name' }) items!: DiskDto[];
}

export class SnapshotListDto {
  @ApiProperty({ type: [SnapshotDto], description: 'Newest first' }) items!: SnapshotDto[];
}

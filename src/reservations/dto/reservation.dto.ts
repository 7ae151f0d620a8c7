import { ApiProperty, ApiPropertyOptional, type SchemaObject } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsNumber,
  IsOptional,
  IsUUID,
  Matches,
  Max,
  MaxLength,
  Min,
} from 'class-validator';
import { GPU_TYPE_NAME } from '../../clusters/public';
import { DNS_LABEL, IsLabelMap, LABEL_MAP_SCHEMA } from '../../infra/kubernetes/names';
import { IsVisibleName, USERNAME_PATTERN } from '../../infra/http/name-validators';

/** Anything but a UUID (which would read as an id where names and ids are both taken). */
const NOT_A_UUID = /^(?![0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$)/i;
import { RESERVATION_STATUSES, type ReservationStatus } from '../reservation.entity';

/** An OCI image reference: registry/path:tag or @digest (no spaces, no scheme). */
const IMAGE_REFERENCE = /^[a-z0-9]+([._\-/:@][a-zA-Z0-9_.-]+)*$/;

export class CreateReservationDto {
  @ApiProperty({
    example: 'h100',
    description: 'A GPU type of the catalog (GET /api/v1/gpu-types)',
    pattern: GPU_TYPE_NAME.source,
  })
  @Matches(GPU_TYPE_NAME, { message: 'gpu_type must be a GPU type name like h100' })
  gpu_type!: string;

  @ApiProperty({
    example: 4,
    description: "One of the type's allowed counts; never split across nodes",
    type: 'integer',
    minimum: 0,
    maximum: 64,
  })
  @IsInt()
  @Min(0)
  @Max(64)
  gpu_count!: number;

  @ApiProperty({
    example: 8,
    description: 'From 5 minutes (0.0833) to the type’s and the site’s maximum',
    minimum: 0.01,
    maximum: 24 * 365,
  })
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0.01)
  @Max(24 * 365)
  hours!: number;

  @ApiPropertyOptional({
    example: 'train-llm',
    description:
      'A DNS-1123 label, unique among your reservations that have not ended; it names the reservation wherever an id does',
    pattern: DNS_LABEL.source,
  })
  @IsOptional()
  @Matches(DNS_LABEL, { message: 'name must be a DNS-1123 label (lower case, digits, -; at most 63)' })
  @Matches(NOT_A_UUID, { message: 'name must not be a UUID: it would read as a reservation id' })
  @IsVisibleName()
  name?: string;

  @ApiPropertyOptional({
    example: 'nvcr.io/nvidia/pytorch:24.10-py3',
    maxLength: 512,
    pattern: IMAGE_REFERENCE.source,
  })
  @IsOptional()
  @MaxLength(512)
  @Matches(IMAGE_REFERENCE, { message: 'image must be an image reference like registry/name:tag' })
  image?: string;

  @ApiPropertyOptional({ default: false })
  @IsOptional()
  @IsBoolean()
  jupyter?: boolean;

  @ApiPropertyOptional({
    example: { 'topology.kubernetes.io/zone': 'us-east-2a' },
    description: 'Only nodes with these labels',
    ...LABEL_MAP_SCHEMA,
  })
  @IsOptional()
  @IsLabelMap()
  node_labels?: Record<string, string>;

  @ApiPropertyOptional({
    example: 'work',
    description:
      'One of your disks, mounted at /home/dev; held for this reservation alone (409 disk_in_use while another holds it) and snapshotted at its end',
    pattern: DNS_LABEL.source,
  })
  // null passes @IsOptional as absent: made absent here, so nothing downstream looks a null disk up.
  @Transform(({ value }: { value: unknown }) => value ?? undefined)
  @IsOptional()
  @Matches(DNS_LABEL, { message: 'disk must be a disk name (a DNS-1123 label)' })
  disk?: string;

  @ApiPropertyOptional({
    default: false,
    description: 'With disk: no snapshot at the end (the disk is released at once)',
  })
  @IsOptional()
  @IsBoolean()
  no_persist?: boolean;
}

/** POST /reservations' body: `no_persist: true` is about a disk, so it needs one (400 otherwise). */
export const CREATE_RESERVATION_SCHEMA: SchemaObject = {
  allOf: [{ $ref: '#/components/schemas/CreateReservationDto' }],
  anyOf: [
    { not: { required: ['no_persist'], properties: { no_persist: { enum: [true] } } } },
    { required: ['disk'], properties: { disk: { type: 'string' } } },
  ],
};

export class ReservationEventDto {
  @ApiProperty({ format: 'date-time' }) at!: string;
  @ApiPropertyOptional({ enum: RESERVATION_STATUSES }) from?: ReservationStatus;
  @ApiPropertyOptional({ enum: RESERVATION_STATUSES }) to?: ReservationStatus;
  @ApiProperty() message!: string;
}

export class ReservationDto {
  @ApiProperty() id!: string;
  @ApiPropertyOptional() name?: string;
  @ApiProperty() owner!: string;
  @ApiProperty() gpu_type!: string;
  @ApiProperty() gpu_count!: number;
  @ApiProperty({ description: 'Asked for, before extensions' }) hours!: number;
  @ApiProperty({ description: 'Added by extensions' }) extended_hours!: number;
  @ApiPropertyOptional() image?: string;
  @ApiProperty() jupyter!: boolean;
  @ApiPropertyOptional({ type: 'object', additionalProperties: { type: 'string' } })
  node_labels?: Record<string, string>;
  @ApiPropertyOptional({ description: 'Its disk, mounted at /home/dev' }) disk?: string;
  @ApiProperty({ description: 'No snapshot of its disk at the end' }) no_persist!: boolean;
  @ApiProperty({ enum: RESERVATION_STATUSES }) status!: ReservationStatus;
  @ApiPropertyOptional({ description: 'Why it is in this status (failed, cancelled, …)' })
  status_reason?: string;
  @ApiPropertyOptional({
    enum: ['expired', 'cancelled', 'failed'],
    description:
      'While ending: the status it ends in once its objects are deleted (expired, cancelled or failed)',
  })
  ending_as?: 'expired' | 'cancelled' | 'failed';
  @ApiPropertyOptional({ description: 'Its place among the queued reservations of its GPU type, from 1' })
  queue_position?: number;
  @ApiPropertyOptional({
    description: 'Expected wait, from when the reservations ahead and those running end; absent when unknown',
  })
  estimated_wait_seconds?: number;
  @ApiPropertyOptional() cluster?: string;
  @ApiPropertyOptional({
    description:
      'Present (true) when its cluster is simulated (a development start): nothing listens at its SSH command or Jupyter URL',
  })
  simulated?: boolean;
  @ApiPropertyOptional() node?: string;
  @ApiProperty({ format: 'date-time' }) created_at!: string;
  @ApiPropertyOptional({ format: 'date-time' }) started_at?: string;
  @ApiPropertyOptional({ format: 'date-time' }) expires_at?: string;
  @ApiPropertyOptional({ format: 'date-time' }) ended_at?: string;
  @ApiPropertyOptional({ example: 'ssh -p 30022 dev@gpu-east.example.com' }) ssh_command?: string;
  @ApiPropertyOptional() jupyter_url?: string;
  @ApiProperty({ type: [String] }) secondary_users!: string[];
  @ApiPropertyOptional({ type: [ReservationEventDto], description: 'The timeline (GET by id only)' })
  events?: ReservationEventDto[];
}

export const RESERVATION_PAGE_DEFAULT = 50;
export const RESERVATION_PAGE_MAX = 200;

export class ListReservationsQueryDto {
  @ApiPropertyOptional({ enum: RESERVATION_STATUSES, isArray: true, description: 'Comma list' })
  @IsOptional()
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.split(',') : value))
  @IsIn(RESERVATION_STATUSES, {
    each: true,
    message: `status must be among ${RESERVATION_STATUSES.join(', ')}`,
  })
  status?: ReservationStatus[];

  @ApiPropertyOptional({ enum: ['all'], description: 'Admins: every user’s reservations' })
  @IsOptional()
  @IsIn(['all'])
  user?: 'all';

  @ApiPropertyOptional({
    type: 'integer',
    minimum: 1,
    maximum: RESERVATION_PAGE_MAX,
    default: RESERVATION_PAGE_DEFAULT,
  })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(RESERVATION_PAGE_MAX)
  limit?: number;

  @ApiPropertyOptional({ description: 'From a previous page’s next_cursor', format: 'uuid' })
  @IsOptional()
  @IsUUID()
  cursor?: string;
}

export class ReservationPageDto {
  @ApiProperty({ type: [ReservationDto], description: 'Newest first' }) items!: ReservationDto[];
  @ApiPropertyOptional() next_cursor?: string;
}

export class ExtendReservationDto {
  @ApiProperty({
    example: 2,
    description: 'Added to its time; in all at most ODC_RESERVATION_MAX_LIFETIME_HOURS',
    minimum: 0.01,
    maximum: 24 * 365,
  })
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0.01)
  @Max(24 * 365)
  hours!: number;
}

export class SetJupyterDto {
  @ApiProperty()
  @IsBoolean()
  enabled!: boolean;
}

export class AddUserDto {
  @ApiProperty({
    example: 'bob',
    description: 'An ODC user who gets SSH access too',
    pattern: USERNAME_PATTERN.source,
  })
  @Matches(USERNAME_PATTERN, { message: 'username must be an ODC username' })
  username!: string;
}

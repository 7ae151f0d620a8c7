import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  IsArray,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
  MinLength,
  ValidateNested,
} from 'class-validator';
import type { FileTransferInfo, FileTransferRequest, TransferDirection, TransferState } from '../contract';
import { DNS_LABEL } from '../../infra/kubernetes/names';

const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;
/** A path from the root. (NUL, the one character no path holds, never gets here: input screening refuses it.) */
const ABSOLUTE_PATH = /^\//;

export class EnvVarDto {
  @ApiProperty({ example: 'SOURCE_URL', pattern: ENV_NAME.source })
  @Matches(ENV_NAME, {
    message: 'env names must be C identifiers (letters, digits, _ . -)',
  })
  name!: string;

  @ApiProperty()
  @IsString()
  value!: string;
}

export class FileTransferRequestDto implements FileTransferRequest {
  @ApiProperty({ example: 'amazon/aws-cli:2.22.0', minLength: 1 })
  @IsString()
  @MinLength(1)
  image!: string;

  @ApiPropertyOptional({ type: [String] })
  @IsOptional()
  @IsArray()
  @IsString({ each: true })
  command?: string[];

  @ApiPropertyOptional({ type: [String], example: ['s3', 'cp', '--recursive', 's3://bucket/data', '/data'] })
  @IsOptional()
  @IsArray()
  @IsString({ each: true })
  args?: string[];

  @ApiPropertyOptional({ type: [EnvVarDto] })
  @IsOptional()
  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => EnvVarDto)
  env?: EnvVarDto[];

  @ApiPropertyOptional({
    description: 'The claim to mount; default: the one the deployment mounts',
    pattern: DNS_LABEL.source,
  })
  @IsOptional()
  @Matches(DNS_LABEL, { message: 'volume must be a DNS-1123 label' })
  volume?: string;

  @ApiPropertyOptional({ default: '/data', pattern: ABSOLUTE_PATH.source })
  @IsOptional()
  @Matches(ABSOLUTE_PATH, { message: 'mount_path must be an absolute path' })
  mount_path?: string;

  @ApiPropertyOptional({ default: 3600, type: 'integer', minimum: 10, maximum: 86400 })
  @IsOptional()
  @IsInt()
  @Min(10)
  @Max(86_400)
  timeout_seconds?: number;
}

export class FileTransferInfoDto implements FileTransferInfo {
  @ApiProperty() id!: string;
  @ApiProperty() external_id!: string;
  @ApiProperty({ enum: ['upload', 'download'] }) direction!: TransferDirection;
  @ApiProperty() volume!: string;
  @ApiProperty({ enum: ['pending', 'running', 'succeeded', 'failed'] }) state!: TransferState;
  @ApiPropertyOptional({ format: 'date-time' }) created_at?: string;
  @ApiPropertyOptional({ format: 'date-time' }) completed_at?: string;
  @ApiPropertyOptional({ description: 'Why it failed, or what it waits for' }) message?: string;
}

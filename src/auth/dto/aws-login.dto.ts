import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsNumber, IsObject, IsOptional, IsString, Length, Max, MaxLength, Min } from 'class-validator';
import { IsVisibleName, VISIBLE_NAME_PATTERN } from '../../infra/http/name-validators';
import { IssuedApiKeyDto } from './api-key.dto';

/**
 * A presigned STS GetCallerIdentity request, exactly as the client would send it to STS (the
 * verifier checks it in depth), and what to call the key it earns. Never AWS credentials: a body
 * with any other field is refused.
 */
export class AwsLoginDto {
  @ApiProperty({
    description: 'The presigned URL (https://sts[.<region>].amazonaws.com/?Action=GetCallerIdentity&…)',
    maxLength: 8192,
  })
  @IsString()
  @MaxLength(8192)
  url!: string;

  @ApiPropertyOptional({ enum: ['GET', 'POST'], default: 'GET' })
  @IsOptional()
  @IsIn(['GET', 'POST'])
  method?: 'GET' | 'POST';

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: { type: 'string' },
    description: 'The headers the client signed (header-signed form: authorization, x-amz-date, …)',
  })
  @IsOptional()
  @IsObject()
  headers?: Record<string, string>;

  @ApiPropertyOptional({
    description: 'POST only: Action=GetCallerIdentity&Version=2011-06-15',
    maxLength: 8192,
  })
  @IsOptional()
  @IsString()
  @MaxLength(8192)
  body?: string;

  @ApiPropertyOptional({
    example: 'laptop',
    default: 'aws-login',
    description: 'Name of the key issued',
    minLength: 1,
    maxLength: 100,
    pattern: VISIBLE_NAME_PATTERN,
  })
  @IsOptional()
  @IsString()
  @Length(1, 100)
  @IsVisibleName()
  key_name?: string;

  @ApiPropertyOptional({
    description: 'Lifetime of the key issued; default ODC_API_KEY_DEFAULT_TTL_HOURS, capped at the maximum',
    minimum: 0.1,
    maximum: 8760,
  })
  @IsOptional()
  @IsNumber()
  @Min(0.1)
  @Max(8760)
  ttl_hours?: number;
}

export class AwsLoginResultDto extends IssuedApiKeyDto {
  @ApiProperty({ description: 'The ODC user the AWS identity maps to (its role session name)' })
  username!: string;
}

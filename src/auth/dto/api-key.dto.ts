import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  ArrayUnique,
  IsArray,
  IsIn,
  IsNumber,
  IsOptional,
  IsString,
  Length,
  Max,
  Min,
} from 'class-validator';
import { IsVisibleName, VISIBLE_NAME_PATTERN } from '../../infra/http/name-validators';
import { API_KEY_SCOPES, type ApiKey, type ApiKeyScope } from '../api-keys/api-key.entity';
import { MAX_SSH_KEYS } from '../users/ssh-keys';

export class CreateApiKeyDto {
  @ApiProperty({ example: 'laptop', minLength: 1, maxLength: 100, pattern: VISIBLE_NAME_PATTERN })
  @IsString()
  @Length(1, 100)
  @IsVisibleName()
  name!: string;

  @ApiProperty({
    enum: API_KEY_SCOPES,
    isArray: true,
    uniqueItems: true,
    example: ['reservations:read', 'reservations:write'],
  })
  @IsArray()
  @ArrayUnique()
  @IsIn(API_KEY_SCOPES, { each: true })
  scopes!: ApiKeyScope[];

  @ApiPropertyOptional({
    description: 'Lifetime; default ODC_API_KEY_DEFAULT_TTL_HOURS, capped at the maximum',
    minimum: 0.1,
    maximum: 8760,
  })
  @IsOptional()
  @IsNumber()
  @Min(0.1)
  @Max(8760)
  ttl_hours?: number;
}

/** A key as listed: never its secret. */
export class ApiKeyDto {
  @ApiProperty() id!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ description: 'The public part of the key: odc_<prefix>_…' }) prefix!: string;
  @ApiProperty({ enum: API_KEY_SCOPES, isArray: true }) scopes!: ApiKeyScope[];
  @ApiProperty() origin!: string;
  @ApiProperty({ format: 'date-time' }) created_at!: string;
  @ApiProperty({ format: 'date-time' }) expires_at!: string;
  @ApiPropertyOptional({ format: 'date-time' }) revoked_at?: string;
  @ApiPropertyOptional({ format: 'date-time' }) last_used_at?: string;

  static from(key: ApiKey): ApiKeyDto {
    return Object.assign(new ApiKeyDto(), {
      id: key.id,
      name: key.name,
      prefix: key.prefix,
      scopes: key.scopes,
      origin: key.origin,
      created_at: key.createdAt.toISOString(),
      expires_at: key.expiresAt.toISOString(),
      ...(key.revokedAt ? { revoked_at: key.revokedAt.toISOString() } : {}),
      ...(key.lastUsedAt ? { last_used_at: key.lastUsedAt.toISOString() } : {}),
    });
  }
}

export class ApiKeyListDto {
  @ApiProperty({ type: [ApiKeyDto], description: 'Newest first' }) items!: ApiKeyDto[];
}

export class IssuedApiKeyDto extends ApiKeyDto {
  @ApiProperty({ description: 'The key itself, shown this once: keep it like a password' }) key!: string;
}

export class MeDto {
  @ApiProperty() id!: string;
  @ApiProperty() username!: string;
  @ApiPropertyOptional() email?: string;
  @ApiProperty() admin!: boolean;
  @ApiProperty({ enum: ['api_key', 'jwt', 'session'] }) authenticated_by!: string;
  @ApiPropertyOptional({ format: 'date-time', description: 'When the API key used for this request expires' })
  credential_expires_at?: string;
  @ApiProperty({ type: [String], description: "The credential's scopes, or ['*'] for all" })
  scopes!: string[];
  @ApiProperty({ type: [String] }) ssh_keys!: string[];
}

export class SshKeysDto {
  @ApiProperty({
    type: [String],
    maxItems: MAX_SSH_KEYS,
    example: [
      'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICJgDBv7IvBWDbJ0hxSjxsAqnmxPz6aq7BSfPdsDHTj2 alice@laptop',
    ],
    description:
      'OpenSSH public keys (ed25519, ecdsa-sha2-nistp256/384/521, ssh-rsa ≥ 2048 bits); replaces the list',
  })
  @IsArray()
  @ArrayMaxSize(MAX_SSH_KEYS)
  @IsString({ each: true })
  keys!: string[];
}

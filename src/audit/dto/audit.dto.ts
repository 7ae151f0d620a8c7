import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  IsDefined,
  IsIn,
  IsInt,
  isISO8601,
  IsObject,
  IsOptional,
  IsString,
  Length,
  Matches,
  Max,
  Min,
  ValidateBy,
  ValidateNested,
  type ValidationOptions,
} from 'class-validator';
import type { ChainProblem, ChainVerdict, Checkpoint } from '../audit-chain';
import type { AuditEntry, AuditOutcome } from '../audit-entry.entity';

export const AUDIT_OUTCOMES: readonly AuditOutcome[] = ['success', 'denied', 'failure'];
export const AUDIT_PAGE_DEFAULT = 100;
export const AUDIT_PAGE_MAX = 500;
const MAX_USAGE_METADATA_CHARS = 4096;
const ACTION_FILTER = /^[A-Za-z0-9_.:-]{1,100}\*?$/;
const BEDROCK_REQUEST_ID = /^[\x21-\x7e]{1,255}$/;
const ROW_ID = /^\d{1,19}$/;
const HEX_64 = /^[0-9a-f]{64}$/;
const HEX_16 = /^[0-9a-f]{16}$/;

/** The opaque `cursor`: the last row's id, so the next page starts below it (ids only grow). */
export function encodeAuditCursor(id: string): string {
  return Buffer.from(`audit:${id}`).toString('base64url');
}

/** The id a cursor stands for; undefined when it is not one this API gave. */
export function decodeAuditCursor(cursor: string): string | undefined {
  const match = /^audit:(\d{1,19})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  return match?.[1];
}

function IsAuditCursor(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isAuditCursor',
      validator: {
        validate: (value) => typeof value === 'string' && decodeAuditCursor(value) !== undefined,
        defaultMessage: () => 'cursor must be a next_cursor this API returned',
      },
    },
    options,
  );
}

const RFC_3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-](\d{2}):(\d{2}))$/;

/** An RFC 3339 date-time (JSON Schema's `date-time`) naming a real day and time, any year. */
export function isRfc3339DateTime(value: string): boolean {
  const match = RFC_3339.exec(value);
  if (!match) {
    return false;
  }
  const year = Number(match[1]);
  const month = Number(match[2]);
  const day = Number(match[3]);
  const hour = Number(match[4]);
  const minute = Number(match[5]);
  const second = Number(match[6]);
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day); // not Date.UTC, which reads years 0–99 as 1900–1999
  const offsetOk = match[9] === undefined || (Number(match[9]) <= 23 && Number(match[10]) <= 59);
  return (
    date.getUTCMonth() === month - 1 &&
    date.getUTCDate() === day &&
    hour <= 23 &&
    minute <= 59 &&
    second <= 59 &&
    offsetOk
  );
}

/**
 * What the document calls `date-time` (RFC 3339), besides the ISO 8601 forms taken so far (a time
 * without its offset). class-validator's strict ISO 8601 check alone refuses years 0–99.
 */
function IsDateTime(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isDateTime',
      validator: {
        validate: (value) =>
          typeof value === 'string' && (isRfc3339DateTime(value) || isISO8601(value, { strict: true })),
        defaultMessage: (args) => `${args?.property} must be an RFC 3339 date-time like 2026-01-31T09:30:00Z`,
      },
    },
    options,
  );
}

function IsSmallJson(maxChars: number, options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isSmallJson',
      validator: {
        validate: (value) => JSON.stringify(value).length <= maxChars,
        defaultMessage: (args) => `${args?.property} must be at most ${maxChars} characters as JSON`,
      },
    },
    options,
  );
}

/** Filters for GET /audit (all optional, combined with AND), newest first. */
export class AuditQueryDto {
  @ApiPropertyOptional({
    description: 'Rows of this user (by user name)',
    example: 'alice',
    minLength: 1,
    maxLength: 255,
  })
  @IsOptional()
  @IsString()
  @Length(1, 255)
  user?: string;

  @ApiPropertyOptional({
    description: 'An action (`auth.login`), or a prefix ending in `*` (`auth.*`, `api_key.*`)',
    example: 'auth.*',
    pattern: ACTION_FILTER.source,
  })
  @IsOptional()
  @Matches(ACTION_FILTER, {
    message: 'action must be an action name, or a prefix of one followed by *',
  })
  action?: string;

  @ApiPropertyOptional({ example: 'api_key', minLength: 1, maxLength: 50 })
  @IsOptional()
  @IsString()
  @Length(1, 50)
  resource_type?: string;

  @ApiPropertyOptional({ minLength: 1, maxLength: 255 })
  @IsOptional()
  @IsString()
  @Length(1, 255)
  resource_id?: string;

  @ApiPropertyOptional({ enum: AUDIT_OUTCOMES })
  @IsOptional()
  @IsIn(AUDIT_OUTCOMES)
  outcome?: AuditOutcome;

  @ApiPropertyOptional({ format: 'date-time', description: 'Rows at or after this time' })
  @IsOptional()
  @IsDateTime()
  since?: string;

  @ApiPropertyOptional({ format: 'date-time', description: 'Rows before this time' })
  @IsOptional()
  @IsDateTime()
  until?: string;

  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: AUDIT_PAGE_MAX, default: AUDIT_PAGE_DEFAULT })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(AUDIT_PAGE_MAX)
  limit?: number;

  @ApiPropertyOptional({ description: 'The next_cursor of the previous page' })
  @IsOptional()
  @IsAuditCursor()
  cursor?: string;
}

/** One audit row as the API shows it: hashes in hex, absent fields left out. */
export class AuditEntryDto {
  @ApiProperty() id!: string;
  @ApiProperty({ format: 'date-time' }) timestamp!: string;
  @ApiPropertyOptional() user_id?: string;
  @ApiPropertyOptional() username?: string;
  @ApiProperty({ example: 'auth.login' }) action!: string;
  @ApiPropertyOptional() resource_type?: string;
  @ApiPropertyOptional() resource_id?: string;
  @ApiProperty({ enum: AUDIT_OUTCOMES }) outcome!: AuditOutcome;
  @ApiPropertyOptional() ip?: string;
  @ApiPropertyOptional() user_agent?: string;
  @ApiPropertyOptional() request_id?: string;
  @ApiPropertyOptional({ type: 'object', additionalProperties: true })
  request_metadata?: Record<string, unknown>;
  @ApiPropertyOptional() bedrock_request_id?: string;
  @ApiPropertyOptional() bedrock_tokens_used?: number;
  @ApiProperty({ description: 'SHA-256 of the previous row and this one (hex)' }) hash!: string;
  @ApiProperty({ description: "The previous row's hash (hex)" }) prev_hash!: string;

  static from(entry: AuditEntry): AuditEntryDto {
    const optional = {
      user_id: entry.userId,
      username: entry.username,
      resource_type: entry.resourceType,
      resource_id: entry.resourceId,
      ip: entry.ip,
      user_agent: entry.userAgent,
      request_id: entry.requestId,
      request_metadata: entry.requestMetadata,
      bedrock_request_id: entry.bedrockRequestId,
      bedrock_tokens_used: entry.bedrockTokensUsed,
    };
    return Object.assign(new AuditEntryDto(), {
      id: entry.id,
      timestamp: entry.timestamp.toISOString(),
      action: entry.action,
      outcome: entry.outcome,
      ...Object.fromEntries(Object.entries(optional).filter(([, value]) => value !== null)),
      hash: entry.hash.toString('hex'),
      prev_hash: entry.prevHash.toString('hex'),
    });
  }
}

export class AuditPageDto {
  @ApiProperty({ type: [AuditEntryDto], description: 'Newest first' }) items!: AuditEntryDto[];
  @ApiPropertyOptional({ description: 'Pass as `cursor` for the next (older) page; absent on the last' })
  next_cursor?: string;
}

/**
 * Usage of an external service (Bedrock) attributed to a user. Idempotent on bedrock_request_id:
 * the first call records it (201); a repeat with the same user and token count answers the row
 * already recorded (200); a repeat with other values is refused (409).
 */
export class RecordUsageDto {
  @ApiPropertyOptional({
    description: 'Whose usage; default the caller. Only an admin may name another (existing) user',
    minLength: 1,
    maxLength: 255,
  })
  @IsOptional()
  @IsString()
  @Length(1, 255)
  username?: string;

  @ApiProperty({
    description: 'The Bedrock request id: the idempotency key',
    pattern: BEDROCK_REQUEST_ID.source,
  })
  @IsString()
  @Matches(BEDROCK_REQUEST_ID, { message: 'bedrock_request_id must be 1 to 255 printable characters' })
  bedrock_request_id!: string;

  @ApiProperty({ type: 'integer', minimum: 0, maximum: 2_147_483_647 })
  @IsInt()
  @Min(0)
  @Max(2_147_483_647)
  tokens_used!: number;

  @ApiPropertyOptional({ example: 'anthropic.claude-sonnet-4', minLength: 1, maxLength: 255 })
  @IsOptional()
  @IsString()
  @Length(1, 255)
  model?: string;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    description: `Anything else worth keeping (at most ${MAX_USAGE_METADATA_CHARS} characters as JSON)`,
  })
  @IsOptional()
  @IsObject()
  @IsSmallJson(MAX_USAGE_METADATA_CHARS)
  metadata?: Record<string, unknown>;
}

/** A signed checkpoint of the chain's head, as the log line, the metric and the URL carry it. */
export class CheckpointDto implements Checkpoint {
  @ApiProperty({
    description: 'Rows in the chain up to and including last_id',
    type: 'integer',
    minimum: 0,
    maximum: Number.MAX_SAFE_INTEGER,
  })
  @IsInt()
  @Min(0)
  // Beyond it a JSON number is not the integer it was written as (and comes back as 1.4e+25).
  @Max(Number.MAX_SAFE_INTEGER)
  rows!: number;

  @ApiProperty({ example: '1234', pattern: ROW_ID.source })
  @Matches(ROW_ID, { message: 'last_id must be a row id' })
  last_id!: string;

  @ApiProperty({ description: "The last row's hash, hex", pattern: HEX_64.source })
  @Matches(HEX_64, { message: 'head must be 64 hex digits' })
  head!: string;

  @ApiProperty({ format: 'date-time' })
  @IsDateTime()
  at!: string;

  @ApiProperty({ pattern: HEX_16.source })
  @Matches(HEX_16, { message: 'key_id must be 16 hex digits' })
  key_id!: string;

  @ApiProperty({ description: 'HMAC under the audit key, hex', pattern: HEX_64.source })
  @Matches(HEX_64, { message: 'signature must be 64 hex digits' })
  signature!: string;
}

export class VerifyAgainstDto {
  @ApiProperty({ type: CheckpointDto })
  @IsDefined()
  @ValidateNested()
  @Type(() => CheckpointDto)
  checkpoint!: CheckpointDto;
}

export class ChainVerificationDto implements ChainVerdict {
  @ApiProperty() ok!: boolean;
  @ApiProperty({ description: 'Rows that held, from the first' }) checked!: number;
  @ApiPropertyOptional({
    enum: ['rewritten', 'truncated', 'unknown_key', 'bad_checkpoint'],
    description:
      'rewritten: a row was changed, inserted or deleted (first_broken_id names where); truncated: rows the checkpoint covers are gone from the end; unknown_key: a row is under an audit key not configured; bad_checkpoint: the checkpoint is not validly signed',
  })
  problem?: ChainProblem;
  @ApiPropertyOptional({ description: 'The first row that does not hold' }) first_broken_id?: string;
  @ApiPropertyOptional({ type: CheckpointDto, description: 'The checkpoint the chain was held to' })
  checkpoint?: CheckpointDto;
}

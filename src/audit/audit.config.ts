import { Transform } from 'class-transformer';
import { IsNumber, IsOptional, IsString, IsUrl, Matches, Min } from 'class-validator';
import { emptyToUndefined, KEY_32, KEY_32_LIST, Secret, toNumber } from '../infra/config/config-decorators';
import type { NodeEnv } from '../infra/config/server.config';

/** The audit chain: its keys and its signed checkpoints. */
export class AuditConfig {
  /** Read from ServerConfig and CryptoConfig: unset, the chain's key is derived from the master key. */
  declare readonly NODE_ENV: NodeEnv;
  declare readonly ODC_MASTER_KEY?: string;
  declare readonly ODC_MASTER_KEYS_PREVIOUS: string;

  /**
   * Keys the audit chain's HMACs (32 bytes, base64 or hex). Unset: a key derived from ODC_MASTER_KEY.
   * Whoever holds it (and can write the database) can rewrite the log undetected: keep it apart.
   */
  @Secret()
  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(KEY_32, {
    message: 'ODC_AUDIT_KEY must be 32 bytes, base64 (44 characters) or hex (64)',
  })
  ODC_AUDIT_KEY?: string;

  /** Earlier audit keys (comma list): rows under them still verify. */
  @Secret()
  @IsString()
  @Matches(KEY_32_LIST, {
    message: 'ODC_AUDIT_KEYS_PREVIOUS must be a comma list of 32-byte keys (base64 or hex)',
  })
  ODC_AUDIT_KEYS_PREVIOUS = '';

  /** How often (cron) the chain's head is signed, stored, logged and exported as a metric. */
  @Transform(toNumber)
  @IsNumber()
  @Min(1)
  ODC_AUDIT_CHECKPOINT_SECONDS = 300;

  /** Where each signed checkpoint is also POSTed as JSON (outside the database); none when unset. */
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsUrl(
    { require_tld: false, protocols: ['http', 'https'] },
    { message: 'ODC_AUDIT_CHECKPOINT_URL must be an http(s) URL' },
  )
  ODC_AUDIT_CHECKPOINT_URL?: string;
}

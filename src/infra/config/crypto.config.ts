import { Transform } from 'class-transformer';
import { IsOptional, IsString, Matches } from 'class-validator';
import { emptyToUndefined, KEY_32, KEY_32_LIST, Secret } from './config-decorators';
import type { NodeEnv } from './server.config';

/**
 * The master key (src/infra/crypto/master-keys.ts): cluster secrets and, unless it has its own, the
 * audit chain's key. Whether it is required depends on the roles: that rule is the roles'
 * (src/app/roles.config.ts).
 */
export class CryptoConfig {
  /** Read from ServerConfig: development falls back to a fixed, public key. */
  declare readonly NODE_ENV: NodeEnv;

  /**
   * Encrypts cluster private keys and tokens (AES-256-GCM): 32 random bytes, base64 or hex
   * (`openssl rand -base64 32`). Required in production; development falls back to a fixed,
   * public key.
   */
  @Secret()
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  @Matches(KEY_32, {
    message: 'ODC_MASTER_KEY must be 32 bytes, base64 (44 characters) or hex (64)',
  })
  ODC_MASTER_KEY?: string;

  /** Earlier master keys (comma list), still accepted for decryption until `npm run keys:rotate`. */
  @Secret()
  @IsString()
  @Matches(KEY_32_LIST, {
    message: 'ODC_MASTER_KEYS_PREVIOUS must be a comma list of 32-byte keys (base64 or hex)',
  })
  ODC_MASTER_KEYS_PREVIOUS = '';
}

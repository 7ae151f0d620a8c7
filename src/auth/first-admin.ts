import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AuditService, type AuditConfig } from '../audit/public';
import { AuthConfig } from './auth.config';
import { API_KEY_SCOPES, loginKeyScopes } from './api-keys/api-key.entity';
import { ApiKeysService } from './api-keys/api-keys.service';
import { User } from './users/user.entity';

export interface CreatedUser {
  username: string;
  admin: boolean;
  key: string;
  keyId: string;
  expiresAt: Date;
}

export interface NewUser {
  username: string;
  admin: boolean;
  /** How the key was made: `user-create` (the operator script) or `first-start`. */
  origin: 'user-create' | 'first-start';
  /** The key's lifetime; default the longest a key may have (ODC_API_KEY_MAX_TTL_HOURS). */
  ttlHours?: number;
}

/**
 * A user (made an admin with `admin`, enabled either way) and a new API key for them, shown once
 * and stored nowhere: what `npm run user:create` and the first development start make. An admin's
 * key carries every scope; a user's, what a login gives. Without OIDC this is how people get in,
 * so the key lives as long as keys may (30 days by default), not a day.
 */
export async function createUserWithKey(
  dataSource: DataSource,
  config: AuthConfig & AuditConfig,
  user: NewUser,
): Promise<CreatedUser> {
  const users = dataSource.getRepository(User);
  await users.createQueryBuilder().insert().values({ username: user.username }).orIgnore().execute();
  const row = await users.findOneByOrFail({ username: user.username });
  await users.update(row.id, { ...(user.admin ? { role: 'admin' as const } : {}), disabled: false });
  const admin = user.admin || row.role === 'admin';
  const { key, apiKey } = await new ApiKeysService(dataSource, config).issue(row.id, {
    name: user.origin,
    scopes: admin ? [...API_KEY_SCOPES] : loginKeyScopes(false),
    origin: user.origin,
    ttlHours: user.ttlHours ?? config.ODC_API_KEY_MAX_TTL_HOURS,
  });
  await new AuditService(dataSource, config).record({
    action: user.admin ? 'admin.create' : 'user.create',
    outcome: 'success',
    userId: row.id,
    username: user.username,
    resourceType: 'api_key',
    resourceId: apiKey.id,
    requestMetadata: { origin: user.origin },
  });
  return { username: user.username, admin, key, keyId: apiKey.id, expiresAt: apiKey.expiresAt };
}

/**
 * In development, the very first start (no user yet) makes the admin `admin` and prints its key
 * once, with what to do next. Called once the API listens: a start that fails before (a port in
 * use) must not spend the one first start on a key nobody can use.
 */
@Injectable()
export class FirstAdminOnDevelopmentStart {
  private readonly logger = new Logger('FirstAdmin');

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(AuthConfig) private readonly config: AuthConfig & AuditConfig,
  ) {}

  async greet(apiUrl: string): Promise<void> {
    if (this.config.NODE_ENV !== 'development' || (await this.dataSource.getRepository(User).count()) > 0) {
      return;
    }
    const admin = await createUserWithKey(this.dataSource, this.config, {
      username: 'admin',
      admin: true,
      origin: 'first-start',
    });
    this.logger.log(
      `first start: user "admin" created; its API key (valid until ${admin.expiresAt.toISOString()}) is printed once on the terminal, never in the log`,
    );
    // Straight to the developer's terminal, past the log pipeline: logs are shipped and kept, and
    // redact every credential; this key is how a developer gets in on a fresh clone.
    process.stdout.write(firstStartGreeting(apiUrl, admin));
  }
}

/** What a developer reads after the very first start: the key, and the next three commands. */
export function firstStartGreeting(apiUrl: string, admin: CreatedUser): string {
  const until = admin.expiresAt.toISOString().slice(0, 10);
  return [
    '',
    `First start: the admin "${admin.username}" and its API key (shown once, valid until ${until}):`,
    '',
    `  ${admin.key}`,
    '',
    'Next steps:',
    `  npx gpu-dev setup ${apiUrl}`,
    '  npx gpu-dev login --key            (paste the key above)',
    '  npx gpu-dev ssh-keys add           (your ~/.ssh public key, for gpu-dev connect)',
    `  Swagger UI: ${apiUrl}/docs          (Authorize with the key)`,
    'Lost the key? While this server runs: npm run user:create -- --username admin --admin',
    '',
    '',
  ].join('\n');
}

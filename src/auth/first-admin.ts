import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AuditService, type AuditConfig } from '../audit/public';
import { AuthConfig } from './auth.config';
import { API_KEY_SCOPES } from './api-keys/api-key.entity';
import { ApiKeysService } from './api-keys/api-keys.service';
import { User } from './users/user.entity';

export interface CreatedAdmin {
  username: string;
  key: string;
  keyId: string;
  expiresAt: Date;
}

/**
 * An admin and a key with every scope: `npm run admin:create -- --username …`, or the first
 * development start. The key is shown once and exists nowhere else.
 */
export async function createAdmin(
  dataSource: DataSource,
  config: AuthConfig & AuditConfig,
  username: string,
  origin: 'admin-create' | 'first-start',
): Promise<CreatedAdmin> {
  const users = dataSource.getRepository(User);
  await users.createQueryBuilder().insert().values({ username }).orIgnore().execute();
  const user = await users.findOneByOrFail({ username });
  await users.update(user.id, { role: 'admin', disabled: false });
  const { key, apiKey } = await new ApiKeysService(dataSource, config).issue(user.id, {
    name: origin,
    scopes: [...API_KEY_SCOPES],
    origin,
  });
  await new AuditService(dataSource, config).record({
    action: 'admin.create',
    outcome: 'success',
    userId: user.id,
    username,
    resourceType: 'api_key',
    resourceId: apiKey.id,
    requestMetadata: { origin },
  });
  return { username, key, keyId: apiKey.id, expiresAt: apiKey.expiresAt };
}

/** In development, the very first start (no user yet) makes an admin and prints its key once. */
@Injectable()
export class FirstAdminOnDevelopmentStart implements OnApplicationBootstrap {
  private readonly logger = new Logger('FirstAdmin');

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(AuthConfig) private readonly config: AuthConfig & AuditConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (this.config.NODE_ENV !== 'development' || (await this.dataSource.getRepository(User).count()) > 0) {
      return;
    }
    const admin = await createAdmin(this.dataSource, this.config, 'admin', 'first-start');
    this.logger.log(
      `first start: user "admin" created; its API key (valid until ${admin.expiresAt.toISOString()}) is printed once on the terminal, never in the log`,
    );
    // Straight to the developer's terminal, past the log pipeline: logs are shipped and kept, and
    // redact every credential; this key is how a developer gets in on a fresh clone.
    process.stdout.write(`\nFirst start: the admin's API key (shown once): ${admin.key}\n\n`);
  }
}

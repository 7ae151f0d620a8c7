import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { DataSource, IsNull, LessThan, MoreThan, type EntityManager } from 'typeorm';
import { AuthConfig } from '../auth.config';
import { User } from '../users/user.entity';
import { ApiKey, type ApiKeyScope } from './api-key.entity';
import { AuthErrorCode } from '../auth.errors';

const KEY_FORMAT = /^odc_([a-z0-9]{12})_([A-Za-z0-9_-]{43})$/;
const HOUR_MS = 3_600_000;
/** last_used_at is refreshed at most this often: knowing "used in the last minute" needs no write per request. */
const LAST_USED_GRANULARITY_MS = 60_000;

export interface IssuedKey {
  /** Shown once, never stored. */
  key: string;
  apiKey: ApiKey;
}

/** Why a presented key authenticates no one. */
export interface KeyRejection {
  rejected: Exclude<AuthErrorCode, AuthErrorCode.NoCredentials>;
  expiredAt?: Date;
}

export interface KeyHolder {
  apiKey: ApiKey;
  user: User;
}

const digest = (secret: string) => createHash('sha256').update(secret).digest();

/**
 * A verified key is trusted again without the database for this long: the lookup would otherwise
 * dominate every request. A revocation applies at once on the replica that made it and within this
 * time on the others (so does disabling a user).
 */
export const VERIFIED_KEY_CACHE_MS = 10_000;
const VERIFIED_KEY_CACHE_SIZE = 10_000;

/**
 * API keys `odc_<prefix>_<secret>`: the prefix (not secret) finds the row, a SHA-256 of the
 * secret is all that is stored, compared in constant time.
 */
@Injectable()
export class ApiKeysService {
  private readonly verified = new Map<string, { holder: KeyHolder; until: number }>();

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly config: AuthConfig,
  ) {}

  /** A fresh key; its lifetime is the default when none is asked for, and never above the maximum. */
  async issue(
    userId: string,
    options: { name: string; scopes: ApiKeyScope[]; ttlHours?: number; origin: string },
    manager: EntityManager = this.dataSource.manager,
  ): Promise<IssuedKey> {
    const prefix = randomBytes(9)
      .toString('base64url')
      .toLowerCase()
      .replace(/[^a-z0-9]/g, '0')
      .slice(0, 12);
    const secret = randomBytes(32).toString('base64url');
    const ttlHours = Math.min(
      options.ttlHours ?? this.config.ODC_API_KEY_DEFAULT_TTL_HOURS,
      this.config.ODC_API_KEY_MAX_TTL_HOURS,
    );
    const apiKey = await manager.getRepository(ApiKey).save(
      manager.getRepository(ApiKey).create({
        prefix,
        secretHash: digest(secret),
        userId,
        name: options.name,
        scopes: options.scopes,
        origin: options.origin,
        expiresAt: new Date(Date.now() + ttlHours * HOUR_MS),
      }),
    );
    return { key: `odc_${prefix}_${secret}`, apiKey };
  }

  /** The key's holder, or why it is not a live key of an enabled user. */
  async authenticate(key: string): Promise<KeyHolder | KeyRejection> {
    const match = KEY_FORMAT.exec(key);
    if (!match) {
      return { rejected: AuthErrorCode.UnknownKey };
    }
    const now = Date.now();
    // Keyed by a digest of the whole presented key: a hit proves the same secret was verified.
    const cacheKey = digest(key).toString('hex');
    const cached = this.verified.get(cacheKey);
    if (cached && cached.until > now) {
      return cached.holder;
    }
    this.verified.delete(cacheKey);
    const [, prefix, secret = ''] = match;
    // One query (findOne with a relation and its implicit LIMIT costs TypeORM two round trips).
    const apiKey = await this.dataSource
      .getRepository(ApiKey)
      .createQueryBuilder('key')
      .innerJoinAndSelect('key.user', 'user')
      .where('key.prefix = :prefix', { prefix })
      .getOne();
    if (!apiKey?.user || !timingSafeEqual(digest(secret), apiKey.secretHash)) {
      return { rejected: AuthErrorCode.UnknownKey };
    }
    // Past the secret's check only: these say something of the key to its holder alone.
    if (apiKey.revokedAt) {
      return { rejected: AuthErrorCode.KeyRevoked };
    }
    if (apiKey.expiresAt.getTime() <= now) {
      return { rejected: AuthErrorCode.KeyExpired, expiredAt: apiKey.expiresAt };
    }
    if (apiKey.user.disabled) {
      return { rejected: AuthErrorCode.UserDisabled };
    }
    if (!apiKey.lastUsedAt || now - apiKey.lastUsedAt.getTime() > LAST_USED_GRANULARITY_MS) {
      await this.markUsed(apiKey.id, new Date(now));
    }
    const { user, ...rest } = apiKey;
    const holder = { apiKey: Object.assign(new ApiKey(), rest), user };
    this.remember(cacheKey, holder, Math.min(now + VERIFIED_KEY_CACHE_MS, apiKey.expiresAt.getTime()));
    return holder;
  }

  private remember(cacheKey: string, holder: KeyHolder, until: number): void {
    if (this.verified.size >= VERIFIED_KEY_CACHE_SIZE) {
      // Maps iterate in insertion order: the oldest entry goes first.
      this.verified.delete(this.verified.keys().next().value!);
    }
    this.verified.set(cacheKey, { holder, until });
  }

  async list(userId: string): Promise<ApiKey[]> {
    return this.dataSource.getRepository(ApiKey).find({ where: { userId }, order: { createdAt: 'DESC' } });
  }

  /** Revokes one of the user's keys; false when the user has no such key (another's is "no such key"). */
  async revoke(userId: string, id: string): Promise<boolean> {
    const result = await this.dataSource
      .getRepository(ApiKey)
      .update({ id, userId, revokedAt: IsNull() }, { revokedAt: new Date() });
    this.forget((holder) => holder.apiKey.id === id);
    return (result.affected ?? 0) > 0;
  }

  /** The key, if it is neither revoked nor expired (whoever it belongs to: callers check ownership). */
  async findLive(id: string): Promise<ApiKey | undefined> {
    const apiKey = await this.dataSource
      .getRepository(ApiKey)
      .findOneBy({ id, revokedAt: IsNull(), expiresAt: MoreThan(new Date()) });
    return apiKey ?? undefined;
  }

  /**
   * Replaces one of the user's live keys: a new key with its name, scopes, origin and lifetime (as
   * long as the old one was given, capped at today's maximum), and the old one revoked, in one
   * transaction. Undefined when the user has no such live key; of two concurrent rotations of one
   * key, the second finds it revoked.
   */
  async rotate(userId: string, id: string): Promise<IssuedKey | undefined> {
    const rotated = await this.dataSource.transaction(async (tx) => {
      const old = await tx.getRepository(ApiKey).findOne({
        where: { id, userId, revokedAt: IsNull(), expiresAt: MoreThan(new Date()) },
        lock: { mode: 'pessimistic_write' },
      });
      if (!old) {
        return undefined;
      }
      const issued = await this.issue(
        userId,
        {
          name: old.name,
          scopes: old.scopes,
          origin: old.origin,
          ttlHours: (old.expiresAt.getTime() - old.createdAt.getTime()) / HOUR_MS,
        },
        tx,
      );
      await tx.getRepository(ApiKey).update({ id }, { revokedAt: new Date() });
      return issued;
    });
    this.forget((holder) => holder.apiKey.id === id);
    return rotated;
  }

  /** After a change to the user (keys, role, disabled): their next request reads the row again. */
  forgetUser(userId: string): void {
    this.forget((holder) => holder.user.id === userId);
  }

  private forget(matches: (holder: KeyHolder) => boolean): void {
    for (const [cacheKey, { holder }] of this.verified) {
      if (matches(holder)) {
        this.verified.delete(cacheKey);
      }
    }
  }

  /** A conditional update: concurrent requests with the same key write once per granule at most. */
  private async markUsed(id: string, at: Date): Promise<void> {
    await this.dataSource
      .getRepository(ApiKey)
      .createQueryBuilder()
      .update()
      .set({ lastUsedAt: at })
      .where({ id })
      .andWhere([
        { lastUsedAt: IsNull() },
        { lastUsedAt: LessThan(new Date(at.getTime() - LAST_USED_GRANULARITY_MS)) },
      ])
      .execute();
  }
}

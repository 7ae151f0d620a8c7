import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, IsNull } from 'typeorm';
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';
import { AppError, CommonErrorCode } from '../../infra/errors/app-error';
import type { OidcIdentity } from '../oidc/oidc-identity';
import { User } from './user.entity';

@Injectable()
export class UsersService {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** The user of that name, created on first sight (a CI identity from a trusted JWT issuer). */
  async findOrCreateByUsername(username: string): Promise<User> {
    const repository = this.dataSource.getRepository(User);
    const known = await repository.findOneBy({ username });
    if (known) {
      return known; // every request of a known caller: a read, no write
    }
    // ON CONFLICT DO NOTHING: two first requests at once create one user.
    await repository.createQueryBuilder().insert().values({ username }).orIgnore().execute();
    return repository.findOneByOrFail({ username });
  }

  /**
   * The user an OIDC login stands for, found by (issuer, subject) and refreshed from the claims;
   * else the user of that name not yet tied to an OIDC identity (e.g. made by `admin:create`),
   * now tied to it; else a new one. A name held by another OIDC identity is a 409.
   */
  async upsertFromOidc(identity: OidcIdentity): Promise<User> {
    const repository = this.dataSource.getRepository(User);
    // TypeORM's deep-partial type cannot express a jsonb column of unknown values.
    const fromClaims = {
      email: identity.email,
      adminByClaims: identity.adminByClaims,
      oidcClaims: identity.claims,
      lastLoginAt: new Date(),
    } as QueryDeepPartialEntity<User>;
    const byIdentity = { oidcIssuer: identity.issuer, oidcSubject: identity.subject };
    const known = await repository.findOneBy(byIdentity);
    if (known) {
      await repository.update(known.id, fromClaims);
      return repository.findOneByOrFail({ id: known.id });
    }
    // Tie the name to this identity only while no identity holds it (one statement: no race).
    await repository.update(
      { username: identity.username, oidcSubject: IsNull() },
      { ...byIdentity, ...fromClaims },
    );
    // Either unique index (username, or issuer+subject from a concurrent first login) stops a duplicate.
    await repository
      .createQueryBuilder()
      .insert()
      .values({ username: identity.username, ...byIdentity, ...fromClaims })
      .orIgnore()
      .execute();
    const user = await repository.findOneBy(byIdentity);
    if (!user) {
      throw new AppError(
        CommonErrorCode.Conflict,
        `The user name "${identity.username}" belongs to another login; an admin must resolve it`,
      );
    }
    return user;
  }

  async recordLogin(userId: string): Promise<void> {
    await this.dataSource.getRepository(User).update(userId, { lastLoginAt: new Date() });
  }

  findById(id: string): Promise<User | null> {
    return this.dataSource.getRepository(User).findOneBy({ id });
  }

  async setSshKeys(userId: string, keys: string[]): Promise<void> {
    await this.dataSource.getRepository(User).update(userId, { sshKeys: keys });
  }
}

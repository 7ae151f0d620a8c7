import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';
import { AppError, CommonErrorCode } from '../../infra/errors/app-error';
import type { OidcIdentity } from '../oidc/oidc-identity';
import { UserIdentity, type IdentityKind } from './user-identity.entity';
import { User } from './user.entity';

/** What an identity provider vouched for: the binding key (issuer, subject) and a name for a new user. */
export interface ProvenIdentity {
  issuer: string;
  subject: string;
  /** Only names a user made at first sight; never finds one. */
  username: string;
}

/** Thrown inside a transaction to roll it back when a concurrent first sight bound the identity first. */
class BoundConcurrently extends Error {}

@Injectable()
export class UsersService {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * The user of that name, created on first sight: the legacy AWS login, whose session names the
   * roles' trust policies pin (docs/identity.md), and tests. Tokens never come this way.
   */
  async findOrCreateByUsername(username: string): Promise<User> {
    const repository = this.dataSource.getRepository(User);
    const known = await repository.findOneBy({ username });
    if (known) {
      return known;
    }
    // ON CONFLICT DO NOTHING: two first requests at once create one user.
    await repository.createQueryBuilder().insert().values({ username }).orIgnore().execute();
    return repository.findOneByOrFail({ username });
  }

  /**
   * The user a trusted issuer's token stands for: the one bound to its (issuer, subject), else a
   * new user of the token's name bound to it. A name another user already has, bound or not (an
   * admin made by `admin:create`, an OIDC login's), is a 409: the token does not become that user
   * unless an admin links the identity to it.
   */
  async findOrCreateForJwt(identity: ProvenIdentity): Promise<User> {
    const known = await this.boundUser(this.dataSource.manager, identity);
    if (known) {
      return known; // every request of a known caller: a read, no write
    }
    return this.firstSight(identity, 'jwt', async (tx) => {
      const id = await insertUser(tx, identity.username);
      if (!id) {
        throw usernameTaken(identity);
      }
      return id;
    });
  }

  /**
   * The user an OIDC login stands for, found by (issuer, subject) and refreshed from the claims;
   * else the user of that name not yet bound to any identity (made by `admin:create` or an AWS
   * login), now bound to it; else a new one. A name held by another identity is a 409.
   */
  async upsertFromOidc(identity: OidcIdentity): Promise<User> {
    // TypeORM's deep-partial type cannot express a jsonb column of unknown values.
    const fromClaims = {
      email: identity.email,
      adminByClaims: identity.adminByClaims,
      oidcClaims: identity.claims,
      lastLoginAt: new Date(),
    } as QueryDeepPartialEntity<User>;
    const known = await this.boundUser(this.dataSource.manager, identity);
    if (known) {
      await this.dataSource.getRepository(User).update(known.id, fromClaims);
      return this.dataSource.getRepository(User).findOneByOrFail({ id: known.id });
    }
    return this.firstSight(identity, 'oidc', async (tx) => {
      // The row lock keeps a concurrent link or first sight from binding the same name meanwhile.
      const named: { id: string; bound: boolean }[] = await tx.query(
        `SELECT u.id, EXISTS (SELECT 1 FROM user_identities i WHERE i.user_id = u.id) AS bound
           FROM users u WHERE u.username = $1 FOR UPDATE`,
        [identity.username],
      );
      if (named[0]?.bound) {
        throw usernameTaken(identity);
      }
      const id = named[0]?.id ?? (await insertUser(tx, identity.username));
      if (!id) {
        throw usernameTaken(identity);
      }
      await tx.getRepository(User).update(id, fromClaims);
      return id;
    });
  }

  /** An admin binds an identity to an existing user (e.g. a CI token's subject to its owner). */
  async linkIdentity(
    username: string,
    identity: Omit<ProvenIdentity, 'username'>,
    by: string,
  ): Promise<UserIdentity> {
    const user = await this.dataSource.getRepository(User).findOneBy({ username });
    if (!user) {
      throw new AppError(CommonErrorCode.NotFound, `No user ${username}`);
    }
    const bound = await this.dataSource
      .getRepository(UserIdentity)
      .findOneBy({ issuer: identity.issuer, subject: identity.subject });
    if (bound) {
      if (bound.userId === user.id) {
        return bound;
      }
      throw new AppError(
        CommonErrorCode.Conflict,
        'That identity is bound to another user; unlink it there first',
        {
          reason: 'identity_bound',
        },
      );
    }
    await this.dataSource
      .createQueryBuilder()
      .insert()
      .into(UserIdentity)
      .values({
        userId: user.id,
        issuer: identity.issuer,
        subject: identity.subject,
        kind: 'jwt',
        boundBy: by,
      })
      .orIgnore()
      .execute();
    const linked = await this.dataSource
      .getRepository(UserIdentity)
      .findOneByOrFail({ issuer: identity.issuer, subject: identity.subject });
    if (linked.userId !== user.id) {
      throw new AppError(
        CommonErrorCode.Conflict,
        'That identity is bound to another user; unlink it there first',
        {
          reason: 'identity_bound',
        },
      );
    }
    return linked;
  }

  async identitiesOf(username: string): Promise<UserIdentity[]> {
    const user = await this.dataSource.getRepository(User).findOneBy({ username });
    if (!user) {
      throw new AppError(CommonErrorCode.NotFound, `No user ${username}`);
    }
    return this.dataSource
      .getRepository(UserIdentity)
      .find({ where: { userId: user.id }, order: { createdAt: 'ASC' } });
  }

  /** Unbinds one of a user's identities; answers whether there was one. */
  async unlinkIdentity(username: string, identityId: string): Promise<boolean> {
    const identities = await this.identitiesOf(username);
    const identity = identities.find((candidate) => candidate.id === identityId);
    if (!identity) {
      return false;
    }
    await this.dataSource.getRepository(UserIdentity).delete(identity.id);
    return true;
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

  private async boundUser(
    manager: EntityManager,
    identity: Omit<ProvenIdentity, 'username'>,
  ): Promise<User | null> {
    const bound = await manager.getRepository(UserIdentity).findOne({
      where: { issuer: identity.issuer, subject: identity.subject },
      relations: { user: true },
    });
    return bound?.user ?? null;
  }

  /**
   * Makes or picks the user (`chooseUser`, in one transaction) and binds the identity to it. When a
   * concurrent first sight of the same identity wins, this one rolls back and answers its user.
   */
  private async firstSight(
    identity: ProvenIdentity,
    kind: IdentityKind,
    chooseUser: (tx: EntityManager) => Promise<string>,
  ): Promise<User> {
    try {
      const userId = await this.dataSource.transaction(async (tx) => {
        const id = await chooseUser(tx);
        const bound = await tx
          .createQueryBuilder()
          .insert()
          .into(UserIdentity)
          .values({
            userId: id,
            issuer: identity.issuer,
            subject: identity.subject,
            kind,
            boundBy: 'first-sight',
          })
          .orIgnore()
          .returning('id')
          .execute();
        if ((bound.raw as unknown[]).length === 0) {
          throw new BoundConcurrently();
        }
        return id;
      });
      return await this.dataSource.getRepository(User).findOneByOrFail({ id: userId });
    } catch (error) {
      const raced = await this.boundUser(this.dataSource.manager, identity);
      if (raced) {
        return raced;
      }
      throw error instanceof BoundConcurrently ? usernameTaken(identity) : error;
    }
  }
}

/** A new user of that name; undefined when the name is taken (ON CONFLICT DO NOTHING: no race). */
async function insertUser(tx: EntityManager, username: string): Promise<string | undefined> {
  const created = await tx
    .createQueryBuilder()
    .insert()
    .into(User)
    .values({ username })
    .orIgnore()
    .returning('id')
    .execute();
  return (created.raw as { id: string }[])[0]?.id;
}

/** The 409 an admin resolves by linking: it names the identity (never a secret) to link. */
function usernameTaken(identity: ProvenIdentity): AppError {
  return new AppError(
    CommonErrorCode.Conflict,
    `The user name "${identity.username}" belongs to another identity. An admin can bind this one to it ` +
      `(POST /api/v1/users/${identity.username}/identities {"issuer": "${identity.issuer}", "subject": "${identity.subject}"}), ` +
      'or the issuer can name it differently',
    { reason: 'username_taken', issuer: identity.issuer, subject: identity.subject },
  );
}

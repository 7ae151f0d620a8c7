import { Injectable, Logger } from '@nestjs/common';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { createRemoteJWKSet, type JWTPayload } from 'jose';
import { Passport } from 'passport';
import { Strategy, type VerifyCallback } from 'passport-openidconnect';
import { AuthConfig } from '../auth.config';
import { AppError, CommonErrorCode } from '../../infra/errors/app-error';
import type { User } from '../users/user.entity';
import { UsersService } from '../users/users.service';
import { discover, ISSUER_TIMEOUT_MS, type DiscoveryDocument } from './discovery';
import { verifyIdToken } from './id-token';
import { LoginStateStore } from './login-state-store';
import { oidcIdentityFrom } from './oidc-identity';

const STRATEGY = 'oidc';

/** How a login came back: the user, or why not (for the caller, the audit log and the browser). */
export type LoginOutcome = { user: User } | { failure: string; status: 401 | 403 };

/**
 * Browser login through the configured OpenID Provider: discovery on first use (retried until it
 * works), passport-openidconnect for the authorization-code flow with state and nonce in the
 * session, and the ID token's signature checked against the provider's keys (the library checks
 * its claims but not its signature).
 */
@Injectable()
export class OidcLogin {
  private readonly logger = new Logger('OidcLogin');
  private authenticator?: Promise<InstanceType<typeof Passport>>;

  constructor(
    private readonly config: AuthConfig,
    private readonly users: UsersService,
  ) {}

  get configured(): boolean {
    return this.config.ODC_OIDC_ISSUER !== undefined;
  }

  /** Sends the browser to the provider (a 302), having stored state and nonce in its session. */
  async redirectToProvider(req: Request, res: Response): Promise<void> {
    const passport = await this.passport();
    await new Promise<void>((resolve, reject) => {
      res.once('finish', resolve);
      const authenticate = passport.authenticate(STRATEGY, { session: false }) as RequestHandler;
      authenticate(req, res, ((error?: unknown) =>
        error ? reject(asLoginError(error)) : resolve()) as NextFunction);
    });
  }

  /** Completes the login the provider sent the browser back with. */
  async complete(req: Request, res: Response): Promise<LoginOutcome> {
    const passport = await this.passport();
    return new Promise<LoginOutcome>((resolve, reject) => {
      const done = (error: unknown, user: User | false, info?: { message?: string }, status?: number) => {
        if (error) {
          reject(asLoginError(error));
        } else if (user) {
          resolve({ user });
        } else {
          resolve({
            failure: info?.message ?? 'The login was not completed',
            status: status === 403 ? 403 : 401,
          });
        }
      };
      const authenticate = passport.authenticate(STRATEGY, { session: false }, done) as RequestHandler;
      authenticate(req, res, ((error?: unknown) => reject(asLoginError(error))) as NextFunction);
    });
  }

  /** One authenticator, built once discovery worked; a failed discovery is tried again next time. */
  private passport(): Promise<InstanceType<typeof Passport>> {
    if (!this.configured) {
      return Promise.reject(
        new AppError(CommonErrorCode.NotFound, 'OIDC login is not configured (ODC_OIDC_ISSUER)'),
      );
    }
    this.authenticator ??= this.buildAuthenticator().catch((error: unknown) => {
      this.authenticator = undefined;
      this.logger.warn(
        `OpenID Provider discovery failed: ${error instanceof Error ? error.message : String(error)}`,
      );
      throw new AppError(
        CommonErrorCode.NotReady,
        'The OpenID Provider cannot be reached; try again shortly',
      );
    });
    return this.authenticator;
  }

  private async buildAuthenticator(): Promise<InstanceType<typeof Passport>> {
    const issuer = this.config.ODC_OIDC_ISSUER!;
    const provider = await discover(issuer);
    if (!provider.authorization_endpoint || !provider.token_endpoint) {
      throw new Error('the discovery document has no authorization or token endpoint');
    }
    const keys = createRemoteJWKSet(new URL(provider.jwks_uri), { timeoutDuration: ISSUER_TIMEOUT_MS });
    const strategy = new Strategy(
      {
        issuer,
        authorizationURL: provider.authorization_endpoint,
        tokenURL: provider.token_endpoint,
        userInfoURL: provider.userinfo_endpoint ?? '',
        skipUserProfile: provider.userinfo_endpoint === undefined,
        clientID: this.config.ODC_OIDC_CLIENT_ID!,
        clientSecret: this.config.ODC_OIDC_CLIENT_SECRET!,
        callbackURL: this.config.ODC_OIDC_REDIRECT_URL!,
        scope: this.config.ODC_OIDC_SCOPES.split(/\s+/).filter((scope) => scope !== 'openid'),
        nonce: 'true', // any truthy value: a fresh nonce per login, checked against the ID token
        store: new LoginStateStore(),
      },
      // The 9-argument form: the userinfo endpoint's answer and the raw ID token.
      (
        _issuer: string,
        userinfo: { _json?: Record<string, unknown> } | undefined,
        _idProfile: object,
        _context: object,
        idToken: string | object,
        _accessToken: string | object,
        _refreshToken: string,
        _params: unknown,
        verified: VerifyCallback,
      ) => {
        this.verifiedUser(provider, keys, typeof idToken === 'string' ? idToken : '', userinfo?._json).then(
          (user) => verified(null, user),
          (error: unknown) => verified(error as Error),
        );
      },
    );
    const passport = new Passport();
    passport.use(STRATEGY, strategy);
    return passport;
  }

  private async verifiedUser(
    provider: DiscoveryDocument,
    keys: ReturnType<typeof createRemoteJWKSet>,
    idToken: string,
    userinfo: Record<string, unknown> | undefined,
  ): Promise<User> {
    let claims: JWTPayload;
    try {
      claims = await verifyIdToken(idToken, keys, {
        issuer: provider.issuer,
        clientId: this.config.ODC_OIDC_CLIENT_ID!,
      });
    } catch (error) {
      this.logger.warn(`ID token refused: ${error instanceof Error ? error.message : String(error)}`);
      throw new AppError(
        CommonErrorCode.Unauthorized,
        'The ID token from the OpenID Provider does not verify',
      );
    }
    // OpenID Connect Core §5.3.2: userinfo about another subject must not be used.
    const merged = userinfo && userinfo.sub === claims.sub ? { ...userinfo, ...claims } : claims;
    const identity = oidcIdentityFrom(merged, this.config);
    if (!identity) {
      throw new AppError(CommonErrorCode.Unauthorized, 'The OpenID Provider gave no usable user name');
    }
    const user = await this.users.upsertFromOidc(identity);
    if (user.disabled) {
      throw new AppError(CommonErrorCode.Forbidden, 'This user is disabled');
    }
    return user;
  }
}

/** Our own errors pass as they are; the provider's or the library's become a plain 401. */
function asLoginError(error: unknown): AppError {
  if (error instanceof AppError) {
    return error;
  }
  return new AppError(
    CommonErrorCode.Unauthorized,
    `The OpenID Provider login failed: ${error instanceof Error ? error.message : 'unknown error'}`,
  );
}

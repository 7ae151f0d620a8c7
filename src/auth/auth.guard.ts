import { Inject, Injectable, Optional, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuditService, requestContext } from '../audit/public';
import { AuthConfig } from './auth.config';
import { AuthErrorCode } from './auth.errors';
import { AppError, CommonErrorCode } from '../infra/errors/app-error';
import { loginKeyScopes } from './api-keys/api-key.entity';
import { ApiKeysService } from './api-keys/api-keys.service';
import { AUTH_REQUIREMENTS, type AuthenticatedRequest, type AuthRequirements } from './auth-requirements';
import { JwtVerifier } from './jwt/jwt-verifier';
import { hasScope, type Principal } from './principal';
import type { User } from './users/user.entity';
import { UsersService } from './users/users.service';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

interface Identified {
  principal: Principal;
  user: User;
}

/** Why nobody is identified; an expired key says when. */
interface Rejection {
  rejected: AuthErrorCode;
  expiredAt?: Date;
}

const UNKNOWN: Rejection = { rejected: AuthErrorCode.UnknownKey };

/** Each refusal with the fix that works for it (the CLI shows the message as it is). */
function whyRejected({ rejected, expiredAt }: Rejection): string {
  switch (rejected) {
    case AuthErrorCode.NoCredentials:
      return 'Authentication required: send Authorization: Bearer <API key>. With the CLI: gpu-dev login (an admin can also issue you a key: docs/identity.md)';
    case AuthErrorCode.UnknownKey:
      return 'This API key or token is not known here: check that it is this server’s (gpu-dev config show), or get a new one with gpu-dev login';
    case AuthErrorCode.KeyExpired:
      return `This API key expired${expiredAt ? ` at ${expiredAt.toISOString()}` : ''}: get a new one with gpu-dev login`;
    case AuthErrorCode.KeyRevoked:
      return 'This API key was revoked: get a new one with gpu-dev login';
    case AuthErrorCode.UserDisabled:
      return 'This user is disabled: ask an admin';
  }
}

/**
 * Establishes who calls (an API key, a JWT from a trusted issuer, a browser session) and checks what the route
 * requires. 401 when the caller is unknown, 403 when known but not allowed; every refusal is
 * audited, and no credential ever appears in an answer or a log line.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  /** Where this site's pages are served from (the OIDC redirect URL's origin). */
  private readonly siteOrigin?: string;

  constructor(
    private readonly reflector: Reflector,
    private readonly keys: ApiKeysService,
    private readonly users: UsersService,
    private readonly audit: AuditService,
    config: AuthConfig,
    @Optional() @Inject(JwtVerifier) private readonly jwt?: JwtVerifier,
  ) {
    this.siteOrigin = config.ODC_OIDC_REDIRECT_URL ? new URL(config.ODC_OIDC_REDIRECT_URL).origin : undefined;
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const required = this.reflector.getAllAndOverride<AuthRequirements | undefined>(AUTH_REQUIREMENTS, [
      context.getHandler(),
      context.getClass(),
    ]) ?? { scopes: [], admin: false };
    const identified = await this.identify(request);
    if ('rejected' in identified) {
      await this.deny(request, undefined, 'auth.unauthenticated', { reason: identified.rejected });
      throw new AppError(identified.rejected, whyRejected(identified));
    }
    const { principal } = identified;
    const missing = required.scopes.filter((scope) => !hasScope(principal, scope));
    if ((required.admin && !principal.admin) || missing.length > 0) {
      await this.deny(request, principal, 'auth.forbidden', {
        missing_scopes: missing,
        admin_required: required.admin,
      });
      throw new AppError(
        CommonErrorCode.Forbidden,
        required.admin && !principal.admin
          ? 'This needs an admin'
          : `This needs the scope(s): ${missing.join(', ')}`,
      );
    }
    request.principal = principal;
    request.caller = identified.user;
    return true;
  }

  private async identify(request: AuthenticatedRequest): Promise<Identified | Rejection> {
    if (request.headers.authorization === undefined) {
      return (await this.fromSession(request)) ?? { rejected: AuthErrorCode.NoCredentials };
    }
    const token = /^Bearer (\S+)$/i.exec(request.headers.authorization)?.[1];
    if (!token) {
      return UNKNOWN;
    }
    if (token.startsWith('odc_')) {
      const holder = await this.keys.authenticate(token);
      return !('rejected' in holder)
        ? {
            user: holder.user,
            principal: {
              userId: holder.user.id,
              username: holder.user.username,
              admin: holder.user.isAdmin,
              via: 'api_key',
              scopes: holder.apiKey.scopes,
              apiKeyId: holder.apiKey.id,
              expiresAt: holder.apiKey.expiresAt,
            },
          }
        : holder;
    }
    if (this.jwt?.looksLikeJwt(token)) {
      // A rejected JWT is "unknown caller" (401), except when the issuer cannot be reached (503).
      const identity = await this.jwt.verify(token).catch((error: unknown) => {
        if (error instanceof AppError && error.code !== CommonErrorCode.Unauthorized) {
          throw error;
        }
        return undefined;
      });
      if (!identity) {
        return UNKNOWN;
      }
      // Bound by (issuer, subject): the token's name only names a user made at first sight.
      const user = await this.users.findOrCreateForJwt(identity).catch(async (error: unknown) => {
        if (error instanceof AppError && error.code === CommonErrorCode.Conflict) {
          await this.audit.record({
            action: 'auth.jwt',
            outcome: 'denied',
            username: identity.username,
            ...requestContext(request),
            requestMetadata: { ...error.details, method: request.method, path: request.path },
          });
        }
        throw error;
      });
      return user.disabled
        ? { rejected: AuthErrorCode.UserDisabled }
        : {
            user,
            principal: {
              userId: user.id,
              username: user.username,
              admin: user.isAdmin,
              via: 'jwt',
              scopes: identity.scopes,
            },
          };
    }
    return UNKNOWN;
  }

  /**
   * A browser session from the OIDC login. Its cookie proves nothing on a state-changing request
   * from another site (CSRF): such a request must come from this site's own pages.
   */
  private async fromSession(request: AuthenticatedRequest): Promise<Identified | undefined> {
    const userId = request.session?.userId;
    if (!userId || (!SAFE_METHODS.has(request.method) && !this.fromThisSite(request))) {
      return undefined;
    }
    const user = await this.users.findById(userId);
    if (!user || user.disabled) {
      return undefined;
    }
    return {
      user,
      principal: {
        userId: user.id,
        username: user.username,
        admin: user.isAdmin,
        via: 'session',
        scopes: loginKeyScopes(user.isAdmin),
      },
    };
  }

  /** Browsers say where a request comes from: Origin on every POST/PUT/DELETE, Sec-Fetch-Site too. */
  private fromThisSite(request: AuthenticatedRequest): boolean {
    const origin = request.headers.origin;
    if (origin !== undefined) {
      return origin === this.siteOrigin;
    }
    return request.headers['sec-fetch-site'] === 'same-origin';
  }

  private async deny(
    request: AuthenticatedRequest,
    principal: Principal | undefined,
    action: string,
    metadata: Record<string, unknown> = {},
  ): Promise<void> {
    await this.audit.record({
      action,
      outcome: 'denied',
      userId: principal?.userId ?? null,
      username: principal?.username ?? null,
      ...requestContext(request),
      requestMetadata: { method: request.method, path: request.path, ...metadata },
    });
  }
}

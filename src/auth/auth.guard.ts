import { Inject, Injectable, Optional, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuditService, requestContext } from '../audit/public';
import { AuthConfig } from './auth.config';
import { AppError, CommonErrorCode } from '../infra/errors/app-error';
import { loginKeyScopes } from './api-keys/api-key.entity';
import { ApiKeysService } from './api-keys/api-keys.service';
import { AUTH_REQUIREMENTS, type AuthenticatedRequest, type AuthRequirements } from './auth-requirements';
import { JwtVerifier } from './jwt/jwt-verifier';
import { hasScope, type Principal } from './principal';
import type { User } from './users/user.entity';
import { UsersService } from './users/users.service';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

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
    const principal = identified?.principal;
    if (!principal) {
      await this.deny(request, undefined, 'auth.unauthenticated');
      throw new AppError(
        CommonErrorCode.Unauthorized,
        'Authentication required: send Authorization: Bearer <API key or token>, or log in at /auth/login',
      );
    }
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

  private async identify(
    request: AuthenticatedRequest,
  ): Promise<{ principal: Principal; user: User } | undefined> {
    if (request.headers.authorization === undefined) {
      return this.fromSession(request);
    }
    const token = /^Bearer (\S+)$/i.exec(request.headers.authorization)?.[1];
    if (!token) {
      return undefined;
    }
    if (token.startsWith('odc_')) {
      const holder = await this.keys.authenticate(token);
      return holder
        ? {
            user: holder.user,
            principal: {
              userId: holder.user.id,
              username: holder.user.username,
              admin: holder.user.isAdmin,
              via: 'api_key',
              scopes: holder.apiKey.scopes,
              apiKeyId: holder.apiKey.id,
            },
          }
        : undefined;
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
        return undefined;
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
        ? undefined
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
    return undefined;
  }

  /**
   * A browser session from the OIDC login. Its cookie proves nothing on a state-changing request
   * from another site (CSRF): such a request must come from this site's own pages.
   */
  private async fromSession(
    request: AuthenticatedRequest,
  ): Promise<{ principal: Principal; user: User } | undefined> {
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

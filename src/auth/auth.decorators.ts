import {
  applyDecorators,
  createParamDecorator,
  SetMetadata,
  UseGuards,
  type ExecutionContext,
} from '@nestjs/common';
import { ApiBearerAuth } from '@nestjs/swagger';
import { SkipThrottle } from '@nestjs/throttler';
import { CommonErrorCode } from '../infra/errors/app-error';
import { ApiErrors, type DocumentedError } from '../infra/http/api-errors';
import type { ApiKeyScope } from './api-keys/api-key.entity';
import { AUTH_REQUIREMENTS, type AuthenticatedRequest, type AuthRequirements } from './auth-requirements';
import { AuthErrorCode } from './auth.errors';
import { AuthGuard } from './auth.guard';
import { RateLimitGuard } from './rate-limit.guard';
import type { Principal } from './principal';
import type { User } from './users/user.entity';

/** Any authenticated caller whose credential carries these scopes (401 who are you, 403 not allowed). */
export function Authenticated(...scopes: ApiKeyScope[]): MethodDecorator & ClassDecorator {
  return requirements({ scopes, admin: false });
}

/** Admins only (the DB flag or the OIDC admin groups), with these scopes on an API key. */
export function AdminOnly(...scopes: ApiKeyScope[]): MethodDecorator & ClassDecorator {
  return requirements({ scopes, admin: true });
}

function requirements(required: AuthRequirements): MethodDecorator & ClassDecorator {
  return applyDecorators(
    SetMetadata(AUTH_REQUIREMENTS, required),
    // Rate limits first (a flood of bad credentials is limited too), then who is calling.
    SkipThrottle({ login: true }),
    UseGuards(RateLimitGuard, AuthGuard),
    ApiBearerAuth(),
    ApiErrors(...Object.values(AuthErrorCode), ...refusals(required), CommonErrorCode.RateLimited),
  );
}

/** The guard's 403s for these requirements, worded as it words them (none for any caller at all). */
function refusals({ scopes, admin }: AuthRequirements): DocumentedError[] {
  return [
    ...(admin ? [{ code: CommonErrorCode.Forbidden, message: 'This needs an admin' }] : []),
    ...(scopes.length > 0
      ? [{ code: CommonErrorCode.Forbidden, message: `This needs the scope(s): ${scopes.join(', ')}` }]
      : []),
  ];
}

/** The caller, as the guard established it. */
export const CurrentPrincipal = createParamDecorator(
  (_data: unknown, context: ExecutionContext): Principal => {
    return context.switchToHttp().getRequest<AuthenticatedRequest>().principal!;
  },
);

/** The caller's user row, loaded by the guard (no second query). */
export const CurrentUser = createParamDecorator((_data: unknown, context: ExecutionContext): User => {
  return context.switchToHttp().getRequest<AuthenticatedRequest>().caller!;
});

/**
 * Login and key-issuing routes: also held to ODC_RATE_LIMIT_LOGIN_PER_MINUTE per client IP (the
 * `login` limit), on top of the API's. Write it above a method's @Authenticated/@AdminOnly: the
 * decorator applied last (the upper one) sets whether the login limit is skipped.
 */
export function LoginRateLimited(): MethodDecorator {
  return SkipThrottle({ login: false });
}

import { Controller, Get, Inject, UseGuards } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { SkipThrottle } from '@nestjs/throttler';
import { CommonErrorCode } from '../infra/errors/app-error';
import { ApiErrors } from '../infra/http/api-errors';
import { AuthConfig } from './auth.config';
import { LoginMethodsDto, type LoginMethod } from './dto/login-methods.dto';
import { RateLimitGuard } from './rate-limit.guard';

const API_KEY_HELP =
  'An admin makes you a user and a key: npm run user:create -- --username NAME on the server ' +
  '(kubectl exec … node dist/scripts/user-create.js in a cluster); docs/identity.md';

/** Which logins this server offers: asked before anyone has a credential, so it needs none. */
@ApiTags('login')
@Controller('api/v1/auth')
// The API's rate limit, not the login's: asking how to log in is not an attempt.
@UseGuards(RateLimitGuard)
@SkipThrottle({ login: true })
@ApiErrors(CommonErrorCode.RateLimited)
export class LoginMethodsController {
  constructor(@Inject(AuthConfig) private readonly config: AuthConfig) {}

  @Get('methods')
  @ApiOperation({
    operationId: 'listLoginMethods',
    summary: 'List the ways to log in',
    description:
      'The ways to log in to this server, best first (`gpu-dev login` offers only these), and how to ' +
      'get an API key from an admin. Needs no credential: it is asked before anyone has one.',
  })
  @ApiOkResponse({ type: LoginMethodsDto })
  methods(): LoginMethodsDto {
    const methods: LoginMethod[] = [
      ...(this.config.ODC_OIDC_ISSUER ? (['oidc'] as const) : []),
      ...(this.config.ODC_AWS_IAM_AUTH_ENABLED ? (['aws'] as const) : []),
      'api_key',
    ];
    return { methods, api_key_help: API_KEY_HELP };
  }
}

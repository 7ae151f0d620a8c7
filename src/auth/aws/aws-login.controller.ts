import { RateLimitGuard } from '../rate-limit.guard';
import { Body, Controller, Post, Req, UseGuards, type Provider } from '@nestjs/common';
import { ApiCreatedResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import { AuditService, requestContext } from '../../audit/public';
import { AuthConfig } from '../auth.config';
import { AppError, CommonErrorCode } from '../../infra/errors/app-error';
import { ApiErrors } from '../../infra/http/api-errors';
import { loginKeyScopes } from '../api-keys/api-key.entity';
import { ApiKeysService } from '../api-keys/api-keys.service';
import { LoginRateLimited } from '../auth.decorators';
import { ApiKeyDto } from '../dto/api-key.dto';
import { AwsLoginDto, AwsLoginResultDto } from '../dto/aws-login.dto';
import { UsersService } from '../users/users.service';
import { AwsLoginError, AwsLoginReason, StsUnavailableError } from './aws-login.errors';
import { AwsLoginVerifier, type AwsIdentity, type PresignedCallerIdentity } from './aws-login.verifier';

/** For AuthModule's `providers`: the verifier, built from the validated config. */
export const AWS_LOGIN_PROVIDERS: Provider[] = [
  {
    provide: AwsLoginVerifier,
    inject: [AuthConfig],
    useFactory: (config: AuthConfig) => new AwsLoginVerifier(config),
  },
];

/**
 * Legacy AWS IAM login: a presigned STS GetCallerIdentity request in, an API key out. It is the
 * login, so no credential is asked for; it is held to the login rate limit instead. Every attempt
 * is audited as `auth.login` (method `aws_iam`), never with the URL, signature or headers sent.
 */
@ApiTags('login')
@Controller('api/v1/auth')
@UseGuards(RateLimitGuard)
export class AwsLoginController {
  constructor(
    private readonly verifier: AwsLoginVerifier,
    private readonly users: UsersService,
    private readonly keys: ApiKeysService,
    private readonly audit: AuditService,
  ) {}

  @Post('aws-login')
  @ApiOperation({
    operationId: 'loginWithAws',
    summary: 'Log in with AWS IAM (legacy)',
    description:
      'A presigned STS GetCallerIdentity request in, an API key out: STS says who the caller is, and ' +
      'an allowed role becomes an ODC user. 400 for a malformed request (or raw AWS credentials), 401 ' +
      'when STS does not vouch for the caller or their role may not log in, 403 for a disabled user, ' +
      '404 while ODC_AWS_IAM_AUTH_ENABLED is off, 503 when STS cannot be asked; `details.reason` says which.',
  })
  @LoginRateLimited()
  @ApiCreatedResponse({ type: AwsLoginResultDto })
  @ApiErrors(
    {
      code: CommonErrorCode.BadRequest,
      message: 'Exactly one Action=GetCallerIdentity is accepted',
      details: { reason: AwsLoginReason.WrongAction },
    },
    {
      code: CommonErrorCode.Unauthorized,
      message: 'STS refused the presigned request (SignatureDoesNotMatch)',
      details: { reason: AwsLoginReason.RejectedBySts, stsCode: 'SignatureDoesNotMatch' },
    },
    { code: CommonErrorCode.Forbidden, message: 'User alice is disabled' },
    {
      code: CommonErrorCode.NotFound,
      message: 'AWS IAM login is not enabled',
      details: { reason: AwsLoginReason.Disabled },
    },
    CommonErrorCode.RateLimited,
    {
      code: CommonErrorCode.NotReady,
      message: 'STS could not be reached (ETIMEDOUT)',
      details: { reason: AwsLoginReason.StsUnavailable, causeCode: 'ETIMEDOUT' },
    },
  )
  async awsLogin(@Body() body: AwsLoginDto, @Req() request: Request): Promise<AwsLoginResultDto> {
    const identity = await this.verify(body, request);
    const user = await this.users.findOrCreateByUsername(identity.username);
    await this.users.recordLogin(user.id);
    if (user.disabled) {
      await this.recordFailure(request, 'user_disabled', { userId: user.id, username: user.username });
      throw new AppError(CommonErrorCode.Forbidden, `User ${user.username} is disabled`);
    }
    const scopes = loginKeyScopes(user.isAdmin);
    const { key, apiKey } = await this.keys.issue(user.id, {
      name: body.key_name ?? 'aws-login',
      scopes,
      ttlHours: body.ttl_hours,
      origin: 'aws-login',
    });
    await this.audit.record({
      action: 'auth.login',
      outcome: 'success',
      userId: user.id,
      username: user.username,
      resourceType: 'api_key',
      resourceId: apiKey.id,
      ...requestContext(request),
      requestMetadata: {
        method: 'aws_iam',
        arn: identity.arn,
        scopes,
        expires_at: apiKey.expiresAt.toISOString(),
      },
    });
    return Object.assign(ApiKeyDto.from(apiKey), { key, username: user.username });
  }

  /** The verifier's answer; a refusal is audited (except while the feature is off) and rethrown. */
  private async verify(body: AwsLoginDto, request: Request): Promise<AwsIdentity> {
    // Only the presigned request's own fields: the verifier refuses anything else.
    const presigned: PresignedCallerIdentity = {
      url: body.url,
      ...(body.method !== undefined ? { method: body.method } : {}),
      ...(body.headers !== undefined ? { headers: body.headers } : {}),
      ...(body.body !== undefined ? { body: body.body } : {}),
    };
    try {
      return await this.verifier.verify(presigned);
    } catch (error) {
      if (error instanceof AwsLoginError || error instanceof StsUnavailableError) {
        if (error.reason !== AwsLoginReason.Disabled) {
          // Messages and STS codes never carry the URL, signature, token or header values.
          const stsCode = error.details?.stsCode;
          await this.recordFailure(request, error.reason, {
            message: error.message,
            ...(typeof stsCode === 'string' ? { sts_code: stsCode } : {}),
          });
        }
      }
      throw error;
    }
  }

  /** A refused login is `denied`; one STS could not answer (not the caller's doing) a `failure`. */
  private async recordFailure(
    request: Request,
    reason: AwsLoginReason | 'user_disabled',
    extra: { userId?: string; username?: string; message?: string; sts_code?: string },
  ): Promise<void> {
    const { userId, username, ...metadata } = extra;
    await this.audit.record({
      action: 'auth.login',
      outcome: reason === AwsLoginReason.StsUnavailable ? 'failure' : 'denied',
      userId: userId ?? null,
      username: username ?? null,
      ...requestContext(request),
      requestMetadata: { method: 'aws_iam', reason, ...metadata },
    });
  }
}

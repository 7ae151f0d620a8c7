import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  ParseUUIDPipe,
  Post,
  Put,
  Req,
} from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { AuditService } from '../audit/public';
import { AppError, CommonErrorCode } from '../infra/errors/app-error';
import { ApiErrors } from '../infra/http/api-errors';
import { ApiUuidParam } from '../infra/http/api-params';
import { ApiKeysService } from './api-keys/api-keys.service';
import type { AuthenticatedRequest } from './auth-requirements';
import { Authenticated, CurrentPrincipal, CurrentUser, LoginRateLimited } from './auth.decorators';
import {
  ApiKeyDto,
  ApiKeyListDto,
  CreateApiKeyDto,
  IssuedApiKeyDto,
  MeDto,
  SshKeysDto,
} from './dto/api-key.dto';
import { sshKeyProblem } from './users/ssh-keys';
import { UsersService } from './users/users.service';
import { ownedOrNotFound } from './ownership';
import type { Principal } from './principal';
import { ADMIN_SCOPES, type ApiKeyScope } from './api-keys/api-key.entity';
import { User } from './users/user.entity';

@ApiTags('me')
@Controller('api/v1')
export class MeController {
  constructor(
    private readonly users: UsersService,
    private readonly keys: ApiKeysService,
    private readonly audit: AuditService,
  ) {}

  @Get('me')
  @ApiOperation({
    operationId: 'getMe',
    summary: 'Who am I',
    description:
      'The user your credential stands for: name, whether an admin, how you authenticated and until ' +
      'when, the scopes you hold, and your SSH keys. The first call to make with a new key.',
  })
  @Authenticated()
  @ApiOkResponse({ type: MeDto })
  getMe(@CurrentPrincipal() principal: Principal, @CurrentUser() user: User): MeDto {
    return {
      id: principal.userId,
      username: principal.username,
      ...(user.email ? { email: user.email } : {}),
      admin: principal.admin,
      authenticated_by: principal.via,
      ...(principal.expiresAt ? { credential_expires_at: principal.expiresAt.toISOString() } : {}),
      scopes: [...principal.scopes],
      ssh_keys: user.sshKeys,
    };
  }

  @Put('me/ssh-keys')
  @ApiOperation({
    operationId: 'putSshKeys',
    summary: 'Set your SSH keys',
    description:
      'Replaces your SSH public keys: what your reservations let in. Each is checked whole (type, ' +
      'base64, key data), not just its prefix.',
  })
  @Authenticated('ssh-keys:write')
  @ApiOkResponse({ type: MeDto })
  @ApiErrors({
    code: CommonErrorCode.ValidationFailed,
    message: 'Some SSH keys are not acceptable',
    fields: [{ field: 'keys[0]', problems: ['must be one line like "<type> <base64> [comment]"'] }],
  })
  async putSshKeys(
    @CurrentPrincipal() principal: Principal,
    @CurrentUser() user: User,
    @Body() body: SshKeysDto,
    @Req() request: AuthenticatedRequest,
  ): Promise<MeDto> {
    const fields = body.keys.flatMap((key, index) => {
      const problem = sshKeyProblem(key);
      return problem ? [{ field: `keys[${index}]`, problems: [problem] }] : [];
    });
    if (fields.length > 0) {
      throw new AppError(CommonErrorCode.ValidationFailed, 'Some SSH keys are not acceptable', { fields });
    }
    const keys = [...new Set(body.keys.map((key) => key.trim()))];
    await this.users.setSshKeys(principal.userId, keys);
    this.keys.forgetUser(principal.userId);
    await this.audit.recordCall(principal, request, {
      action: 'user.ssh_keys.set',
      resourceType: 'user',
      resourceId: principal.userId,
      metadata: { count: keys.length },
    });
    return this.getMe(principal, Object.assign(new User(), user, { sshKeys: keys }));
  }

  @Get('keys')
  @ApiOperation({
    operationId: 'listApiKeys',
    summary: 'List your API keys',
    description:
      'Your keys, newest first, revoked and expired ones too: name, prefix, scopes, expiry and last ' +
      'use. Never a secret.',
  })
  @Authenticated()
  @ApiOkResponse({ type: ApiKeyListDto })
  async listKeys(@CurrentPrincipal() principal: Principal): Promise<ApiKeyListDto> {
    return { items: (await this.keys.list(principal.userId)).map((key) => ApiKeyDto.from(key)) };
  }

  @Post('keys')
  @ApiOperation({
    operationId: 'createApiKey',
    summary: 'Create an API key',
    description:
      'A new key for you (e.g. for a script, with fewer scopes), never with scopes the calling ' +
      'credential does not have itself. The answer is the only time its secret (`key`) is shown.',
  })
  @LoginRateLimited() // above @Authenticated, which would otherwise skip the login limit
  @Authenticated('keys:write')
  @ApiCreatedResponse({ type: IssuedApiKeyDto })
  @ApiErrors({
    code: CommonErrorCode.Forbidden,
    message: 'A key cannot carry scopes the calling credential lacks: clusters:admin',
  })
  async createKey(
    @CurrentPrincipal() principal: Principal,
    @Body() body: CreateApiKeyDto,
    @Req() request: AuthenticatedRequest,
  ): Promise<IssuedApiKeyDto> {
    assertMayHandOut(principal, body.scopes);
    const { key, apiKey } = await this.keys.issue(principal.userId, {
      name: body.name,
      scopes: body.scopes,
      ttlHours: body.ttl_hours,
      origin: 'api',
    });
    await this.recordKeyChange(principal, request, 'api_key.create', apiKey.id, {
      scopes: body.scopes,
      expires_at: apiKey.expiresAt.toISOString(),
    });
    return Object.assign(ApiKeyDto.from(apiKey), { key });
  }

  @Post('keys/:id/rotate')
  @ApiOperation({
    operationId: 'rotateApiKey',
    summary: 'Rotate an API key',
    description:
      'A new key in place of one of your live keys (same name, scopes and lifetime); the old one is ' +
      'revoked at once. Another user’s key, a revoked or an expired one answers 404; a key with scopes ' +
      'the calling credential lacks is not renewed by it (403), as POST /api/v1/keys would not issue it.',
  })
  @LoginRateLimited() // above @Authenticated, which would otherwise skip the login limit
  @Authenticated('keys:write')
  @ApiUuidParam()
  @ApiCreatedResponse({ type: IssuedApiKeyDto })
  @ApiErrors(
    { code: CommonErrorCode.NotFound, message: 'No live API key 5d2e8f1a-3b4c-4d6e-9f70-8a1b2c3d4e5f' },
    {
      code: CommonErrorCode.Forbidden,
      message: 'A key cannot carry scopes the calling credential lacks: clusters:admin',
    },
  )
  async rotateKey(
    @CurrentPrincipal() principal: Principal,
    @Param('id', new ParseUUIDPipe()) id: string,
    @Req() request: AuthenticatedRequest,
  ): Promise<IssuedApiKeyDto> {
    const live = ownedOrNotFound(await this.keys.findLive(id), principal, `No live API key ${id}`);
    assertMayHandOut(principal, live.scopes);
    const rotated = await this.keys.rotate(principal.userId, id);
    if (!rotated) {
      throw new AppError(CommonErrorCode.NotFound, `No live API key ${id}`);
    }
    await this.recordKeyChange(principal, request, 'api_key.rotate', id, {
      new_key_id: rotated.apiKey.id,
      scopes: rotated.apiKey.scopes,
      expires_at: rotated.apiKey.expiresAt.toISOString(),
    });
    return Object.assign(ApiKeyDto.from(rotated.apiKey), { key: rotated.key });
  }

  @Delete('keys/:id')
  @ApiOperation({
    operationId: 'revokeApiKey',
    summary: 'Revoke an API key',
    description: 'The key stops working at once. Another user’s key answers 404, as one that does not exist.',
  })
  @Authenticated('keys:write')
  @HttpCode(204)
  @ApiUuidParam()
  @ApiNoContentResponse({ description: 'Revoked' })
  @ApiErrors({ code: CommonErrorCode.NotFound, message: 'No API key 5d2e8f1a-3b4c-4d6e-9f70-8a1b2c3d4e5f' })
  async revokeKey(
    @CurrentPrincipal() principal: Principal,
    @Param('id', new ParseUUIDPipe()) id: string,
    @Req() request: AuthenticatedRequest,
  ): Promise<void> {
    if (!(await this.keys.revoke(principal.userId, id))) {
      throw new AppError(CommonErrorCode.NotFound, `No API key ${id}`);
    }
    await this.recordKeyChange(principal, request, 'api_key.revoke', id);
  }

  private recordKeyChange(
    principal: Principal,
    request: AuthenticatedRequest,
    action: 'api_key.create' | 'api_key.rotate' | 'api_key.revoke',
    keyId: string,
    metadata?: Record<string, unknown>,
  ): Promise<unknown> {
    return this.audit.recordCall(principal, request, {
      action,
      resourceType: 'api_key',
      resourceId: keyId,
      ...(metadata ? { metadata } : {}),
    });
  }
}

/** A credential never hands out (in a new or a renewed key) scopes it does not hold itself. */
function assertMayHandOut(principal: Principal, scopes: readonly ApiKeyScope[]): void {
  const beyond = scopes.filter(
    (scope) => !principal.scopes.includes(scope) || (ADMIN_SCOPES.includes(scope) && !principal.admin),
  );
  if (beyond.length > 0) {
    throw new AppError(
      CommonErrorCode.Forbidden,
      `A key cannot carry scopes the calling credential lacks: ${beyond.join(', ')}`,
    );
  }
}

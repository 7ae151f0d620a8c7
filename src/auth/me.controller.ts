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
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiTags,
} from '@nestjs/swagger';
import { AuditService } from '../audit/public';
import { AppError, CommonErrorCode } from '../infra/errors/app-error';
import { ApiUuidParam } from '../infra/http/api-params';
import { ErrorResponse } from '../infra/http/error-response';
import { ApiKeysService } from './api-keys/api-keys.service';
import type { AuthenticatedRequest } from './auth-requirements';
import { Authenticated, CurrentPrincipal, CurrentUser, LoginRateLimited } from './auth.decorators';
import { ApiKeyDto, CreateApiKeyDto, IssuedApiKeyDto, MeDto, SshKeysDto } from './dto/api-key.dto';
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
  @Authenticated()
  @ApiOkResponse({ type: MeDto })
  getMe(@CurrentPrincipal() principal: Principal, @CurrentUser() user: User): MeDto {
    return {
      id: principal.userId,
      username: principal.username,
      ...(user.email ? { email: user.email } : {}),
      admin: principal.admin,
      authenticated_by: principal.via,
      scopes: [...principal.scopes],
      ssh_keys: user.sshKeys,
    };
  }

  /** Replaces the caller's SSH keys (what reservations authorise); each is checked, not just its prefix. */
  @Put('me/ssh-keys')
  @Authenticated('ssh-keys:write')
  @ApiOkResponse({ type: MeDto })
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
  @Authenticated()
  @ApiOkResponse({ type: [ApiKeyDto] })
  async listKeys(@CurrentPrincipal() principal: Principal): Promise<ApiKeyDto[]> {
    return (await this.keys.list(principal.userId)).map((key) => ApiKeyDto.from(key));
  }

  /** A new key for the caller, never with scopes the calling credential does not have itself. */
  @Post('keys')
  @LoginRateLimited() // above @Authenticated, which would otherwise skip the login limit
  @Authenticated('keys:write')
  @ApiCreatedResponse({ type: IssuedApiKeyDto })
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

  /**
   * A new key in place of one of the caller's live keys (same name, scopes and lifetime); the old one
   * is revoked at once. Another user's key, a revoked or an expired one answers 404; a key with
   * scopes the calling credential lacks is not renewed by it (403), as POST /keys would not issue it.
   */
  @Post('keys/:id/rotate')
  @LoginRateLimited() // above @Authenticated, which would otherwise skip the login limit
  @Authenticated('keys:write')
  @ApiUuidParam()
  @ApiCreatedResponse({ type: IssuedApiKeyDto })
  @ApiNotFoundResponse({ type: ErrorResponse, description: 'No live key of yours with that id' })
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

  /** Another user's key answers 404, as one that does not exist. */
  @Delete('keys/:id')
  @Authenticated('keys:write')
  @HttpCode(204)
  @ApiUuidParam()
  @ApiNoContentResponse()
  @ApiNotFoundResponse({ type: ErrorResponse, description: 'No key of yours with that id' })
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

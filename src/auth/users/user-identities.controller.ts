import { Body, Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe, Post, Req } from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { AuditService } from '../../audit/public';
import { AppError, CommonErrorCode } from '../../infra/errors/app-error';
import { ApiErrors } from '../../infra/http/api-errors';
import { ApiUuidParam } from '../../infra/http/api-params';
import type { AuthenticatedRequest } from '../auth-requirements';
import { AdminOnly, CurrentPrincipal } from '../auth.decorators';
import { IdentityDto, IdentityListDto, LinkIdentityDto } from '../dto/identity.dto';
import type { Principal } from '../principal';
import { UsersService } from './users.service';

/**
 * Admins bind identities to users: the way a token whose name is taken (a 409 at first sight)
 * becomes that user, and the way to undo a binding.
 */
@ApiTags('users')
@Controller('api/v1/users/:username/identities')
@AdminOnly('users:admin')
@ApiErrors({ code: CommonErrorCode.NotFound, message: 'No user alice' })
export class UserIdentitiesController {
  constructor(
    private readonly users: UsersService,
    private readonly audit: AuditService,
  ) {}

  @Get()
  @ApiOperation({
    operationId: 'listUserIdentities',
    summary: 'List a user’s identities',
    description: 'The external identities (issuer and subject) that log in as this user.',
  })
  @ApiOkResponse({ type: IdentityListDto })
  async listIdentities(@Param('username') username: string): Promise<IdentityListDto> {
    return { items: (await this.users.identitiesOf(username)).map((identity) => IdentityDto.from(identity)) };
  }

  @Post()
  @ApiOperation({
    operationId: 'linkUserIdentity',
    summary: 'Bind an identity to a user',
    description:
      'From now on, logins (OIDC) and tokens (JWT) of this issuer and subject are this user: how a ' +
      'login whose name another user holds (409 at first sight) becomes that user.',
  })
  @ApiCreatedResponse({ type: IdentityDto })
  @ApiErrors(CommonErrorCode.Conflict)
  async linkIdentity(
    @CurrentPrincipal() principal: Principal,
    @Param('username') username: string,
    @Body() body: LinkIdentityDto,
    @Req() request: AuthenticatedRequest,
  ): Promise<IdentityDto> {
    const identity = await this.users.linkIdentity(username, body, principal.username);
    await this.audit.recordCall(principal, request, {
      action: 'user.identity.link',
      resourceType: 'user',
      resourceId: identity.userId,
      metadata: { username, issuer: identity.issuer, subject: identity.subject },
    });
    return IdentityDto.from(identity);
  }

  @Delete(':id')
  @ApiOperation({
    operationId: 'unlinkUserIdentity',
    summary: 'Unbind an identity',
    description: 'Its logins and tokens are no longer this user’s.',
  })
  @HttpCode(204)
  @ApiUuidParam()
  @ApiNoContentResponse({ description: 'Unbound' })
  @ApiErrors({
    code: CommonErrorCode.NotFound,
    message: 'No identity 7c1d2e3f-4a5b-4c6d-8e9f-0a1b2c3d4e5f of alice',
  })
  async unlinkIdentity(
    @CurrentPrincipal() principal: Principal,
    @Param('username') username: string,
    @Param('id', new ParseUUIDPipe()) id: string,
    @Req() request: AuthenticatedRequest,
  ): Promise<void> {
    if (!(await this.users.unlinkIdentity(username, id))) {
      throw new AppError(CommonErrorCode.NotFound, `No identity ${id} of ${username}`);
    }
    await this.audit.recordCall(principal, request, {
      action: 'user.identity.unlink',
      resourceType: 'user',
      resourceId: id,
      metadata: { username },
    });
  }
}

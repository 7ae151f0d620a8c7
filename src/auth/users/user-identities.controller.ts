import { Body, Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe, Post, Req } from '@nestjs/common';
import {
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiTags,
} from '@nestjs/swagger';
import { AuditService } from '../../audit/public';
import { AppError, CommonErrorCode } from '../../infra/errors/app-error';
import { ApiUuidParam } from '../../infra/http/api-params';
import { ErrorResponse } from '../../infra/http/error-response';
import type { AuthenticatedRequest } from '../auth-requirements';
import { AdminOnly, CurrentPrincipal } from '../auth.decorators';
import { IdentityDto, LinkIdentityDto } from '../dto/identity.dto';
import type { Principal } from '../principal';
import { UsersService } from './users.service';

/**
 * Admins bind identities to users: the way a token whose name is taken (a 409 at first sight)
 * becomes that user, and the way to undo a binding.
 */
@ApiTags('users')
@Controller('api/v1/users/:username/identities')
@AdminOnly('users:admin')
@ApiNotFoundResponse({ type: ErrorResponse, description: 'No such user (or identity of theirs)' })
export class UserIdentitiesController {
  constructor(
    private readonly users: UsersService,
    private readonly audit: AuditService,
  ) {}

  @Get()
  @ApiOkResponse({ type: [IdentityDto] })
  async listIdentities(@Param('username') username: string): Promise<IdentityDto[]> {
    return (await this.users.identitiesOf(username)).map((identity) => IdentityDto.from(identity));
  }

  @Post()
  @ApiCreatedResponse({ type: IdentityDto })
  @ApiConflictResponse({ type: ErrorResponse, description: 'The identity is bound to another user' })
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
  @HttpCode(204)
  @ApiUuidParam()
  @ApiNoContentResponse()
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

import { Body, Controller, Get, HttpCode, Post, Query, Req, Res } from '@nestjs/common';
import {
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiTags,
} from '@nestjs/swagger';
import type { Response } from 'express';
import {
  AuditService,
  AuditEntryDto,
  AuditPageDto,
  AuditQueryDto,
  ChainVerificationDto,
  RecordUsageDto,
  VerifyAgainstDto,
  requestContext,
} from '../audit/public';
import { ErrorResponse } from '../infra/http/error-response';
import type { AuthenticatedRequest } from './auth-requirements';
import { AdminOnly, Authenticated, CurrentPrincipal } from './auth.decorators';
import type { Principal } from './principal';
import { UsageService } from './usage/usage.service';

/**
 * The audit log's API, served by identity (who may read it is an auth question; the log itself,
 * src/audit, knows no principal): reading it is for admins, recording usage for any credential
 * with `usage:write`.
 */
@ApiTags('audit')
@Controller('api/v1/audit')
export class AuditController {
  constructor(
    private readonly audit: AuditService,
    private readonly usage: UsageService,
  ) {}

  @Get()
  @AdminOnly('audit:read')
  @ApiOkResponse({ type: AuditPageDto })
  listAuditEntries(@Query() query: AuditQueryDto): Promise<AuditPageDto> {
    return this.audit.list(query);
  }

  /** Recomputes the keyed chain and holds it to the newest stored checkpoint. */
  @Get('verify')
  @AdminOnly('audit:read')
  @ApiOkResponse({ type: ChainVerificationDto })
  verifyAuditChain(): Promise<ChainVerificationDto> {
    return this.audit.verifyChain();
  }

  /**
   * The same, held to a checkpoint kept outside the database (a log line, the metric, the
   * receiving URL's copy): what catches a database writer who also deleted stored checkpoints.
   */
  @Post('verify')
  @HttpCode(200)
  @AdminOnly('audit:read')
  @ApiOkResponse({ type: ChainVerificationDto })
  verifyAuditChainAgainst(@Body() body: VerifyAgainstDto): Promise<ChainVerificationDto> {
    return this.audit.verifyChain(body.checkpoint);
  }

  /** 201 with the row written; 200 with the row already written for that Bedrock request id. */
  @Post('usage')
  @Authenticated('usage:write')
  @ApiCreatedResponse({ type: AuditEntryDto, description: 'Recorded' })
  @ApiOkResponse({ type: AuditEntryDto, description: 'Already recorded: the same row' })
  @ApiNotFoundResponse({ type: ErrorResponse, description: 'No such user' })
  @ApiConflictResponse({ type: ErrorResponse, description: 'Already recorded with other values' })
  async recordUsage(
    @CurrentPrincipal() principal: Principal,
    @Body() body: RecordUsageDto,
    @Req() request: AuthenticatedRequest,
    @Res({ passthrough: true }) response: Response,
  ): Promise<AuditEntryDto> {
    const { entry, created } = await this.usage.recordUsage(principal, body, requestContext(request));
    response.status(created ? 201 : 200);
    return AuditEntryDto.from(entry);
  }
}

import { Body, Controller, Get, HttpCode, Post, Query, Req, Res } from '@nestjs/common';
import { ApiBody, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
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
import { CommonErrorCode } from '../infra/errors/app-error';
import { ApiErrors } from '../infra/http/api-errors';
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
  @ApiOperation({
    operationId: 'listAuditEntries',
    summary: 'Read the audit log',
    description:
      'Who did what, when, and how it ended (success, denied, failure), newest first, a page at a ' +
      'time; narrowed down by user, action, resource, outcome or time.',
  })
  @AdminOnly('audit:read')
  @ApiOkResponse({ type: AuditPageDto })
  listAuditEntries(@Query() query: AuditQueryDto): Promise<AuditPageDto> {
    return this.audit.list(query);
  }

  @Get('verify')
  @ApiOperation({
    operationId: 'verifyAuditChain',
    summary: 'Verify the audit chain',
    description:
      'Recomputes the keyed chain of the log and holds it to the newest stored checkpoint: `ok`, or ' +
      'the first row that does not hold and why (rewritten, truncated, …).',
  })
  @AdminOnly('audit:read')
  @ApiOkResponse({ type: ChainVerificationDto })
  verifyAuditChain(): Promise<ChainVerificationDto> {
    return this.audit.verifyChain();
  }

  @Post('verify')
  @ApiOperation({
    operationId: 'verifyAuditChainAgainstCheckpoint',
    summary: 'Verify the audit chain against your checkpoint',
    description:
      'The same, held to a checkpoint kept outside the database (a log line, the metric, the ' +
      'receiving URL’s copy): what catches a database writer who also deleted stored checkpoints.',
  })
  @HttpCode(200)
  @AdminOnly('audit:read')
  @ApiOkResponse({ type: ChainVerificationDto })
  verifyAuditChainAgainst(@Body() body: VerifyAgainstDto): Promise<ChainVerificationDto> {
    return this.audit.verifyChain(body.checkpoint);
  }

  @Post('usage')
  @ApiOperation({
    operationId: 'recordUsage',
    summary: 'Record model usage',
    description:
      'Writes a Bedrock request’s token usage into the audit log, for the caller (or, for an admin, ' +
      'another user). Safe to retry: 201 with the row written, 200 with the row already written for ' +
      'that Bedrock request id.',
  })
  @Authenticated('usage:write')
  @ApiBody({
    type: RecordUsageDto,
    examples: {
      yours: {
        summary: 'Your own usage (an admin may name another user in `username`)',
        value: {
          bedrock_request_id: '0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0',
          tokens_used: 1200,
          model: 'anthropic.claude-sonnet-4',
        },
      },
    },
  })
  @ApiCreatedResponse({ type: AuditEntryDto, description: 'Recorded' })
  @ApiOkResponse({ type: AuditEntryDto, description: 'Already recorded: the same row' })
  @ApiErrors(
    { code: CommonErrorCode.Forbidden, message: 'Only an admin may record usage for another user' },
    { code: CommonErrorCode.NotFound, message: 'No user alice' },
    {
      code: CommonErrorCode.Conflict,
      message:
        'Usage of Bedrock request 0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0 is already recorded with other values',
    },
  )
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

import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import {
  ApiBody,
  ApiExtraModels,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiProduces,
  ApiQuery,
  ApiTags,
  getSchemaPath,
} from '@nestjs/swagger';
import type { Response } from 'express';
import { AppError, CommonErrorCode } from '../infra/errors/app-error';
import { ErrorResponse } from '../infra/http/error-response';
import {
  MAX_EXTERNAL_IDS,
  type ApplyResult,
  type ClusterCapacity,
  type DeployerHealth,
  type DeploymentStatus,
  type UrlReady,
} from './contract';
import { DeployerApi } from './deployer-api.decorators';
import { ApiDnsLabelParam, DnsLabelPipe } from '../infra/kubernetes/names';
import { EXTERNAL_ID_LIST, ExternalIdListPipe } from './dto/external-ids';
import { DeployerService } from './deployer.service';
import {
  ApplyResultDto,
  ClusterCapacityDto,
  DeployerHealthDto,
  DEPLOYMENT_SPEC_SCHEMA,
  DeploymentSpecDto,
  DeploymentStatusDto,
  LogQueryDto,
  UrlReadyDto,
} from './dto/deployment.dto';
import { parseDeploymentSpec } from './spec-validation';

@ApiTags('deployments')
@ApiExtraModels(DeploymentSpecDto)
@Controller('api/v1')
@DeployerApi()
export class DeployerController {
  constructor(private readonly deployer: DeployerService) {}

  @Post('deployments')
  @ApiBody({ schema: DEPLOYMENT_SPEC_SCHEMA })
  @ApiCreatedResponse({ type: ApplyResultDto, description: 'Something was created; 200 when all existed' })
  @ApiOkResponse({ type: ApplyResultDto, description: 'Everything existed (configured or unchanged)' })
  @ApiConflictResponse({
    type: ErrorResponse,
    description: 'An object conflicts with what the cluster holds',
  })
  async applyDeployment(
    @Body() body: unknown,
    @Res({ passthrough: true }) res: Response,
  ): Promise<ApplyResult> {
    const { created, result } = await this.deployer.applyDeployment(parseDeploymentSpec(body));
    res.status(created ? 201 : 200);
    return result;
  }

  @Get('deployments')
  @ApiQuery({
    name: 'external_id',
    required: false,
    description: `Only these deployments: a comma list of up to ${MAX_EXTERNAL_IDS} external ids`,
    type: 'string',
    pattern: EXTERNAL_ID_LIST,
  })
  @ApiOkResponse({
    type: [DeploymentStatusDto],
    description: 'Every managed deployment (or those named), from one list per kind',
  })
  listDeployments(
    @Query('external_id', ExternalIdListPipe) externalIds?: string[],
  ): Promise<DeploymentStatus[]> {
    return this.deployer.listDeployments(externalIds);
  }

  @Get('capacity')
  @ApiOkResponse({ type: ClusterCapacityDto })
  getCapacity(): Promise<ClusterCapacity> {
    return this.deployer.capacity();
  }

  @Delete('deployments/:externalId')
  @HttpCode(204)
  @ApiDnsLabelParam('externalId')
  @ApiNoContentResponse({ description: 'Deleted (volumes of persistent disks stay), or nothing existed' })
  async deleteDeployment(@Param('externalId', DnsLabelPipe) externalId: string): Promise<void> {
    await this.deployer.deleteDeployment(externalId);
  }

  @Get('deployments/:externalId/status')
  @ApiDnsLabelParam('externalId')
  @ApiOkResponse({ type: DeploymentStatusDto })
  getDeploymentStatus(@Param('externalId', DnsLabelPipe) externalId: string): Promise<DeploymentStatus> {
    return this.deployer.status(externalId);
  }

  @Get('deployments/:externalId/url-ready')
  @ApiDnsLabelParam('externalId')
  @ApiOkResponse({ type: UrlReadyDto })
  getUrlReady(@Param('externalId', DnsLabelPipe) externalId: string): Promise<UrlReady> {
    return this.deployer.urlReady(externalId);
  }

  @Get('deployments/:externalId/logs')
  @ApiDnsLabelParam('externalId')
  @ApiProduces('text/plain')
  @ApiOkResponse({ schema: { type: 'string' }, description: 'The log of the deployment’s pod' })
  @ApiNotFoundResponse({
    description: 'No pod (or no such container) of the deployment',
    // JSON, as every error: not the text/plain this route answers otherwise.
    content: { 'application/json': { schema: { $ref: getSchemaPath(ErrorResponse) } } },
  })
  async getLogs(
    @Param('externalId', DnsLabelPipe) externalId: string,
    @Query() query: LogQueryDto,
    @Res() res: Response,
  ): Promise<void> {
    const log = await this.deployer.logs(externalId, query);
    if (log === undefined) {
      throw new AppError(CommonErrorCode.NotFound, `No pod of deployment ${externalId}`);
    }
    res.type('text/plain').send(log);
  }

  @Get('health')
  @ApiOkResponse({ type: DeployerHealthDto })
  getHealth(): Promise<DeployerHealth> {
    return this.deployer.health();
  }
}

import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import {
  ApiBody,
  ApiExtraModels,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiProduces,
  ApiQuery,
  ApiTags,
} from '@nestjs/swagger';
import type { Response } from 'express';
import { AppError, CommonErrorCode } from '../infra/errors/app-error';
import { ApiErrors } from '../infra/http/api-errors';
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
import { DeployerErrorCode } from './deployer.errors';
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
  @ApiOperation({
    operationId: 'applyDeployment',
    summary: 'Apply a deployment',
    description:
      'Applies every manifest of the spec (server-side apply), after the policy has checked them all: ' +
      'nothing is applied if one breaks it. Idempotent: 201 when something was created, 200 when ' +
      'everything existed.',
  })
  @ApiBody({ schema: DEPLOYMENT_SPEC_SCHEMA })
  @ApiCreatedResponse({ type: ApplyResultDto, description: 'Something was created; 200 when all existed' })
  @ApiOkResponse({ type: ApplyResultDto, description: 'Everything existed (configured or unchanged)' })
  @ApiErrors(DeployerErrorCode.InvalidSpec, {
    code: CommonErrorCode.Conflict,
    message:
      '1 object(s) of the spec exist and belong to something else (Service dev-7f3a-ssh: another deployment)',
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
  @ApiOperation({
    operationId: 'listDeployments',
    summary: 'List deployments',
    description: 'Every deployment this deployer manages (or those named), with its status.',
  })
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
  @ApiOperation({
    operationId: 'getCapacity',
    summary: 'Report the nodes',
    description:
      'The cluster’s nodes: GPU type, allocatable and requested GPUs, readiness, labels (what the ' +
      'coordinator’s capacity sync reads).',
  })
  @ApiOkResponse({ type: ClusterCapacityDto })
  getCapacity(): Promise<ClusterCapacity> {
    return this.deployer.capacity();
  }

  @Delete('deployments/:externalId')
  @ApiOperation({
    operationId: 'deleteDeployment',
    summary: 'Delete a deployment',
    description: 'Deletes its objects; the volumes of persistent disks stay. Idempotent.',
  })
  @HttpCode(204)
  @ApiDnsLabelParam('externalId')
  @ApiNoContentResponse({ description: 'Deleted (volumes of persistent disks stay), or nothing existed' })
  async deleteDeployment(@Param('externalId', DnsLabelPipe) externalId: string): Promise<void> {
    await this.deployer.deleteDeployment(externalId);
  }

  @Get('deployments/:externalId/status')
  @ApiOperation({
    operationId: 'getDeploymentStatus',
    summary: 'Get a deployment’s status',
    description:
      'Whether it exists, its pods (node, phase, readiness), warning events, and how to reach it (SSH, Jupyter).',
  })
  @ApiDnsLabelParam('externalId')
  @ApiOkResponse({ type: DeploymentStatusDto })
  getDeploymentStatus(@Param('externalId', DnsLabelPipe) externalId: string): Promise<DeploymentStatus> {
    return this.deployer.status(externalId);
  }

  @Get('deployments/:externalId/url-ready')
  @ApiOperation({
    operationId: 'getDeploymentUrlReady',
    summary: 'Check a deployment’s URL',
    description: 'Whether the workload is ready and reachable through its Service, check by check.',
  })
  @ApiDnsLabelParam('externalId')
  @ApiOkResponse({ type: UrlReadyDto })
  getUrlReady(@Param('externalId', DnsLabelPipe) externalId: string): Promise<UrlReady> {
    return this.deployer.urlReady(externalId);
  }

  @Get('deployments/:externalId/logs')
  @ApiOperation({
    operationId: 'getDeploymentLogs',
    summary: 'Read a deployment’s log',
    description: 'The log of the deployment’s pod, as text (errors are JSON, as everywhere).',
  })
  @ApiDnsLabelParam('externalId')
  @ApiProduces('text/plain')
  @ApiOkResponse({ schema: { type: 'string' }, description: 'The log of the deployment’s pod' })
  @ApiErrors({ code: CommonErrorCode.NotFound, message: 'No pod of deployment dev-7f3a' })
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
  @ApiOperation({
    operationId: 'getDeployerHealth',
    summary: 'Check the deployer',
    description: 'Whether it reaches its Kubernetes API server, the namespaces it manages, and its uptime.',
  })
  @ApiOkResponse({ type: DeployerHealthDto })
  getHealth(): Promise<DeployerHealth> {
    return this.deployer.health();
  }
}

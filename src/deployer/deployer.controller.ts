import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query, Res, UseGuards } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiBody,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiProduces,
  ApiQuery,
  ApiTags,
} from '@nestjs/swagger';
import type { Response } from 'express';
import { AppError, CommonErrorCode } from '../infra/errors/app-error';
import {
  MAX_EXTERNAL_IDS,
  type ApplyResult,
  type ClusterCapacity,
  type DeployerHealth,
  type DeploymentStatus,
  type UrlReady,
} from './contract';
import { DeployerAuthGuard } from './deployer-auth.guard';
import { DnsLabelPipe, ExternalIdListPipe } from './dto/validators';
import { DeployerService } from './deployer.service';
import {
  ApplyResultDto,
  ClusterCapacityDto,
  DeployerHealthDto,
  DeploymentSpecDto,
  DeploymentStatusDto,
  LogQueryDto,
  UrlReadyDto,
} from './dto/deployment.dto';
import { parseDeploymentSpec } from './spec-validation';

@ApiTags('deployments')
@ApiBearerAuth()
@Controller('api/v1')
@UseGuards(DeployerAuthGuard)
export class DeployerController {
  constructor(private readonly deployer: DeployerService) {}

  @Post('deployments')
  @ApiBody({ type: DeploymentSpecDto })
  @ApiCreatedResponse({ type: ApplyResultDto, description: 'Something was created; 200 when all existed' })
  @ApiOkResponse({ type: ApplyResultDto, description: 'Everything existed (configured or unchanged)' })
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
  @ApiNoContentResponse({ description: 'Deleted (volumes of persistent disks stay), or nothing existed' })
  async deleteDeployment(@Param('externalId', DnsLabelPipe) externalId: string): Promise<void> {
    await this.deployer.deleteDeployment(externalId);
  }

  @Get('deployments/:externalId/status')
  @ApiOkResponse({ type: DeploymentStatusDto })
  getDeploymentStatus(@Param('externalId', DnsLabelPipe) externalId: string): Promise<DeploymentStatus> {
    return this.deployer.status(externalId);
  }

  @Get('deployments/:externalId/url-ready')
  @ApiOkResponse({ type: UrlReadyDto })
  getUrlReady(@Param('externalId', DnsLabelPipe) externalId: string): Promise<UrlReady> {
    return this.deployer.urlReady(externalId);
  }

  @Get('deployments/:externalId/logs')
  @ApiProduces('text/plain')
  @ApiOkResponse({ schema: { type: 'string' }, description: 'The log of the deployment’s pod' })
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

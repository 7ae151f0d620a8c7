import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query, Res, UseGuards } from '@nestjs/common';
import type { Response } from 'express';
import { AppError, CommonErrorCode } from '../infra/errors/app-error';
import type { ApplyResult, ClusterCapacity, DeploymentStatus, UrlReady } from './contract';
import { DeployerAuthGuard } from './deployer-auth.guard';
import { DeployerService } from './deployer.service';
import { parseDeploymentSpec } from './spec-validation';

const optionalNumber = (value: string | undefined) => (value === undefined ? undefined : Number(value));

@Controller('api/v1')
@UseGuards(DeployerAuthGuard)
export class DeployerController {
  constructor(private readonly deployer: DeployerService) {}

  @Post('deployments')
  async applyDeployment(
    @Body() body: unknown,
    @Res({ passthrough: true }) res: Response,
  ): Promise<ApplyResult> {
    const { created, result } = await this.deployer.applyDeployment(parseDeploymentSpec(body));
    res.status(created ? 201 : 200);
    return result;
  }

  @Get('deployments')
  listDeployments(): Promise<DeploymentStatus[]> {
    return this.deployer.listDeployments();
  }

  @Get('capacity')
  getCapacity(): Promise<ClusterCapacity> {
    return this.deployer.capacity();
  }

  @Delete('deployments/:externalId')
  @HttpCode(204)
  async deleteDeployment(@Param('externalId') externalId: string): Promise<void> {
    await this.deployer.deleteDeployment(externalId);
  }

  @Get('deployments/:externalId/status')
  getDeploymentStatus(@Param('externalId') externalId: string): Promise<DeploymentStatus> {
    return this.deployer.status(externalId);
  }

  @Get('deployments/:externalId/url-ready')
  getUrlReady(@Param('externalId') externalId: string): Promise<UrlReady> {
    return this.deployer.urlReady(externalId);
  }

  @Get('deployments/:externalId/logs')
  async getLogs(
    @Param('externalId') externalId: string,
    @Res() res: Response,
    @Query('container') container?: string,
    @Query('tailLines') tailLines?: string,
    @Query('sinceSeconds') sinceSeconds?: string,
    @Query('previous') previous?: string,
    @Query('timestamps') timestamps?: string,
  ): Promise<void> {
    const log = await this.deployer.logs(externalId, {
      container,
      tailLines: optionalNumber(tailLines),
      sinceSeconds: optionalNumber(sinceSeconds),
      previous: previous === 'true',
      timestamps: timestamps === 'true',
    });
    if (log === undefined) {
      throw new AppError(CommonErrorCode.NotFound, `No pod of deployment ${externalId}`);
    }
    res.type('text/plain').send(log);
  }

  @Get('health')
  getHealth(): ReturnType<DeployerService['health']> {
    return this.deployer.health();
  }
}

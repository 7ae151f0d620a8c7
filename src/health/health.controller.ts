import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, type HealthCheckResult } from '@nestjs/terminus';
import { ErrorResponse } from '../infra/http/error-response';
import { ReadinessService } from './readiness.service';

@ApiTags('health')
@Controller()
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly readiness: ReadinessService,
  ) {}

  /** Liveness: the process answers. Never touches dependencies, so a database outage restarts nothing. */
  @Get('healthz')
  @ApiOkResponse({ schema: { example: { status: 'ok' } } })
  getLiveness(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /** Readiness: the database answers, the schema is current and the queue is started. */
  @Get('readyz')
  @HealthCheck()
  @ApiServiceUnavailableResponse({
    type: ErrorResponse,
    description: 'code not_ready; details has each check',
  })
  getReadiness(): Promise<HealthCheckResult> {
    return this.health.check(this.readiness.checks());
  }
}

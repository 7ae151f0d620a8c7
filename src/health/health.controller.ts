import { Controller, Get, Header, ServiceUnavailableException } from '@nestjs/common';
import { ApiOkResponse, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { HealthCheckService, type HealthCheckResult } from '@nestjs/terminus';
import { AppError, CommonErrorCode } from '../infra/errors/app-error';
import { ErrorResponse } from '../infra/http/error-response';
import { ReadinessService } from './readiness.service';

function notReady(result: HealthCheckResult): AppError {
  const failing = Object.entries(result.error ?? {}).map(([check, outcome]) => {
    const reason: unknown = outcome?.message;
    return typeof reason === 'string' ? `${check} (${reason})` : check;
  });
  return new AppError(CommonErrorCode.NotReady, `Not ready: ${failing.join(', ')}`, {
    checks: result.details,
  });
}

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
  @Header('Cache-Control', 'no-store')
  @ApiOkResponse({
    schema: { example: { status: 'ok', info: {}, error: {}, details: { database: { status: 'up' } } } },
  })
  @ApiServiceUnavailableResponse({
    type: ErrorResponse,
    description: 'code not_ready; details.checks has each check',
  })
  async getReadiness(): Promise<HealthCheckResult> {
    try {
      return await this.health.check(this.readiness.checks());
    } catch (error) {
      if (error instanceof ServiceUnavailableException) {
        throw notReady(error.getResponse() as HealthCheckResult);
      }
      throw error;
    }
  }
}

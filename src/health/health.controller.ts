import { Controller, Get, Header, Logger, ServiceUnavailableException } from '@nestjs/common';
import { ApiOkResponse, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { HealthCheckService, type HealthCheckResult } from '@nestjs/terminus';
import { AppError, CommonErrorCode } from '../infra/errors/app-error';
import { ErrorResponse } from '../infra/http/error-response';
import { ReadinessService } from './readiness.service';

/**
 * Names the failing checks and nothing more: check errors can carry internal addresses and
 * driver messages, which go to the log, not to whoever probes a public port.
 */
function notReady(result: HealthCheckResult): AppError {
  const failing = Object.keys(result.error ?? {});
  const checks = Object.fromEntries(
    Object.entries(result.details).map(([check, outcome]) => [check, { status: outcome.status }]),
  );
  return new AppError(CommonErrorCode.NotReady, `Not ready: ${failing.join(', ')}`, { checks });
}

@ApiTags('health')
@Controller()
export class HealthController {
  private readonly logger = new Logger('Health');

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

  /** The same under Kubernetes' own name (the Helm chart's probes use it). */
  @Get('livez')
  @ApiOkResponse({ schema: { example: { status: 'ok' } } })
  getLivez(): { status: 'ok' } {
    return this.getLiveness();
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
        const result = error.getResponse() as HealthCheckResult;
        this.logger.warn({ checks: result.details }, 'not ready');
        throw notReady(result);
      }
      throw error;
    }
  }
}

import { Controller, Get, Header, Logger, ServiceUnavailableException } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { HealthCheckService, type HealthCheckResult } from '@nestjs/terminus';
import { AppError, CommonErrorCode } from '../infra/errors/app-error';
import { ApiErrors } from '../infra/http/api-errors';
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

  @Get('healthz')
  @ApiOperation({
    operationId: 'getLiveness',
    summary: 'Liveness',
    description: 'The process answers. Never touches a dependency, so a database outage restarts nothing.',
  })
  @ApiOkResponse({ schema: { example: { status: 'ok' } } })
  getLiveness(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('livez')
  @ApiOperation({
    operationId: 'getLivez',
    summary: 'Liveness (Kubernetes’ name)',
    description: 'The same as /healthz under Kubernetes’ own name: the Helm chart’s probes use it.',
  })
  @ApiOkResponse({ schema: { example: { status: 'ok' } } })
  getLivez(): { status: 'ok' } {
    return this.getLiveness();
  }

  @Get('readyz')
  @ApiOperation({
    operationId: 'getReadiness',
    summary: 'Readiness',
    description:
      'Whether this replica should get traffic: the database answers, the schema is current and the ' +
      'queue is started. 503 names the failing checks.',
  })
  @Header('Cache-Control', 'no-store')
  @ApiOkResponse({
    schema: { example: { status: 'ok', info: {}, error: {}, details: { database: { status: 'up' } } } },
  })
  @ApiResponse({ status: 503, description: 'Not ready: `details.checks` has each check' })
  @ApiErrors({
    code: CommonErrorCode.NotReady,
    message: 'Not ready: database',
    details: { checks: { database: { status: 'down' }, migrations: { status: 'up' } } },
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

import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';

/** Liveness for probes: no authentication, no dependency. */
@ApiTags('health')
@Controller()
export class DeployerHealthController {
  @Get('healthz')
  @ApiOperation({
    operationId: 'getLiveness',
    summary: 'Liveness',
    description: 'The process answers. Touches nothing else (GET /api/v1/health checks Kubernetes).',
  })
  @ApiOkResponse({ schema: { example: { status: 'ok' } } })
  getLiveness(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('livez')
  @ApiOperation({
    operationId: 'getLivez',
    summary: 'Liveness (Kubernetes’ name)',
    description: 'The same as /healthz under Kubernetes’ own name.',
  })
  @ApiOkResponse({ schema: { example: { status: 'ok' } } })
  getLivez(): { status: 'ok' } {
    return { status: 'ok' };
  }
}

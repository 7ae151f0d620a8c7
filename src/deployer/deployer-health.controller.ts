import { Controller, Get } from '@nestjs/common';

/** The deployer's own listener. Its contract (DESIGN §5) grows here; `/api/v1/health` is its probe. */
@Controller()
export class DeployerHealthController {
  @Get('healthz')
  getLiveness(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('api/v1/health')
  getHealth(): { status: 'ok'; role: 'deployer' } {
    return { status: 'ok', role: 'deployer' };
  }
}

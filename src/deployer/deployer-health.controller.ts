import { Controller, Get } from '@nestjs/common';

/** Liveness for probes: no authentication, no dependency. */
@Controller()
export class DeployerHealthController {
  @Get('healthz')
  getLiveness(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('livez')
  getLivez(): { status: 'ok' } {
    return { status: 'ok' };
  }
}

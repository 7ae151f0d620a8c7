import { Controller, Get, Header, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { AppError, CommonErrorCode } from '../../infra/errors/app-error';
import { projectRoot } from '../version';
import { installScript } from './install-script';

/** The oldest Node the bundled CLI runs on (scripts/cli/bundle.mjs targets it). */
const CLI_MINIMUM_NODE = 20;

/**
 * The CLI this server was built with, so the CLI a user has matches the server: the one-file
 * bundle, and a script that installs it. No key needed: it is the same for everyone, and it is
 * how a new user starts.
 */
@ApiExcludeController()
@Controller('cli')
export class CliDownloadController {
  private readonly bundle = join(projectRoot(), 'dist/cli/gpu-dev.cjs');

  @Get('gpu-dev')
  @Header('Content-Type', 'application/javascript; charset=utf-8')
  @Header('Content-Disposition', 'attachment; filename="gpu-dev"')
  download(@Res() res: Response): void {
    if (!existsSync(this.bundle)) {
      throw new AppError(
        CommonErrorCode.NotFound,
        'This server was built without its CLI (npm run build:cli)',
      );
    }
    res.sendFile(this.bundle);
  }

  @Get('install.sh')
  @Header('Content-Type', 'text/x-shellscript; charset=utf-8')
  install(@Req() req: Request): string {
    // The address the user reached us at (through the proxies we trust: ODC_TRUST_PROXY_HOPS).
    return installScript(`${req.protocol}://${req.get('host') ?? 'localhost'}`, CLI_MINIMUM_NODE);
  }
}

import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';
import { createHash, timingSafeEqual } from 'node:crypto';
import { AppConfig } from '../infra/config/env';
import { AppError, CommonErrorCode } from '../infra/errors/app-error';

const digest = (value: string) => createHash('sha256').update(value).digest();

/** Bearer-token check for the deployer API, in constant time (hashes make the lengths equal). */
@Injectable()
export class DeployerAuthGuard implements CanActivate {
  private readonly expected?: Buffer;

  constructor(config: AppConfig) {
    this.expected = config.ODC_DEPLOYER_TOKEN ? digest(config.ODC_DEPLOYER_TOKEN) : undefined;
  }

  canActivate(context: ExecutionContext): boolean {
    if (!this.expected) {
      return true;
    }
    const header = context.switchToHttp().getRequest<Request>().headers.authorization ?? '';
    const presented = /^Bearer (.+)$/i.exec(header)?.[1];
    if (!presented || !timingSafeEqual(digest(presented), this.expected)) {
      throw new AppError(CommonErrorCode.Unauthorized, 'A valid bearer token is required');
    }
    return true;
  }
}

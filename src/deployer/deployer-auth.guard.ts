import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { commaList } from '../infra/config/comma-list';
import { DeployerConfig } from './deployer.config';
import { AppError, CommonErrorCode } from '../infra/errors/app-error';
import { allowedHostNames, hostNameOf } from './deployer-access';

const digest = (value: string) => createHash('sha256').update(value).digest();

/**
 * The deployer API's caller checks. First the Host header, where the deployer answers only some
 * names (see allowedHostNames): a page whose name was rebound to this machine's address is refused
 * before anything else. mTLS itself (a client certificate signed by the configured CA) is enforced
 * by the TLS listener before any request exists; here: the certificate's common name against the
 * allowlist, and the bearer token in constant time (hashes make the lengths equal). With both
 * configured, both are required.
 */
@Injectable()
export class DeployerAuthGuard implements CanActivate {
  private readonly expected?: Buffer;
  private readonly allowedNames: string[];
  private readonly allowedHosts?: string[];

  constructor(config: DeployerConfig) {
    this.expected = config.ODC_DEPLOYER_TOKEN ? digest(config.ODC_DEPLOYER_TOKEN) : undefined;
    this.allowedNames = commaList(config.ODC_DEPLOYER_ALLOWED_CLIENT_CNS);
    this.allowedHosts = allowedHostNames(config);
  }

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<Request>();
    const host = hostNameOf(request.headers.host ?? '');
    if (this.allowedHosts && !this.allowedHosts.includes(host)) {
      throw new AppError(
        CommonErrorCode.Forbidden,
        `This deployer does not answer requests for host ${JSON.stringify(host)} (see ODC_DEPLOYER_ALLOWED_HOSTS)`,
      );
    }
    if (this.allowedNames.length > 0) {
      const socket = request.socket as TLSSocket;
      const name: unknown =
        typeof socket.getPeerCertificate === 'function' ? socket.getPeerCertificate().subject?.CN : undefined;
      if (typeof name !== 'string' || !this.allowedNames.includes(name)) {
        throw new AppError(
          CommonErrorCode.Forbidden,
          'This client certificate is not allowed to call the deployer',
        );
      }
    }
    if (!this.expected) {
      return true;
    }
    const header = request.headers.authorization ?? '';
    const presented = /^Bearer (.+)$/i.exec(header)?.[1];
    if (!presented || !timingSafeEqual(digest(presented), this.expected)) {
      throw new AppError(CommonErrorCode.Unauthorized, 'A valid bearer token is required');
    }
    return true;
  }
}

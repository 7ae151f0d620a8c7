import type { INestApplication } from '@nestjs/common';
import type { Server } from 'node:http';
import { isIPv6, type AddressInfo } from 'node:net';

export interface Listener {
  /** `simulator`: the in-process simulated cluster a development deployer uses. */
  name: 'api' | 'ops' | 'deployer' | 'simulator';
  url: string;
}

/** A URL a person can click: a wildcard bind is reachable as localhost; IPv6 literals need brackets. */
export function httpUrl(host: string, port: number): string {
  if (host === '0.0.0.0' || host === '::') {
    return `http://localhost:${port}`;
  }
  return isIPv6(host) ? `http://[${host}]:${port}` : `http://${host}:${port}`;
}

export async function listen(
  app: INestApplication,
  name: Listener['name'],
  host: string,
  port: number,
  tls = false,
): Promise<Listener> {
  await app.listen(port, host);
  const { port: bound } = (app.getHttpServer() as Server).address() as AddressInfo;
  const url = httpUrl(host, bound);
  return { name, url: tls ? url.replace(/^http:/, 'https:') : url };
}

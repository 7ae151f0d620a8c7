/**
 * Who may reach the deployer beyond its token or client certificate: which Host headers it
 * answers (a browser page that rebinds its own name to 127.0.0.1 sends its own name), and the
 * token a development start makes up when none is configured.
 */
import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { commaList } from '../infra/config/comma-list';
import { configWith } from '../infra/config/load-config';
import type { DeployerConfig } from './deployer.config';

/** Addresses (and the name) a listener may bind to that only this machine reaches. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));
}

/** Host header names of this machine: no DNS answer can make a page send them. */
const LOOPBACK_HOST_NAMES = ['localhost', '127.0.0.1', '[::1]'];

/** The name in a Host header, lower case, without its port (an IPv6 literal keeps its brackets). */
export function hostNameOf(header: string): string {
  const host = header.trim().toLowerCase();
  return host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.replace(/:\d*$/, '');
}

/**
 * The Host names the deployer answers, or undefined for any. ODC_DEPLOYER_ALLOWED_HOSTS adds names
 * to the loopback ones (`*`: any); unset, a deployer bound to a loopback address or started for
 * development answers loopback names only, and one bound to a real address answers any (it sits
 * behind a Service or a load balancer, with its token or mTLS).
 */
export function allowedHostNames(config: DeployerConfig): string[] | undefined {
  const configured = commaList(config.ODC_DEPLOYER_ALLOWED_HOSTS).map(hostNameOf);
  if (configured.includes('*')) {
    return undefined;
  }
  if (configured.length > 0) {
    return [...LOOPBACK_HOST_NAMES, ...configured];
  }
  return config.NODE_ENV === 'development' || isLoopback(config.ODC_DEPLOYER_HOST)
    ? LOOPBACK_HOST_NAMES
    : undefined;
}

/**
 * A development start's deployer always requires a token: without ODC_DEPLOYER_TOKEN or mTLS it
 * takes one made for this start, which only the coordinator in this process is handed (its
 * `local-sim` registration). Anything else that reaches the port (another user of the machine, a
 * page in the browser) has none.
 */
export function withStartToken<T extends DeployerConfig>(config: T): { config: T; generated: boolean } {
  if (config.NODE_ENV !== 'development' || config.ODC_DEPLOYER_TOKEN || config.ODC_DEPLOYER_CLIENT_CA) {
    return { config, generated: false };
  }
  const token: Partial<DeployerConfig> = { ODC_DEPLOYER_TOKEN: randomBytes(32).toString('base64url') };
  return { config: configWith(config, token as Partial<T>), generated: true };
}

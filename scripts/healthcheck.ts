/**
 * Container HEALTHCHECK: probes /livez on every listener this replica's roles open (API, ops,
 * deployer). Exits 0 when all answer 200, or when the replica has no listener to probe. A deployer
 * serving TLS is checked for accepting connections only: with mTLS it completes no handshake
 * without a client certificate, and this probe has none (nor needs one to know the process lives).
 */
import { connect } from 'node:net';
import { plannedListeners, type Listener } from '../src/app/runtime';
import { loadAppConfig, type AppConfig } from '../src/app/config';

const TIMEOUT_MS = 2500;

async function answersLivez(url: string): Promise<boolean> {
  const response = await fetch(`${url}/livez`, { signal: AbortSignal.timeout(TIMEOUT_MS) }).catch(
    () => undefined,
  );
  return response?.ok === true;
}

function acceptsConnections(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname.replace(/^\[|\]$/g, ''), port: Number(port) });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(TIMEOUT_MS, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

function probe(listener: Listener, config: AppConfig): Promise<boolean> {
  const local = listener.url.replace('//localhost:', '//127.0.0.1:');
  return listener.name === 'deployer' && config.ODC_DEPLOYER_TLS_CERT
    ? acceptsConnections(local)
    : answersLivez(local);
}

async function main(): Promise<number> {
  const config = loadAppConfig();
  const results = await Promise.all(plannedListeners(config).map((listener) => probe(listener, config)));
  return results.every(Boolean) ? 0 : 1;
}

void main().then((code) => process.exit(code));

/**
 * Deployers that answer status lists from memory, in a process of their own: at start, each named
 * deployer's whole answer to `GET /api/v1/deployments` is read once; then one listener per deployer
 * serves `GET /api/v1/deployments?external_id=a,b,…` from it (bearer token checked), as that
 * deployer would have answered it then. bench/rounds.bench.ts measures the status round against
 * them: the control plane's own cost, without the simulated clusters' CPU on the same cores.
 * Prints the listeners' URLs, in the order of the deployers.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';
import type { DeploymentStatus } from '../src/deployer/contract';
import { closeWithParent } from './processes';

export interface RoundsReplaySettings {
  deployers: string[];
  token: string;
}

async function snapshot(url: string, token: string): Promise<Map<string, DeploymentStatus>> {
  const pool = new Pool(url, { connections: 1 });
  try {
    const res = await pool.request({
      method: 'GET',
      path: '/api/v1/deployments',
      headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
    });
    const statuses = (await res.body.json()) as DeploymentStatus[];
    if (res.statusCode !== 200) {
      throw new Error(`${url} answered ${res.statusCode}`);
    }
    return new Map(statuses.map((status) => [status.external_id, status]));
  } finally {
    await pool.close();
  }
}

function serve(statuses: Map<string, DeploymentStatus>, token: string): Promise<Server> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://replay');
    const ids = url.searchParams.get('external_id');
    if (req.headers.authorization !== `Bearer ${token}`) {
      res.writeHead(401).end();
    } else if (req.method !== 'GET' || url.pathname !== '/api/v1/deployments' || !ids) {
      res.writeHead(404).end();
    } else {
      const answer = ids
        .split(',')
        .sort()
        .flatMap((id) => statuses.get(id) ?? []);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
    }
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

async function main(settings: RoundsReplaySettings): Promise<void> {
  const servers = await Promise.all(
    settings.deployers.map(async (url) => serve(await snapshot(url, settings.token), settings.token)),
  );
  closeWithParent(async () => {
    for (const server of servers) {
      server.closeAllConnections();
    }
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  });
  const urls = servers.map((server) => `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  process.stdout.write(`${JSON.stringify({ deployers: urls })}\n`);
}

main(JSON.parse(process.argv[2] ?? '{}') as RoundsReplaySettings).catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

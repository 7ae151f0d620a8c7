/**
 * HTTP overhead of the platform stack (Nest + Express + request ids + pino + metrics + error
 * filter) on GET /healthz, against a bare node:http server answering the same JSON, measured in
 * the same run with the same client (undici, keep-alive, fixed concurrency).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  fmt,
  httpLoad,
  medianLoad,
  report,
  type BenchDatabase,
  type HttpLoad,
  startBenchCoordinator,
} from './support';

const load = (origin: string) =>
  httpLoad(origin, '/healthz', { concurrency: CONCURRENCY, durationMs: ROUND_MS });

const CONCURRENCY = 16;
const ROUNDS = 5;
const ROUND_MS = 1500;

function bareServer(): Promise<Server> {
  const body = JSON.stringify({ status: 'ok' });
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

export async function benchHttp(database: BenchDatabase): Promise<void> {
  const runtime = await startBenchCoordinator(database);
  const bare = await bareServer();
  const odcOrigin = runtime.listeners[0]!.url;
  const bareOrigin = `http://127.0.0.1:${(bare.address() as AddressInfo).port}`;
  try {
    await load(odcOrigin); // warm-up (JIT, connection pools)
    await load(bareOrigin);
    const odc: HttpLoad[] = [];
    const baseline: HttpLoad[] = [];
    for (let round = 0; round < ROUNDS; round += 1) {
      // Interleaved rounds, so machine noise hits both sides alike.
      odc.push(await load(odcOrigin));
      baseline.push(await load(bareOrigin));
    }
    const o = medianLoad(odc);
    const b = medianLoad(baseline);
    report(`HTTP GET /healthz, ${CONCURRENCY} concurrent, median of ${ROUNDS} rounds x ${ROUND_MS} ms`, [
      {
        server: 'baseline node:http',
        'req/s': fmt(b.rps, 0),
        'p50 ms': fmt(b.p50, 2),
        'p99 ms': fmt(b.p99, 2),
      },
      { server: 'ODC coordinator', 'req/s': fmt(o.rps, 0), 'p50 ms': fmt(o.p50, 2), 'p99 ms': fmt(o.p99, 2) },
    ]);
    console.log(`ratio ODC/baseline throughput: ${fmt(o.rps / b.rps, 2)}`);
  } finally {
    bare.close();
    await runtime.close();
  }
}

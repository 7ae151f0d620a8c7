/**
 * What authentication adds to a request: GET /api/v1/me with an API key (one indexed lookup of
 * the key and its user, a constant-time hash comparison, the scope check) against the
 * unauthenticated GET /healthz on the same server, same client, interleaved rounds.
 * Target: less than 1 ms added at p50.
 */
import { ApiKeysService } from '../src/auth/api-keys/api-keys.service';
import { UsersService } from '../src/auth/users/users.service';
import {
  fmt,
  httpLoad,
  medianLoad,
  report,
  type BenchDatabase,
  type HttpLoad,
  startBenchCoordinator,
} from './support';

const load = (origin: string, path: string, headers?: Record<string, string>) =>
  httpLoad(origin, path, { concurrency: CONCURRENCY, durationMs: ROUND_MS, headers });

const CONCURRENCY = 8;
const ROUNDS = 5;
const ROUND_MS = 1500;

export async function benchAuth(database: BenchDatabase): Promise<void> {
  // The bench measures authentication, not the rate limit.
  const runtime = await startBenchCoordinator(database, { ODC_RATE_LIMIT_API_PER_MINUTE: '100000000' });
  try {
    const user = await runtime.core!.get(UsersService).findOrCreateByUsername('bench-user');
    const { key } = await runtime.core!.get(ApiKeysService).issue(user.id, {
      name: 'bench',
      scopes: ['reservations:read'],
      origin: 'api',
    });
    const origin = runtime.listeners[0]!.url;
    const authed = { authorization: `Bearer ${key}` };
    await load(origin, '/healthz'); // warm-up
    await load(origin, '/api/v1/me', authed);
    const open: HttpLoad[] = [];
    const withKey: HttpLoad[] = [];
    for (let round = 0; round < ROUNDS; round += 1) {
      open.push(await load(origin, '/healthz'));
      withKey.push(await load(origin, '/api/v1/me', authed));
    }
    const o = medianLoad(open);
    const k = medianLoad(withKey);
    report(
      `Auth: API-key request vs unauthenticated, ${CONCURRENCY} concurrent, median of ${ROUNDS} rounds`,
      [
        {
          route: 'baseline GET /healthz (no auth)',
          'req/s': fmt(o.rps, 0),
          'p50 ms': fmt(o.p50, 2),
          'p99 ms': fmt(o.p99, 2),
        },
        {
          route: 'GET /api/v1/me with an API key',
          'req/s': fmt(k.rps, 0),
          'p50 ms': fmt(k.p50, 2),
          'p99 ms': fmt(k.p99, 2),
        },
      ],
    );
    const added = k.p50 - o.p50;
    console.log(
      `added by authentication at p50: ${fmt(added, 2)} ms (ratio ${fmt(k.p50 / o.p50, 2)}); target < 1 ms: ${added < 1 ? 'met' : 'NOT met'}`,
    );
  } finally {
    await runtime.close();
  }
}

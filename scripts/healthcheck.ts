/**
 * Container HEALTHCHECK: probes /healthz on every listener this replica's roles open (API, ops,
 * deployer). Exits 0 when all answer 200, or when the replica has no listener to probe.
 */
import { plannedListeners } from '../src/app/runtime';
import { loadConfig } from '../src/infra/config/env';

async function main(): Promise<number> {
  const listeners = plannedListeners(loadConfig());
  const results = await Promise.all(
    listeners.map(async ({ url }) => {
      const local = url.replace('//localhost:', '//127.0.0.1:');
      const response = await fetch(`${local}/healthz`, { signal: AbortSignal.timeout(2500) }).catch(
        () => undefined,
      );
      return response?.ok === true;
    }),
  );
  return results.every(Boolean) ? 0 : 1;
}

void main().then((code) => process.exit(code));

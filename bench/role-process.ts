/**
 * ODC replicas of some roles in a process of their own (bench/processes.ts), as role-scoped
 * replicas run in production: its settings are the environment it is configured from. Prints its
 * listeners. BENCH_ROLE_PRELOAD (a module's path) is loaded first, into this thread only, for a
 * bench's own measurements inside the replica: NODE_OPTIONS' --require would load it into every
 * worker thread the replica starts too.
 */
import pino from 'pino';
import 'reflect-metadata';
import { pathToFileURL } from 'node:url';
import { startRuntime } from '../src/app/runtime';
import { loadAppConfig } from '../src/app/config';
import { closeWithParent } from './processes';

async function main(env: Record<string, string>): Promise<void> {
  const preload = process.env.BENCH_ROLE_PRELOAD;
  if (preload) {
    await import(pathToFileURL(preload).href);
  }
  const runtime = await startRuntime({ config: loadAppConfig(env), logger: pino({ level: 'warn' }) });
  closeWithParent(() => runtime.close());
  process.stdout.write(
    `${JSON.stringify(Object.fromEntries(runtime.listeners.map((l) => [l.name, l.url])))}\n`,
  );
}

main(JSON.parse(process.argv[2] ?? '{}') as Record<string, string>).catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

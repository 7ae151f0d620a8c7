/**
 * `npm run bench [-- name…]`: each benchmark prints its figures and a ratio against a baseline
 * measured in the same run (machines are shared and noisy: read medians and ratios).
 */
import 'reflect-metadata';
import { benchAuth } from './auth.bench';
import { benchDeployer } from './deployer.bench';
import { benchDisks } from './disks.bench';
import { benchHttp } from './http.bench';
import { benchMemory } from './memory.bench';
import { benchQueue } from './queue.bench';
import { benchReads } from './reads.bench';
import { benchRegistry } from './registry.bench';
import { benchReservations } from './reservations.bench';
import { benchRounds } from './rounds.bench';
import { benchScale } from './scale.bench';
import { benchSimulator } from './simulator.bench';
import { benchDatabase, type BenchDatabase } from './support';

const BENCHES: Record<string, (database: BenchDatabase) => Promise<void>> = {
  http: benchHttp,
  queue: benchQueue,
  simulator: () => benchSimulator(),
  deployer: () => benchDeployer(),
  auth: benchAuth,
  registry: benchRegistry,
  reservations: benchReservations,
  disks: benchDisks,
  soak: benchMemory,
  scale: () => benchScale(),
  reads: benchReads,
  rounds: benchRounds,
};

async function main(): Promise<void> {
  const wanted = process.argv.slice(2);
  const unknown = wanted.filter((name) => !(name in BENCHES));
  if (unknown.length > 0) {
    throw new Error(
      `unknown benchmark(s) ${unknown.join(', ')}; available: ${Object.keys(BENCHES).join(', ')}`,
    );
  }
  console.log(`ODC benchmarks on Node ${process.version}`);
  const database = await benchDatabase();
  try {
    for (const [name, bench] of Object.entries(BENCHES)) {
      if (wanted.length === 0 || wanted.includes(name)) {
        await bench(database);
      }
    }
  } finally {
    await database.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

/**
 * What a disk costs a reservation, on one in-process simulated cluster (10 ms simulated delays, so
 * the figures are the control plane's and the deployer's work, not Kubernetes' waits), with the
 * plain reservation measured in the same run as the baseline:
 *
 * - reserve → active: plain, vs with a disk (its volume made at first use, attached after);
 * - end → free: plain (cancel → its GPUs free), vs with a disk (cancel → snapshot ready → disk free).
 *
 * Cycles alternate plain and disk so both see the same machine noise; medians and ratios.
 */
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { Pool } from 'undici';
import { startRuntime, type Runtime } from '../src/app/runtime';
import { kubeConfigForServer } from '../src/deployer/kube/kube-access';
import { loadAppConfig } from '../src/app/config';
import { withDatabase } from '../src/infra/database/database-url';
import { SimulatedCluster } from '../src/simulator/cluster';
import { withDefaults } from '../src/simulator/config';
import { SIMULATED_CSI_DRIVER } from '../src/simulator/csi-driver';
import { fmt, keyFor, median, percentile, report, withAdmin, type BenchDatabase } from './support';

const CYCLES = Number(process.env.BENCH_DISKS_CYCLES ?? 20);
const NAMESPACE = 'odc-bench';
const DEPLOYER_TOKEN = randomBytes(24).toString('hex');
const H100 = 'NVIDIA-H100-80GB-HBM3';
const POLL_MS = 5;
const TIMEOUT_MS = 30_000;

interface Cycle {
  toActive: number;
  toFree: number;
}

export async function benchDisks(database: BenchDatabase): Promise<void> {
  // A database of its own on the bench server: other benchmarks' clusters are not this one's.
  const name = `odc_bench_disks_${randomBytes(5).toString('hex')}`;
  await withAdmin(database.url, (client) => client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`));
  const url = withDatabase(database.url, name);
  const cluster = await SimulatedCluster.start(
    withDefaults({
      name: 'bench-disks',
      nodePools: [{ name: 'h100', count: 2, gpu: { product: H100, count: 8 } }],
      timings: { startMs: 10, readyMs: 10, pvcBindMs: 10, snapshotReadyMs: 10, jobRunMs: 10 },
    }),
  );
  const runtimes: Runtime[] = [];
  let platformApi: Pool | undefined;
  try {
    await namespace(cluster.url);
    const deployer = await startRuntime({
      config: loadAppConfig({
        NODE_ENV: 'production',
        ODC_ROLES: 'deployer',
        ODC_HOST: '127.0.0.1',
        ODC_DEPLOYER_PORT: '0',
        ODC_LOG_LEVEL: 'warn',
        ODC_KUBECONFIG_BASE64: Buffer.from(kubeConfigForServer(cluster.url).exportConfig()).toString(
          'base64',
        ),
        ODC_DEPLOYER_NAMESPACES: NAMESPACE,
        ODC_DEPLOYER_TOKEN: DEPLOYER_TOKEN,
        ODC_DEPLOYER_ALLOWED_CSI_DRIVERS: SIMULATED_CSI_DRIVER,
        // The bench's 0.1 s status rounds alone would spend the default 100 calls/s to Kubernetes:
        // lifted, so the figures are the work, not the deployer's rate limit.
        ODC_DEPLOYER_KUBE_QPS: '10000',
        ODC_DEPLOYER_KUBE_BURST: '10000',
      }),
      logger: pino({ level: 'warn' }),
    });
    runtimes.push(deployer);
    const platform = await startRuntime({
      config: loadAppConfig({
        NODE_ENV: 'production',
        DATABASE_URL: url,
        ODC_ROLES: 'coordinator,worker,cron',
        ODC_HOST: '127.0.0.1',
        ODC_PORT: '0',
        ODC_LOG_LEVEL: 'warn',
        ODC_MASTER_KEY: randomBytes(32).toString('base64'),
        ODC_QUEUE_POLL_INTERVAL_SECONDS: '0.5',
        ODC_STATUS_SYNC_INTERVAL_SECONDS: '0.1',
        ODC_HEALTH_SYNC_INTERVAL_SECONDS: '0.1',
        ODC_ADMISSION_INTERVAL_SECONDS: '0.2',
        ODC_RATE_LIMIT_API_PER_MINUTE: '100000000',
      }),
      logger: pino({ level: 'warn' }),
    });
    runtimes.push(platform);
    platformApi = new Pool(platform.listeners.find((l) => l.name === 'api')!.url);
    const call = caller(platformApi);
    const admin = await keyFor(platform, 'bench-admin', ['clusters:admin'], true);
    const user = await keyFor(platform, 'bench-user', [
      'reservations:read',
      'reservations:write',
      'disks:read',
      'disks:write',
    ]);
    const registered = await call('POST', '/api/v1/clusters', admin, {
      name: 'bench-disks',
      deployer_url: deployer.listeners.find((l) => l.name === 'deployer')!.url,
      token: DEPLOYER_TOKEN,
      profile: {
        namespace: NAMESPACE,
        gpu_types: [{ name: 'h100', node_selector: { 'nvidia.com/gpu.product': H100 }, gpus_per_node: 8 }],
      },
    });
    if (registered.status !== 201) {
      throw new Error(`registering the cluster: ${registered.status} ${JSON.stringify(registered.body)}`);
    }
    await call('POST', '/api/v1/disks', user, { name: 'home', size_gb: 50 });

    const plain: Cycle[] = [];
    const withDisk: Cycle[] = [];
    for (let i = 0; i < CYCLES + 1; i += 1) {
      const a = await cycle(call, user, {});
      const b = await cycle(call, user, { disk: 'home' });
      if (i > 0) {
        // the first of each warms up (and makes the disk's volume: later cycles attach it)
        plain.push(a);
        withDisk.push(b);
      }
    }
    const row = (name: string, values: number[]) => ({
      measure: name,
      p50_ms: fmt(median(values)),
      p90_ms: fmt(percentile(values, 90)),
    });
    report(`Disks: ${CYCLES} reservations with a disk and ${CYCLES} without, alternating, one cluster`, [
      row(
        'reserve → active, plain (baseline)',
        plain.map((c) => c.toActive),
      ),
      row(
        'reserve → active, with a disk',
        withDisk.map((c) => c.toActive),
      ),
      row(
        'cancel → GPUs free, plain (baseline)',
        plain.map((c) => c.toFree),
      ),
      row(
        'cancel → disk free (snapshot ready, released)',
        withDisk.map((c) => c.toFree),
      ),
    ]);
    const ratio = (a: Cycle[], b: Cycle[], key: keyof Cycle) =>
      fmt(median(a.map((c) => c[key])) / median(b.map((c) => c[key])), 2);
    console.log(`ratio with disk / plain, reserve → active p50: ${ratio(withDisk, plain, 'toActive')}`);
    console.log(`ratio with disk / plain, end → free p50: ${ratio(withDisk, plain, 'toFree')}`);
  } finally {
    await platformApi?.close();
    for (const runtime of runtimes.reverse()) {
      await runtime.close();
    }
    await cluster.close();
    await withAdmin(database.url, (client) =>
      client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(name)} WITH (FORCE)`),
    );
  }
}

type Call = <T = Record<string, unknown>>(
  method: 'GET' | 'POST',
  path: string,
  key: string,
  body?: object,
) => Promise<{ status: number; body: T }>;

function caller(pool: Pool): Call {
  return async <T>(method: 'GET' | 'POST', path: string, key: string, body?: object) => {
    const res = await pool.request({
      method,
      path,
      headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.statusCode, body: (await res.body.json()) as T };
  };
}

/** One reservation from request to its GPUs (and its disk) free again. */
async function cycle(call: Call, key: string, extra: { disk?: string }): Promise<Cycle> {
  const t0 = performance.now();
  const made = await call<{ id: string }>('POST', '/api/v1/reservations', key, {
    gpu_type: 'h100',
    gpu_count: 8,
    hours: 1,
    ...extra,
  });
  if (made.status !== 202) {
    throw new Error(`reserve: ${made.status} ${JSON.stringify(made.body)}`);
  }
  const id = made.body.id;
  await until(
    async () =>
      (await call<{ status: string }>('GET', `/api/v1/reservations/${id}`, key)).body.status === 'active',
  );
  const toActive = performance.now() - t0;
  const t1 = performance.now();
  await call('POST', `/api/v1/reservations/${id}/cancel`, key);
  await until(async () =>
    extra.disk
      ? (await call<{ status: string }>('GET', `/api/v1/disks/${extra.disk}`, key)).body.status === 'free'
      : (await call<{ status: string }>('GET', `/api/v1/reservations/${id}`, key)).body.status ===
        'cancelled',
  );
  return { toActive, toFree: performance.now() - t1 };
}

async function until(done: () => Promise<boolean>): Promise<void> {
  const deadline = performance.now() + TIMEOUT_MS;
  while (!(await done())) {
    if (performance.now() > deadline) {
      throw new Error('timed out');
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

async function namespace(server: string): Promise<void> {
  const res = await fetch(`${server}/api/v1/namespaces`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } }),
  });
  if (res.status !== 201) {
    throw new Error(`namespace: ${res.status}`);
  }
}

import type { V1Pod } from '@kubernetes/client-node';
import { randomInt } from 'node:crypto';
import { unsafeUniformIntDistribution, xoroshiro128plus } from 'pure-rand';
import { DataSource } from 'typeorm';
import type { NodePool, SimulatorTimings } from '../../src/simulator/config';
import { DEPLOYER_TOKEN, NAMESPACE } from '../deployer/fixtures';
import { startTestApp, type TestApp } from '../support/app';
import type { TestDatabase } from '../support/database';
import { spawnOdc, type OdcProcess } from '../support/process';
import { FAST_TIMINGS, startKubeTarget, type KubeClients, type KubeTarget } from '../support/simulator';
import { keyFor } from '../support/users';

export const H100 = 'NVIDIA-H100-80GB-HBM3';

/**
 * A cluster and its deployer (in this process; deployers are stateless). On the simulator, a
 * simulated cluster of `pools` of its own; with ODC_TEST_KUBE=real, the real API server and its
 * fleet (the simulator's demo fleet: 4 H100 nodes of 8 GPUs; the pools are ignored, so a spec
 * reads the fleet through `k`, as `gpusFree` does), with namespaces of the site's own.
 */
export interface Site {
  name: string;
  /** Where the deployer puts reservations (the profile's namespace). */
  namespace: string;
  /** Where `occupy` puts pods of another team. */
  otherTeam: string;
  target: KubeTarget;
  deployer: TestApp;
  /** The real client, as administrator, straight to the cluster. */
  k: KubeClients;
  url: string;
  close(): Promise<void>;
}

export async function startSite(
  name: string,
  pools: NodePool[],
  timings: Partial<SimulatorTimings> = {},
): Promise<Site> {
  // NAMESPACE is unique per spec file on the real API server; the site's name makes it its own.
  const namespace = `${NAMESPACE}-${name}`;
  const otherTeam = `${namespace}-other-team`;
  const target = await startKubeTarget({ name, nodePools: pools, timings: { ...FAST_TIMINGS, ...timings } }, [
    namespace,
    otherTeam,
  ]);
  const deployer = await startTestApp({
    roles: 'deployer',
    env: {
      ODC_KUBECONFIG_BASE64: target.kubeconfigBase64,
      ODC_DEPLOYER_NAMESPACES: namespace,
      ODC_DEPLOYER_TOKEN: DEPLOYER_TOKEN,
    },
  }).catch(async (error: unknown) => {
    await target.close();
    throw error;
  });
  return {
    name,
    namespace,
    otherTeam,
    target,
    deployer,
    k: target.k,
    url: deployer.runtime.listeners.find((l) => l.name === 'deployer')!.url,
    close: async () => {
      await deployer.close();
      await target.close();
    },
  };
}

/** A pod ODC does not manage holding GPUs on a pool's node (another team's work). */
export async function occupy(site: Site, name: string, gpus: number, node: string): Promise<void> {
  const pod: V1Pod = {
    metadata: { name, namespace: site.otherTeam },
    spec: {
      containers: [
        { name: 'main', image: 'cuda:12', resources: { limits: { 'nvidia.com/gpu': String(gpus) } } },
      ],
      affinity: {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: [node] }] }],
          },
        },
      },
    },
  };
  await site.k.core.createNamespacedPod({ namespace: site.otherTeam, body: pod });
}

/** Registers a site through the admin API (its capacity is synced at once). */
export async function register(
  app: TestApp,
  adminKey: string,
  site: { name: string; url: string; namespace: string },
  priority = 100,
): Promise<string> {
  const res = await app
    .http()
    .post('/api/v1/clusters')
    .set('authorization', `Bearer ${adminKey}`)
    .send({
      name: site.name,
      deployer_url: site.url,
      token: DEPLOYER_TOKEN,
      priority,
      profile: {
        namespace: site.namespace,
        gpu_types: [{ name: 'h100', node_selector: { 'nvidia.com/gpu.product': H100 }, gpus_per_node: 8 }],
      },
    });
  if (res.status !== 201 || res.body.status !== 'healthy') {
    throw new Error(`registering ${site.name}: ${res.status} ${JSON.stringify(res.body)}`);
  }
  return res.body.id as string;
}

/** Settings every process of a reliability run shares: quick ticks, generous limits. */
export const FAST_ENV: Record<string, string> = {
  NODE_ENV: 'test',
  ODC_QUEUE_POLL_INTERVAL_SECONDS: '0.5',
  ODC_QUEUE_MONITOR_INTERVAL_SECONDS: '2',
  ODC_ADMISSION_INTERVAL_SECONDS: '0.5',
  ODC_STATUS_SYNC_INTERVAL_SECONDS: '0.3',
  ODC_HEALTH_SYNC_INTERVAL_SECONDS: '0.3',
  ODC_CLUSTER_HEALTH_INTERVAL_SECONDS: '3600',
  ODC_EXPIRY_INTERVAL_SECONDS: '3600',
  ODC_RATE_LIMIT_API_PER_MINUTE: '600000',
  ODC_LOG_LEVEL: 'info',
  ODC_SHUTDOWN_TIMEOUT_SECONDS: '2',
};

/** A worker replica in its own process, on the run's database. */
export function spawnWorker(database: TestDatabase): OdcProcess {
  return spawnOdc({ ...FAST_ENV, ODC_ROLES: 'worker', DATABASE_URL: database.url });
}

export async function usersWithKeys(app: TestApp, count: number, prefix = 'user'): Promise<string[]> {
  const keys: string[] = [];
  for (let i = 0; i < count; i += 1) {
    keys.push(await keyFor(app, `${prefix}${i}`, ['reservations:read', 'reservations:write']));
  }
  return keys;
}

/** GPUs requested per node by pods that are not over, as the cluster sees them (every namespace). */
export async function gpusPerNode(site: Site): Promise<Map<string, number>> {
  const pods = await site.k.core.listPodForAllNamespaces();
  const used = new Map<string, number>();
  for (const pod of pods.items) {
    if (!pod.spec?.nodeName || ['Succeeded', 'Failed'].includes(pod.status?.phase ?? '')) {
      continue;
    }
    const gpus = pod.spec.containers.reduce(
      (sum, c) => sum + Number(c.resources?.limits?.['nvidia.com/gpu'] ?? 0),
      0,
    );
    used.set(pod.spec.nodeName, (used.get(pod.spec.nodeName) ?? 0) + gpus);
  }
  return used;
}

/**
 * The nodes of a GPU product, by name, with how many of their GPUs no pod holds: read through the
 * Kubernetes API, so a spec adapts to the fleet it is given (the simulator's pools or the real
 * tier's fleet).
 */
export async function gpusFree(site: Site, product = H100): Promise<Map<string, number>> {
  const nodes = await site.k.core.listNode({ labelSelector: `nvidia.com/gpu.product=${product}` });
  const used = await gpusPerNode(site);
  return new Map(
    nodes.items
      .map((node): [string, number] => [
        node.metadata!.name!,
        Number(node.status?.allocatable?.['nvidia.com/gpu'] ?? 0) - (used.get(node.metadata!.name!) ?? 0),
      ])
      .sort(([a], [b]) => a.localeCompare(b)),
  );
}

/** How many reservations are in each status. */
export async function statusCounts(app: TestApp): Promise<Record<string, number>> {
  const rows = await app
    .core()
    .get(DataSource)
    .query<{ status: string; n: number }[]>(
      `SELECT status, count(*)::int AS n FROM reservations GROUP BY status`,
    );
  return Object.fromEntries(rows.map((row) => [row.status, row.n]));
}

/**
 * A chaos spec's random choices (when to kill, what to break): every one drawn from `between`, a PRNG
 * seeded with ODC_CHAOS_SEED when set, else with a seed drawn at random. The seed is printed (and
 * belongs in the test's name, so a failure shows it): ODC_CHAOS_SEED=<seed> makes the same choices.
 */
export interface Chaos {
  seed: number;
  /** A whole number in [min, max]. */
  between(min: number, max: number): number;
}

export function chaos(spec: string): Chaos {
  const given = process.env.ODC_CHAOS_SEED;
  const seed = given === undefined || given === '' ? randomInt(0, 2 ** 32) : Number(given);
  if (!Number.isInteger(seed) || seed < 0 || seed >= 2 ** 32) {
    throw new Error(`ODC_CHAOS_SEED must be a whole number in [0, 2^32), not ${given}`);
  }
  console.log(`[${spec}] chaos seed ${seed}; replay with ODC_CHAOS_SEED=${seed}`);
  const rng = xoroshiro128plus(seed);
  const between = (min: number, max: number) => unsafeUniformIntDistribution(min, max, rng);
  return { seed, between };
}

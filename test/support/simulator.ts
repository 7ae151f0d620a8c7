import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { KubeConfig } from '@kubernetes/client-node';
import { projectRoot } from '../../src/app/version';
import { SimulatedCluster } from '../../src/simulator/cluster';
import {
  withDefaults,
  type NodePool,
  type SimulatorConfig,
  type SimulatorTimings,
} from '../../src/simulator/config';
import { kubeClients, kubeClientsOf } from '../simulator/kube';

/** Short delays so simulated pods, claims and snapshots settle within a test's patience. */
export const FAST_TIMINGS: SimulatorTimings = {
  startMs: 10,
  readyMs: 10,
  pvcBindMs: 10,
  snapshotReadyMs: 10,
  jobRunMs: 10,
};

/** A pool of 8-GPU H100 nodes, the workhorse of the tests. */
export function h100Pool(count: number, extra: Partial<NodePool> = {}): NodePool {
  return {
    name: 'h100',
    count,
    cpu: '96',
    memory: '1024Gi',
    gpu: { product: 'NVIDIA-H100-80GB-HBM3', count: 8 },
    ...extra,
  };
}

/*
 * Which Kubernetes the cluster-facing specs talk to: the simulator, started per spec (default), or
 * with ODC_TEST_KUBE=real the real control plane of `npm run kube:up` (docs/kube-tier.md;
 * `npm run test:kube` starts and stops it). The same specs run on both.
 */
export type KubeTargetKind = 'simulator' | 'real';

export const KUBE_TARGET: KubeTargetKind = kubeTargetFromEnv(process.env.ODC_TEST_KUBE);

function kubeTargetFromEnv(value: string | undefined): KubeTargetKind {
  if (value === undefined || value === '' || value === 'simulator') {
    return 'simulator';
  }
  if (value === 'real') {
    return 'real';
  }
  throw new Error(`ODC_TEST_KUBE must be "simulator" or "real", not "${value}"`);
}

/**
 * Why a spec runs on the simulator only. Each is something the real tier cannot do (yet), or a
 * look inside the simulator that a real API server does not offer; docs/kube-tier.md lists them.
 */
export const SIMULATOR_ONLY = {
  storageBackend:
    'reads or shares the simulated CSI driver’s storage backend (clusters that share snapshots)',
  logs: 'kwok runs no containers: no logs',
  kubelet: 'kwok runs no containers: pods are Running at once, images never fail to pull',
  faults: 'injects faults or sets pod status by hand, as only the simulator allows',
  authorizations: 'reads the simulator’s record of authorization decisions',
  ownCluster: 'needs a cluster of its own (a node count, a fleet, a server to stop)',
  httpProxy: 'counts the deployer’s requests through a plain-HTTP proxy (the real API server speaks TLS)',
  devSimulator: 'the development start’s own in-process simulated cluster and its local-sim registration',
} as const;
export type SimulatorOnlyReason = keyof typeof SIMULATOR_ONLY;

function simulatorOnlyName(reason: SimulatorOnlyReason, name: string): string {
  return `[simulator only: ${SIMULATOR_ONLY[reason]}] ${name}`;
}

/**
 * `it`, on the simulator; on the real API server the test is reported as skipped, its name
 * saying why (never silently left out).
 */
export function itSimulatorOnly(reason: SimulatorOnlyReason) {
  const target = KUBE_TARGET === 'simulator' ? it : it.skip;
  const test = (name: string, fn: jest.ProvidesCallback, timeout?: number) =>
    target(simulatorOnlyName(reason, name), fn, timeout);
  test.each =
    <T extends readonly unknown[] | [unknown]>(table: readonly T[]) =>
    (name: string, fn: (...args: T) => unknown, timeout?: number) =>
      target.each(table)(simulatorOnlyName(reason, name), fn as never, timeout);
  return test;
}

/** `describe`, on the simulator; on the real API server its tests are skipped, saying why. */
export function describeSimulatorOnly(reason: SimulatorOnlyReason, name: string, fn: () => void): void {
  (KUBE_TARGET === 'simulator' ? describe : describe.skip)(simulatorOnlyName(reason, name), fn);
}

/** Why a spec runs on the real API server only: the simulator has no such peer. */
export const REAL_ONLY = {
  tls: 'the simulator speaks plain HTTP: no API server certificate, no client certificates',
} as const;

/** `describe`, on the real API server; on the simulator its tests are skipped, saying why. */
export function describeRealOnly(reason: keyof typeof REAL_ONLY, name: string, fn: () => void): void {
  (KUBE_TARGET === 'real' ? describe : describe.skip)(
    `[real API server only: ${REAL_ONLY[reason]}] ${name}`,
    fn,
  );
}

export type KubeClients = ReturnType<typeof kubeClients>;

/** A Kubernetes to test against: a simulated cluster of the spec's own, or the real tier. */
export interface KubeTarget {
  kind: KubeTargetKind;
  /** The API server's address. */
  url: string;
  /** An administrator's kubeconfig (what the deployer under test is given, unless the spec says). */
  kubeconfig: KubeConfig;
  kubeconfigBase64: string;
  /** The real client, as administrator, to see what the deployer did. */
  k: KubeClients;
  /** The simulated cluster; reading it on the real target throws (mark the spec simulator-only). */
  readonly simulated: SimulatedCluster;
  close(): Promise<void>;
}

/** The Pod Security label the deployer's namespaces carry (docs/deployer.md). */
export const NAMESPACE_LABELS: Readonly<Record<string, string>> = {
  'pod-security.kubernetes.io/enforce': 'baseline',
};

/**
 * A name for a namespace or a cluster-scoped object: `base` itself on a simulator of the spec's
 * own, a unique one on the real API server (spec files, and runs, share it).
 */
export function uniqueName(base: string): string {
  return KUBE_TARGET === 'real' ? `${base}-${randomBytes(4).toString('hex')}` : base;
}

/** The real tier's admin kubeconfig (`npm run kube:up` writes it). */
export function realKubeconfigPath(): string {
  return join(process.env.ODC_KUBE_DIR ?? join(projectRoot(), '.odc', 'kube'), 'kubeconfig');
}

/**
 * Starts a Kubernetes for a spec and creates its namespaces (labelled for Pod Security). On the
 * simulator: a cluster of `config` (defaults: one H100 pool… as given). On the real API server the
 * fleet is the tier's (the simulator's demo fleet, which has H100 nodes), `config` is ignored, and
 * `close` deletes the namespaces and waits until they are gone.
 */
export async function startKubeTarget(
  config: Partial<SimulatorConfig>,
  namespaces: readonly string[],
): Promise<KubeTarget> {
  if (KUBE_TARGET === 'simulator') {
    const cluster = await SimulatedCluster.start(withDefaults(config));
    const k = kubeClients(cluster.url);
    for (const name of namespaces) {
      await k.core.createNamespace({ body: { metadata: { name, labels: { ...NAMESPACE_LABELS } } } });
    }
    return {
      kind: 'simulator',
      url: cluster.url,
      kubeconfig: k.kc,
      kubeconfigBase64: Buffer.from(k.kc.exportConfig()).toString('base64'),
      k,
      simulated: cluster,
      close: () => cluster.close(),
    };
  }
  const kc = new KubeConfig();
  kc.loadFromFile(realKubeconfigPath());
  const k = kubeClientsOf(kc);
  for (const name of namespaces) {
    await acquireNamespace(k, name);
  }
  return {
    kind: 'real',
    url: kc.getCurrentCluster()!.server,
    kubeconfig: kc,
    kubeconfigBase64: Buffer.from(kc.exportConfig()).toString('base64'),
    k,
    get simulated(): SimulatedCluster {
      throw new Error('this spec reads the simulated cluster: mark it itSimulatorOnly(…) with the reason');
    },
    close: async () => {
      for (const name of namespaces) {
        await releaseNamespace(k, name);
      }
    },
  };
}

/** Namespaces of this spec file in use on the real API server, with how many targets hold each. */
const namespaceHolds = new Map<string, number>();

async function acquireNamespace(k: KubeClients, name: string): Promise<void> {
  const holds = namespaceHolds.get(name) ?? 0;
  namespaceHolds.set(name, holds + 1);
  if (holds === 0) {
    await k.core.createNamespace({ body: { metadata: { name, labels: { ...NAMESPACE_LABELS } } } });
  }
}

async function releaseNamespace(k: KubeClients, name: string): Promise<void> {
  const holds = (namespaceHolds.get(name) ?? 1) - 1;
  namespaceHolds.set(name, holds);
  if (holds > 0) {
    return;
  }
  namespaceHolds.delete(name);
  await k.core.deleteNamespace({ name }).catch(ignoreNotFound);
  // Gone before the next target of this file creates it again (a Terminating namespace refuses objects).
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const gone = await k.core.readNamespace({ name }).then(
      () => false,
      (error: unknown) => isNotFound(error),
    );
    if (gone) {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`namespace ${name} was not deleted within 60 s`);
}

function isNotFound(error: unknown): boolean {
  return (error as { code?: number }).code === 404;
}

function ignoreNotFound(error: unknown): void {
  if (!isNotFound(error)) {
    throw error;
  }
}

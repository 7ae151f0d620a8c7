/** What a simulated cluster looks like: node pools with GPUs, storage classes, timings, faults. */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

export interface Taint {
  key: string;
  value?: string;
  effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
}

export interface NodePool {
  name: string;
  count: number;
  cpu?: string;
  memory?: string;
  /** GPUs per node: product label value (`nvidia.com/gpu.product`), count, extended resource name. */
  gpu?: { product: string; count: number; resource?: string };
  zone?: string;
  labels?: Record<string, string>;
  taints?: Taint[];
}

export interface SimulatorTimings {
  /** Bound pod → Running. */
  startMs: number;
  /** Running → Ready. */
  readyMs: number;
  pvcBindMs: number;
  snapshotReadyMs: number;
  /** Job pod Running → Succeeded. */
  jobRunMs: number;
}

export interface SimulatorFaults {
  /** Added to every API request. */
  latencyMs: number;
  jitterMs: number;
  /** Share of API requests (0–1) answered 500 InternalError. */
  errorRate: number;
  /** Images matching this regular expression fail to pull (ErrImagePull). */
  imagePullFailure?: string;
}

export interface SimulatorConfig {
  name: string;
  nodePools: NodePool[];
  storageClasses: { name: string; default?: boolean; provisioner?: string }[];
  volumeSnapshotClasses: { name: string; driver?: string; default?: boolean }[];
  timings: SimulatorTimings;
  faults: SimulatorFaults;
  /**
   * The storage system behind the cluster (a cloud region's block storage), by name: clusters in
   * the same process with the same name share their snapshots, so one imports by handle what another
   * cut (a pre-provisioned VolumeSnapshotContent). Default `default`.
   */
  storageBackend?: string;
}

export const DEFAULT_TIMINGS: SimulatorTimings = {
  startMs: 300,
  readyMs: 300,
  pvcBindMs: 100,
  snapshotReadyMs: 500,
  jobRunMs: 1000,
};
export const NO_FAULTS: SimulatorFaults = { latencyMs: 0, jitterMs: 0, errorRate: 0 };
export const DEFAULT_STORAGE_BACKEND = 'default';

/**
 * A small GPU fleet: what `npm start` demos against when nothing else is configured (and what the
 * development start registers as `local-sim`, see src/app/dev/local-simulator.ts).
 */
export const DEMO_CLUSTER: SimulatorConfig = {
  name: 'sim-local',
  nodePools: [
    {
      name: 'h100',
      count: 4,
      cpu: '96',
      memory: '1024Gi',
      gpu: { product: 'NVIDIA-H100-80GB-HBM3', count: 8 },
      zone: 'sim-a',
    },
    {
      name: 'a100',
      count: 4,
      cpu: '64',
      memory: '512Gi',
      gpu: { product: 'NVIDIA-A100-SXM4-80GB', count: 4 },
      zone: 'sim-a',
    },
    { name: 't4', count: 8, cpu: '8', memory: '32Gi', gpu: { product: 'Tesla-T4', count: 1 }, zone: 'sim-b' },
    { name: 'cpu', count: 1, cpu: '16', memory: '64Gi', zone: 'sim-a' },
  ],
  storageClasses: [{ name: 'standard', default: true }],
  volumeSnapshotClasses: [{ name: 'standard-snapshots', default: true }],
  timings: DEFAULT_TIMINGS,
  faults: NO_FAULTS,
};

export function withDefaults(partial: Partial<SimulatorConfig>): SimulatorConfig {
  return {
    name: partial.name ?? 'sim',
    nodePools: partial.nodePools ?? [],
    storageClasses: partial.storageClasses ?? [{ name: 'standard', default: true }],
    volumeSnapshotClasses: partial.volumeSnapshotClasses ?? [{ name: 'standard-snapshots', default: true }],
    timings: { ...DEFAULT_TIMINGS, ...partial.timings },
    faults: { ...NO_FAULTS, ...partial.faults },
    storageBackend: partial.storageBackend ?? DEFAULT_STORAGE_BACKEND,
  };
}

export function loadSimulatorConfig(file: string): SimulatorConfig {
  return withDefaults(parse(readFileSync(file, 'utf8')) as Partial<SimulatorConfig>);
}

import type { NodePool, SimulatorTimings } from '../../src/simulator/config';

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

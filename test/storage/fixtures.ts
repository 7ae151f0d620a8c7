import type { SimulatorTimings } from '../../src/simulator/config';
import { registerDeployer, startDeployer, type DeployerUnderTest } from '../deployer/fixtures';
import { FAST_CONTROL_PLANE_ENV, startTestApp, type TestApp } from '../support/app';
import { FAST_TIMINGS, h100Pool } from '../support/simulator';
import { keyFor } from '../support/users';

const H100 = 'NVIDIA-H100-80GB-HBM3';

/** What disks tests run on: every core role, one registered simulated cluster, a user with disks. */
export interface DiskSite {
  deployer: DeployerUnderTest;
  app: TestApp;
  /** An API key of `alice`, with the reservation and disk scopes. */
  alice: string;
  close(): Promise<void>;
}

/** One 8-GPU H100 node behind a deployer, the control plane at test speed plus `env`. */
export async function startDiskSite(
  options: { timings?: Partial<SimulatorTimings>; env?: Record<string, string> } = {},
): Promise<DiskSite> {
  const deployer = await startDeployer({
    cluster: { nodePools: [h100Pool(1)], timings: { ...FAST_TIMINGS, ...options.timings } },
  });
  const app = await startTestApp({
    roles: 'coordinator,worker,cron',
    env: { ...FAST_CONTROL_PLANE_ENV, ...options.env },
  });
  const admin = await keyFor(app, 'ops', ['clusters:admin'], { admin: true });
  await registerDeployer(app, admin, deployer, { name: 'sim', gpuType: 'h100', product: H100 });
  const alice = await keyFor(app, 'alice', [
    'reservations:read',
    'reservations:write',
    'disks:read',
    'disks:write',
  ]);
  return {
    deployer,
    app,
    alice,
    close: async () => {
      await app.close();
      await deployer.close();
    },
  };
}

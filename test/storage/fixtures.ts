import type request from 'supertest';
import type { SimulatorTimings } from '../../src/simulator/config';
import { registerDeployer, startDeployer, type DeployerUnderTest } from '../deployer/fixtures';
import { FAST_CONTROL_PLANE_ENV, startTestApp, type TestApp } from '../support/app';
import { eventually } from '../support/eventually';
import { FAST_TIMINGS, h100Pool } from '../support/simulator';
import { keyFor } from '../support/users';

const H100 = 'NVIDIA-H100-80GB-HBM3';

/** What disks tests run on: every core role, one registered simulated cluster, a user with disks. */
export interface DiskSite {
  deployer: DeployerUnderTest;
  app: TestApp;
  /** An API key of `alice`, with the reservation and disk scopes. */
  alice: string;
  /**
   * A reservation of one GPU with alice's disk `disk` (and `extra` fields), waited for until
   * active, then cancelled: the disk has been used and its release is under way. Its id.
   */
  useAndCancel(disk: string, extra?: Record<string, unknown>): Promise<string>;
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
  const authed = (call: request.Test) => call.set('authorization', `Bearer ${alice}`);
  return {
    deployer,
    app,
    alice,
    useAndCancel: async (disk, extra = {}) => {
      const made = await authed(app.http().post('/api/v1/reservations'))
        .send({ gpu_type: 'h100', gpu_count: 1, hours: 1, disk, ...extra })
        .expect(202);
      const id = made.body.id as string;
      await eventually(
        async () => (await authed(app.http().get(`/api/v1/reservations/${id}`))).body as { status: string },
        (reservation) => reservation.status === 'active',
        20_000,
      );
      await authed(app.http().post(`/api/v1/reservations/${id}/cancel`)).expect(200);
      return id;
    },
    close: async () => {
      await app.close();
      await deployer.close();
    },
  };
}

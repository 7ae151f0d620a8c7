import { AdmissionWorker } from '../../src/reservations/admission/admission.worker';
import { registerDeployer, startDeployer, type DeployerUnderTest } from '../deployer/fixtures';
import { FAST_CONTROL_PLANE_ENV, startTestApp, type TestApp } from '../support/app';
import { eventually } from '../support/eventually';
import { FAST_TIMINGS, h100Pool } from '../support/simulator';
import { keyFor } from '../support/users';

interface Shown {
  id: string;
  status: string;
  queue_position?: number;
  estimated_wait_seconds?: number;
  events: { from?: string; to?: string; message: string }[];
}

/**
 * A cluster's NodePorts are capacity: its profile's `node_ports` bounds the NodePorts ODC's
 * reservations hold there (one for SSH, one more with Jupyter), and a request that would go past it
 * queues with an estimate, as for GPUs, instead of bouncing off a full range.
 */
describe('NodePorts as a counted resource of a cluster', () => {
  let deployer: DeployerUnderTest;
  let app: TestApp;
  let key: string;

  beforeAll(async () => {
    deployer = await startDeployer({ cluster: { nodePools: [h100Pool(1)], timings: FAST_TIMINGS } });
    app = await startTestApp({ roles: 'coordinator,worker,cron', env: FAST_CONTROL_PLANE_ENV });
    const admin = await keyFor(app, 'ops', ['clusters:admin'], { admin: true });
    await registerDeployer(app, admin, deployer, {
      name: 'three-ports',
      gpuType: 'h100',
      product: 'NVIDIA-H100-80GB-HBM3',
      nodePorts: 3,
    });
    key = await keyFor(app, 'alice', ['reservations:read', 'reservations:write']);
  });

  afterAll(async () => {
    await app.close();
    await deployer.close();
  });

  const reserve = async (body: object) =>
    (
      await app
        .http()
        .post('/api/v1/reservations')
        .set('authorization', `Bearer ${key}`)
        .send({ gpu_type: 'h100', gpu_count: 1, ...body })
        .expect(202)
    ).body as Shown;
  const show = async (id: string) =>
    (await app.http().get(`/api/v1/reservations/${id}`).set('authorization', `Bearer ${key}`).expect(200))
      .body as Shown;
  const until = (id: string, check: (shown: Shown) => boolean) => eventually(() => show(id), check, 15_000);

  it('queues what would go past the cluster’s NodePorts, with an estimate, and starts it when ports come back', async () => {
    const notebook = await reserve({ hours: 1, jupyter: true }); // SSH and Jupyter: 2 ports
    const shell = await reserve({ hours: 2 }); // 1 port: the 3 are taken
    await until(notebook.id, (r) => r.status === 'active');
    await until(shell.id, (r) => r.status === 'active');

    // GPUs are free (6 of 8), ports are not: it waits for the notebook to end (1 h and the grace).
    const third = await reserve({ hours: 1 });
    const waiting = await until(
      third.id,
      (r) => r.status === 'queued' && (r.estimated_wait_seconds ?? 0) > 3000,
    );
    expect(waiting.queue_position).toBe(1);
    expect(waiting.estimated_wait_seconds).toBeLessThanOrEqual(3600 + 120);
    // A pass that starts after it was queued, waited for: it stays queued, never placed and bounced.
    await app.core().get(AdmissionWorker, { strict: false }).requestPass();
    expect((await show(third.id)).events.map((e) => e.to)).toEqual(['queued']);

    await app
      .http()
      .post(`/api/v1/reservations/${shell.id}/cancel`)
      .set('authorization', `Bearer ${key}`)
      .send({})
      .expect(200);
    await until(third.id, (r) => r.status === 'active');
  });
});

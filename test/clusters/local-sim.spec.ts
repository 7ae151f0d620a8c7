import { DataSource } from 'typeorm';
import { startTestApp, startWithFirstAdmin } from '../support/app';

/** What `npm start` gives a new user: every role in one process, its own simulated fleet registered. */
describe('the development start registers its simulated cluster as local-sim', () => {
  it('shows the demo fleet in /availability, and registers nothing when a cluster exists or outside development', async () => {
    const env = { NODE_ENV: 'development', ODC_LOG_FORMAT: 'json', ODC_DEPLOYER_SIMULATOR: 'true' };
    const { app: first, adminKey: key } = await startWithFirstAdmin({
      roles: 'coordinator,worker,cron,deployer',
      env,
    });
    const auth = { authorization: `Bearer ${key}` };

    const clusters = await first.http().get('/api/v1/clusters').set(auth).expect(200);
    expect(clusters.body).toEqual([
      expect.objectContaining({ name: 'local-sim', status: 'healthy', enabled: true, draining: false }),
    ]);
    const availability = await first.http().get('/api/v1/availability').set(auth).expect(200);
    const figures = availability.body.gpu_types.map(
      (t: {
        gpu_type: string;
        total_gpus: number;
        free_gpus: number;
        max_reservable: number;
        nodes: number;
      }) => [t.gpu_type, t.total_gpus, t.free_gpus, t.max_reservable, t.nodes],
    );
    expect(figures).toEqual([
      ['a100', 16, 16, 4, 4],
      ['h100', 32, 32, 8, 4],
      ['t4', 8, 8, 1, 8],
    ]);
    await first.runtime.close();

    // The next start finds it registered and points it at its own deployer (another port here).
    const second = await startTestApp({ roles: 'coordinator,deployer', database: first.database, env });
    const again = await second.http().get('/api/v1/clusters').set(auth).expect(200);
    const deployerUrl = second.runtime.listeners.find((l) => l.name === 'deployer')!.url;
    expect(again.body).toEqual([
      expect.objectContaining({ name: 'local-sim', deployer_url: deployerUrl, status: 'healthy' }),
    ]);
    await second.close();
    await first.database.drop();

    const notDevelopment = await startTestApp({
      roles: 'coordinator,deployer',
      env: { ODC_DEPLOYER_SIMULATOR: 'true' },
    });
    const rows = await notDevelopment.core().get(DataSource).query<unknown[]>('SELECT id FROM clusters');
    expect(rows).toEqual([]);
    await notDevelopment.close();
  });
});

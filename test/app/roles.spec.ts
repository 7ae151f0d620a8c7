import request from 'supertest';
import { SchedulerRegistry } from '@nestjs/schedule';
import { ExclusiveTaskRunner } from '../../src/infra/cron/exclusive-task.runner';
import { startTestApp, type TestApp } from '../support/app';

describe('modules are composed per role', () => {
  const apps: TestApp[] = [];
  const start = async (...args: Parameters<typeof startTestApp>) => {
    const app = await startTestApp(...args);
    apps.push(app);
    return app;
  };

  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.close()));
  });

  it('coordinator: API listener with Swagger, no cron tasks (its one timer, the registry poll, is in the scheduler)', async () => {
    const app = await start({ roles: 'coordinator' });
    expect(app.runtime.listeners.map((l) => l.name)).toEqual(['api']);
    await app.http().get('/docs').redirects(1).expect(200);
    expect(app.core().get(SchedulerRegistry).getIntervals()).toEqual(['cluster-registry-poll']);
    expect(() => app.core().get(ExclusiveTaskRunner)).toThrow();
  });

  it('worker: opens no port at all by default; its timers are intervals of the scheduler', async () => {
    const app = await start({ roles: 'worker' });
    expect(app.runtime.listeners).toEqual([]);
    expect(app.core().getHttpServer().listening).toBe(false);
    expect(app.core().get(SchedulerRegistry).getIntervals().sort()).toEqual([
      'admission-pass',
      'cluster-registry-poll',
    ]);
  });

  it('worker with ODC_OPS_PORT: health and metrics only, no API docs', async () => {
    const app = await start({ roles: 'worker', env: { ODC_OPS_PORT: '0' } });
    expect(app.runtime.listeners.map((l) => l.name)).toEqual(['ops']);
    await app.http().get('/readyz').expect(200);
    await app.http().get('/metrics').expect(200);
    await app.http().get('/docs').expect(404);
  });

  it('cron: the scheduler and the exactly-once runner exist, and every periodic task is an interval of the scheduler', async () => {
    const app = await start({ roles: 'cron' });
    expect(app.core().get(ExclusiveTaskRunner)).toBeDefined();
    expect(app.core().get(SchedulerRegistry).getIntervals().sort()).toEqual([
      'audit.checkpoint',
      'cluster-registry-poll',
      'clusters.health',
      'reservations.expiry',
      'reservations.status-sync',
      'storage.maintenance',
      'storage.reconcile',
    ]);
  });

  it('deployer alone: its own listener, stateless (no database at all)', async () => {
    const app = await start({ roles: 'deployer', env: { ODC_DEPLOYER_SIMULATOR: 'true' } });
    expect(app.runtime.core).toBeUndefined();
    expect(app.runtime.listeners.map((l) => l.name)).toEqual(['simulator', 'deployer']);
    const health = await request(app.runtime.deployer!.getHttpServer()).get('/api/v1/health').expect(200);
    expect(health.body).toMatchObject({
      status: 'ok',
      kubernetes: { reachable: true, version: 'v1.32.0-odc-sim' },
    });
    const missing = await request(app.runtime.deployer!.getHttpServer()).get('/docs').expect(404);
    expect(missing.body.code).toBe('not_found');
  });

  it('all roles: API and deployer on separate ports', async () => {
    const app = await start({
      roles: 'coordinator,worker,cron,deployer',
      env: { ODC_DEPLOYER_SIMULATOR: 'true' },
    });
    expect(app.runtime.listeners.map((l) => l.name)).toEqual(['api', 'simulator', 'deployer']);
    const [api, , deployer] = app.runtime.listeners;
    expect(api!.url).not.toEqual(deployer!.url);
    await request(deployer!.url).get('/api/v1/health').expect(200);
    await request(api!.url).get('/api/v1/health').expect(404);
  });
});

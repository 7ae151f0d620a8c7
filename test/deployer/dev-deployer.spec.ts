import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { readyLine } from '../../src/app/runtime';
import { ClusterClients } from '../../src/clusters/client/cluster-clients';
import { freePort } from '../../src/infra/os/free-port';
import { startTestApp, type TestApp } from '../support/app';
import {
  describeSimulatorOnly,
  h100Pool,
  itSimulatorOnly,
  KUBE_TARGET,
  realKubeconfigPath,
  startKubeTarget,
  type KubeTarget,
} from '../support/simulator';
import { DEPLOYER_TOKEN, startDeployer } from './fixtures';

const DEVELOPMENT = { NODE_ENV: 'development', ODC_LOG_FORMAT: 'json' };

/**
 * Where `npm start` finds its cluster: its own simulated one in the process, or on the real tier
 * the real API server, as `KUBECONFIG=.odc/kube/kubeconfig npm start` (docs/kube-tier.md).
 */
const DEVELOPMENT_CLUSTER: Record<string, string> =
  KUBE_TARGET === 'real' ? { KUBECONFIG: realKubeconfigPath() } : { ODC_DEPLOYER_SIMULATOR: 'true' };

/** The registered clusters as the coordinator last found them (its probe sends the cluster's token). */
const clustersOf = (app: TestApp) =>
  app.core().get(DataSource).query<{ name: string; status: string }[]>('SELECT name, status FROM clusters');

/** The coordinator calls local-sim's deployer now, with the token it holds for it. */
async function probeLocalSim(app: TestApp): Promise<string> {
  const [{ id }] = await app.core().get(DataSource).query<[{ id: string }]>('SELECT id FROM clusters');
  return (await app.core().get(ClusterClients).for(id).probe()).status;
}

/** `npm start`: the roles in one process, the deployer on its own port next to the API. */
describe('the development start’s deployer', () => {
  let app: TestApp;
  const deployer = () => request(app.runtime.deployer!.getHttpServer());

  beforeAll(async () => {
    app = await startTestApp({
      roles: 'coordinator,deployer',
      env: { ...DEVELOPMENT, ...DEVELOPMENT_CLUSTER },
    });
  });

  afterAll(() => app.close());

  it('refuses a caller without a token (401), though none is configured', async () => {
    expect(app.config.ODC_DEPLOYER_TOKEN).toBeUndefined();
    const res = await deployer().get('/api/v1/deployments').expect(401);
    expect(res.body.code).toBe('unauthorized');
    await deployer()
      .get('/api/v1/health')
      .set('authorization', 'Bearer guessed-token-0123456789')
      .expect(401);
  });

  it('refuses a request for another host name (a page rebinding its name to 127.0.0.1), before the token', async () => {
    for (const host of [
      'evil.example',
      'evil.example:8443',
      '127.0.0.1.evil.example',
      'localhost.evil.example',
    ]) {
      const res = await deployer().get('/api/v1/deployments').set('host', host).expect(403);
      expect(res.body).toMatchObject({ code: 'forbidden', message: expect.stringContaining('host') });
    }
  });

  itSimulatorOnly('devSimulator')(
    'is still reached by its coordinator: local-sim is registered with the token made for this start',
    async () => {
      // healthy, not auth_failed: the coordinator's probe carried the token.
      expect(await clustersOf(app)).toEqual([{ name: 'local-sim', status: 'healthy' }]);
      expect(await probeLocalSim(app)).toBe('healthy');
      // The token is nowhere in the logs.
      expect(JSON.stringify(app.logs.lines)).not.toMatch(/Bearer [A-Za-z0-9_-]{43}/);
    },
  );
});

describeSimulatorOnly('devSimulator', 'a development start after another', () => {
  it('hands its own new token to local-sim, registered by the start before (on the same port)', async () => {
    const port = String(await freePort());
    const env = { ...DEVELOPMENT, ODC_DEPLOYER_SIMULATOR: 'true', ODC_DEPLOYER_PORT: port };
    const first = await startTestApp({ roles: 'coordinator,deployer', env });
    expect(await clustersOf(first)).toEqual([{ name: 'local-sim', status: 'healthy' }]);
    await first.runtime.close();
    const second = await startTestApp({ roles: 'coordinator,deployer', database: first.database, env });
    try {
      expect(second.runtime.listeners.find((l) => l.name === 'deployer')!.url).toMatch(
        new RegExp(`:${port}$`),
      );
      expect(await probeLocalSim(second)).toBe('healthy');
    } finally {
      await second.close();
      await first.database.drop();
    }
  });
});

describe('a development start on a real cluster (KUBECONFIG)', () => {
  let target: KubeTarget;
  let dir: string;

  beforeAll(async () => {
    target = await startKubeTarget({ nodePools: [h100Pool(1)] }, []);
    dir = mkdtempSync(join(tmpdir(), 'odc-kubeconfig-'));
  });

  afterAll(async () => {
    await target.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('says so in its ready line, as a warning naming the cluster', async () => {
    const file = join(dir, 'config');
    writeFileSync(file, target.kubeconfig.exportConfig());
    const app = await startTestApp({
      roles: 'coordinator,deployer',
      env: { ...DEVELOPMENT, KUBECONFIG: file },
    });
    try {
      const ready = readyLine(app.runtime);
      expect(ready.level).toBe('warn');
      expect(ready.msg).toMatch(/^ODC ready: /);
      expect(ready.msg).toContain(
        `NOT A SIMULATED CLUSTER: the deployer drives ${target.url} from KUBECONFIG`,
      );
    } finally {
      await app.close();
    }
  });
});

describe('the Host rule outside development', () => {
  it('holds a deployer bound to loopback to loopback names, plus ODC_DEPLOYER_ALLOWED_HOSTS', async () => {
    const deployer = await startDeployer({ env: { ODC_DEPLOYER_ALLOWED_HOSTS: 'deployer.example.com' } });
    try {
      const get = (host: string) =>
        deployer
          .api()
          .get('/api/v1/health')
          .set('host', host)
          .set('authorization', `Bearer ${DEPLOYER_TOKEN}`);
      for (const host of [
        'localhost:8443',
        '127.0.0.1',
        '[::1]:8443',
        'deployer.example.com',
        'Deployer.Example.com:443',
      ]) {
        await get(host).expect(200);
      }
      expect((await get('evil.example').expect(403)).body.code).toBe('forbidden');
      // Probes come with the pod's address as host: they answer whatever the host.
      await deployer.api().get('/livez').set('host', '10.0.0.7:8443').expect(200);
    } finally {
      await deployer.close();
    }
  });

  it('lets a deployer bound to a real address answer any host (it sits behind a Service)', async () => {
    const deployer = await startDeployer({ env: { ODC_DEPLOYER_HOST: '0.0.0.0' } });
    try {
      await deployer
        .authed(deployer.api().get('/api/v1/health').set('host', 'odc-deployer.odc.svc:8443'))
        .expect(200);
    } finally {
      await deployer.close();
    }
  });
});

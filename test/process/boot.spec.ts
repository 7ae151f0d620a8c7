import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { projectRoot } from '../../src/app/version';
import { isProcessAlive } from '../../src/infra/os/process-alive';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { freePort } from '../../src/infra/os/free-port';
import { isReady, listeningPorts, spawnOdc, type OdcProcess } from '../support/process';

const running: OdcProcess[] = [];
const start = (env: Record<string, string>, args: string[] = []) => {
  const odc = spawnOdc(env, args);
  running.push(odc);
  return odc;
};

afterEach(() => {
  for (const odc of running.splice(0)) {
    if (odc.child.exitCode === null) {
      odc.child.kill('SIGKILL');
    }
  }
});

async function portIsClosed(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.on('connect', () => (socket.destroy(), resolve(false)));
    socket.on('error', () => resolve(true));
  });
}

describe('booting the real process', () => {
  it('refuses unknown roles, naming the valid ones', async () => {
    const odc = start({ ODC_ROLES: 'bogus' });
    const { code } = await odc.exited;
    expect(code).toBe(2);
    expect(odc.output()).toContain(
      'unknown role(s) "bogus"; valid roles: coordinator, worker, cron, deployer',
    );
  });

  it('lists every configuration problem at once', async () => {
    const odc = start({ ODC_PORT: 'eighty', ODC_LOG_LEVEL: 'loud', NODE_ENV: 'production' });
    const { code } = await odc.exited;
    expect(code).toBe(2);
    for (const variable of ['ODC_PORT', 'ODC_LOG_LEVEL', 'DATABASE_URL']) {
      expect(odc.output()).toContain(`  - ${variable}: `);
    }
  });

  it('takes the deployer flags kept from the platform ODC replaces: --port makes a deployer listening there; --mode=lambda says where the handler is', async () => {
    const lambda = start({}, ['--mode=lambda']);
    expect((await lambda.exited).code).toBe(2);
    expect(lambda.output()).toContain('dist/src/lambda.handler');

    const port = await freePort();
    const deployer = start({ ODC_DEPLOYER_SIMULATOR: 'true', NODE_ENV: 'production' }, [`--port=${port}`]);
    await deployer.waitFor(isReady);
    expect(listeningPorts(deployer.child.pid!)).toContain(port);
    expect(deployer.output()).toMatch(/roles: deployer; listeners: deployer http:\/\/127\.0\.0\.1:\d+/);
    const live = await fetch(`http://127.0.0.1:${port}/livez`);
    expect(live.status).toBe(200);
    deployer.child.kill('SIGTERM');
    expect((await deployer.exited).code).toBe(0);
  });

  describe('against a given DATABASE_URL', () => {
    let database: TestDatabase;

    beforeEach(async () => {
      database = await createTestDatabase({ empty: true });
    });

    afterEach(() => database.drop());

    it('a worker-only replica opens no port', async () => {
      const port = await freePort();
      const odc = start({ ODC_ROLES: 'worker', DATABASE_URL: database.url, ODC_PORT: String(port) });
      const ready = await odc.waitFor(isReady);
      expect(ready.listeners).toEqual([]);
      expect(await portIsClosed(port)).toBe(true);
      expect(listeningPorts(odc.child.pid!)).toEqual([]);
      odc.child.kill('SIGTERM');
      expect((await odc.exited).code).toBe(0);
    });

    it('a development start on a port in use says so in one line and spends nothing: the next start makes the admin and prints its key once it listens', async () => {
      const taken = createServer();
      await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
      const { port } = taken.address() as AddressInfo;
      const env = {
        NODE_ENV: 'development',
        // With the cron: its first ticks are under way when the port turns out to be taken.
        ODC_ROLES: 'coordinator,worker,cron',
        DATABASE_URL: database.url,
        ODC_PORT: String(port),
      };
      const clash = start(env);
      expect((await clash.exited).code).toBe(1);
      taken.close();
      const fatal = clash.lines.filter((line) => line.level === 60);
      expect(fatal).toEqual([
        expect.objectContaining({
          msg: expect.stringMatching(
            new RegExp(`^ODC cannot start: port ${port} on \\S+ is in use, .* with ODC_PORT$`),
          ) as unknown,
        }),
      ]);
      expect(fatal[0]).not.toHaveProperty('err');
      // Nothing else went wrong on the way out (ticks under way finish before the database closes).
      expect(clash.lines.filter((line) => Number(line.level) >= 50)).toEqual(fatal);
      expect(clash.output()).not.toContain('API key');

      const odc = start({ ...env, ODC_PORT: '0' });
      const ready = await odc.waitFor(isReady);
      const api = (ready.listeners as { name: string; url: string }[]).find((l) => l.name === 'api')!;
      const greeting = odc.output().slice(odc.output().indexOf('First start'));
      const key = /odc_[a-z0-9]{12}_\S+/.exec(greeting)?.[0];
      expect(greeting).toContain(`npx gpu-dev setup ${api.url}`);
      const me = await fetch(`${api.url}/api/v1/me`, { headers: { authorization: `Bearer ${key}` } });
      expect(((await me.json()) as { username: string }).username).toBe('admin');
      odc.child.kill('SIGTERM');
      expect((await odc.exited).code).toBe(0);
    });

    it('two replicas booting at once both come up, and the migrations run once', async () => {
      const env = { ODC_ROLES: 'coordinator,worker,cron', DATABASE_URL: database.url, ODC_PORT: '0' };
      const replicas = [start(env), start(env)];
      await Promise.all(replicas.map((odc) => odc.waitFor(isReady)));
      const migrationLogs = replicas.flatMap((odc) =>
        odc.lines.filter((line) => line.context === 'Database').map((line) => line.msg),
      );
      expect(migrationLogs.sort()).toEqual([
        expect.stringMatching(/^applied migrations: /),
        'schema is current',
      ]);

      const client = new Client({ connectionString: database.url });
      await client.connect();
      const { rows } = await client.query<{ name: string; count: number }>(
        'SELECT name, count(*)::int AS count FROM migrations GROUP BY name',
      );
      await client.end();
      expect(rows.length).toBeGreaterThan(0);
      expect(rows.every((row) => row.count === 1)).toBe(true);

      for (const odc of replicas) {
        odc.child.kill('SIGTERM');
      }
      expect((await Promise.all(replicas.map((odc) => odc.exited))).map((e) => e.code)).toEqual([0, 0]);
    });
  });

  describe('with no database configured (the quick start)', () => {
    let dataDir: string;
    const clusterDirs: string[] = [];

    /** The cluster folder the process logged (under the data folder, or elsewhere when root cannot share it). */
    const clusterDirOf = async (odc: OdcProcess) => {
      const line = await odc.waitFor((l) => l.msg === 'embedded PostgreSQL started');
      clusterDirs.push(String(line.clusterDir));
      return String(line.clusterDir);
    };
    const postmasterPid = (clusterDir: string) =>
      Number(readFileSync(join(clusterDir, 'postmaster.pid'), 'utf8').split('\n')[0]);

    beforeEach(() => {
      dataDir = mkdtempSync(join(tmpdir(), 'odc-boot-'));
    });

    afterEach(() => {
      for (const dir of [dataDir, ...clusterDirs.splice(0)]) {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('starts an embedded PostgreSQL, serves /healthz and /docs, and Ctrl-C stops everything cleanly', async () => {
      chmodSync(dataDir, 0o755); // the usual case: the cluster lives inside the data folder
      const odc = start({ ODC_DATA_DIR: dataDir, ODC_PORT: '0', ODC_DEPLOYER_PORT: '0' });
      const ready = await odc.waitFor(isReady, 20_000);
      const first = odc.lines[0]!;
      expect(first.msg).toMatch(
        /^ODC \S+ starting on Node v24\.\d+\.\d+; roles: coordinator, worker, cron, deployer; listeners: /,
      );

      const api = (ready.listeners as { name: string; url: string }[]).find((l) => l.name === 'api')!;
      expect((await fetch(`${api.url}/healthz`)).status).toBe(200);
      const docs = await fetch(`${api.url}/docs`);
      expect(docs.status).toBe(200);
      expect(await docs.text()).toContain('swagger-ui');

      const clusterDir = await clusterDirOf(odc);
      expect(clusterDir).toBe(join(dataDir, 'pg'));
      const postmaster = postmasterPid(clusterDir);
      expect(isProcessAlive(postmaster)).toBe(true);
      const ports = (ready.listeners as { url: string }[]).map((l) => Number(new URL(l.url).port));
      expect(listeningPorts(odc.child.pid!).sort()).toEqual(ports.sort());

      // A terminal's Ctrl-C under `npm start` arrives twice (process group + npm forwarding it).
      odc.child.kill('SIGINT');
      odc.child.kill('SIGINT');
      const { code } = await odc.exited;
      // The graceful stop finished: neither the shutdown deadline nor the second signal cut it short
      // (either would exit with another code and say so).
      expect(code).toBe(0);
      expect(odc.lines.map((line) => line.msg)).toContain('stopped');
      expect(isProcessAlive(postmaster)).toBe(false);
      expect(existsSync(join(clusterDir, 'postmaster.pid'))).toBe(false);
    });

    it('a Ctrl-C during boot still ends with the embedded PostgreSQL stopped', async () => {
      const odc = start({ ODC_DATA_DIR: dataDir, ODC_PORT: '0', ODC_DEPLOYER_PORT: '0' });
      const postmaster = postmasterPid(await clusterDirOf(odc));
      odc.child.kill('SIGINT');
      expect((await odc.exited).code).toBe(0);
      expect(isProcessAlive(postmaster)).toBe(false);
    });

    it('refuses a second process on the same data folder and leaves the first one running', async () => {
      const first = start({ ODC_DATA_DIR: dataDir, ODC_ROLES: 'worker' });
      await first.waitFor(isReady);
      const postmaster = postmasterPid(await clusterDirOf(first));
      const second = start({ ODC_DATA_DIR: dataDir, ODC_ROLES: 'worker' });
      expect((await second.exited).code).toBe(1);
      expect(second.output()).toContain(`is in use by another ODC process (pid ${first.child.pid})`);
      // One line that says what to do, not a stack trace.
      expect(second.lines.filter((line) => line.level === 60)).toEqual(
        [
          { level: 60, msg: expect.stringMatching(/^ODC cannot start: .* is in use by another ODC process/) },
        ].map((line) => expect.objectContaining(line)),
      );
      expect(second.output()).not.toContain('    at ');
      expect(isProcessAlive(postmaster)).toBe(true);
      first.child.kill('SIGTERM');
      expect((await first.exited).code).toBe(0);
      expect(isProcessAlive(postmaster)).toBe(false);
    });

    it('user:create works while the server runs on its embedded database: the new key works at once', async () => {
      chmodSync(dataDir, 0o755);
      const odc = start({ ODC_DATA_DIR: dataDir, ODC_ROLES: 'coordinator', ODC_PORT: '0' });
      const ready = await odc.waitFor(isReady);
      const api = (ready.listeners as { name: string; url: string }[]).find((l) => l.name === 'api')!;
      clusterDirs.push(
        String((await odc.waitFor((l) => l.msg === 'embedded PostgreSQL started')).clusterDir),
      );
      const script = spawn(
        process.execPath,
        [join(projectRoot(), 'dist/scripts/user-create.js'), '--username', 'bob'],
        { cwd: tmpdir(), env: { PATH: process.env.PATH ?? '', HOME: tmpdir(), ODC_DATA_DIR: dataDir } },
      );
      let printed = '';
      script.stdout.on('data', (chunk: Buffer) => (printed += chunk.toString()));
      script.stderr.on('data', (chunk: Buffer) => (printed += chunk.toString()));
      expect(await new Promise((resolve) => script.on('exit', resolve))).toBe(0);
      expect(printed).toMatch(/^bob is a user\. API key \(shown once, valid until \S+\):$/m);
      const key = /^(odc_\S+)$/m.exec(printed)?.[1];
      const me = await fetch(`${api.url}/api/v1/me`, { headers: { authorization: `Bearer ${key}` } });
      expect((await me.json()) as { username: string; admin: boolean }).toMatchObject({
        username: 'bob',
        admin: false,
      });
      // The server it borrowed keeps running under its owner.
      expect((await fetch(`${api.url}/readyz`)).status).toBe(200);
      odc.child.kill('SIGTERM');
      expect((await odc.exited).code).toBe(0);
    });

    it('stops a PostgreSQL left behind by a killed process and starts cleanly', async () => {
      const first = start({ ODC_DATA_DIR: dataDir, ODC_ROLES: 'worker' });
      await first.waitFor(isReady);
      const orphan = postmasterPid(await clusterDirOf(first));
      first.child.kill('SIGKILL');
      await first.exited;
      expect(isProcessAlive(orphan)).toBe(true);

      const second = start({ ODC_DATA_DIR: dataDir, ODC_ROLES: 'worker' });
      await second.waitFor(isReady);
      expect(
        second.lines.some((line) => String(line.msg).includes('left behind by a killed ODC process')),
      ).toBe(true);
      expect(isProcessAlive(orphan)).toBe(false);
      second.child.kill('SIGTERM');
      expect((await second.exited).code).toBe(0);
    });
  });
});

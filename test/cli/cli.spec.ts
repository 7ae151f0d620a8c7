import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { registerDeployer, startDeployer, type DeployerUnderTest } from '../deployer/fixtures';
import { FAST_CONTROL_PLANE_ENV, startTestApp, type TestApp } from '../support/app';
import { startCli } from '../support/cli';
import { eventually } from '../support/eventually';
import { FAST_TIMINGS, h100Pool } from '../support/simulator';
import { keyFor } from '../support/users';
import { when } from '../../src/cli/output';

const H100 = 'NVIDIA-H100-80GB-HBM3';

/**
 * gpu-dev as a user runs it (test/support/cli.ts), with a short poll so waiting tests stay quick,
 * against one platform process (every core role) and a deployer on a simulated 8-GPU H100 node.
 */
describe('gpu-dev CLI against the running platform', () => {
  let deployer: DeployerUnderTest;
  let app: TestApp;
  let apiUrl: string;
  let home: string;
  let keys: Record<'alice' | 'bob', string>;

  const start = (args: string[]) => startCli(home, args, { ODC_CLI_POLL_MS: '150' });
  const cli = (...args: string[]) => start(args).done;
  const json = async <T>(...args: string[]): Promise<T> => {
    const run = await cli('--json', ...args);
    expect(run).toMatchObject({ code: 0 });
    return JSON.parse(run.stdout) as T;
  };

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'gpu-dev-home-'));
    deployer = await startDeployer({ cluster: { nodePools: [h100Pool(1)], timings: FAST_TIMINGS } });
    app = await startTestApp({
      roles: 'coordinator,worker,cron',
      env: FAST_CONTROL_PLANE_ENV,
    });
    apiUrl = app.runtime.listeners.find((l) => l.name === 'api')!.url;
    const admin = await keyFor(app, 'ops', ['clusters:admin'], { admin: true });
    await registerDeployer(app, admin, deployer, {
      name: 'sim',
      gpuType: 'h100',
      product: H100,
      sshHost: 'gpu.example.com',
    });
    const scopes = ['reservations:read', 'reservations:write'] as const;
    keys = { alice: await keyFor(app, 'alice', [...scopes]), bob: await keyFor(app, 'bob', [...scopes]) };
  });

  afterAll(async () => {
    await app.close();
    await deployer.close();
    rmSync(home, { recursive: true, force: true });
  });

  it('takes a new user from setup to cancel: setup → login --key → avail → reserve → connect → extend → show → cancel', async () => {
    const setup = await cli('setup', apiUrl);
    expect(setup).toMatchObject({ code: 0 });
    expect(setup.stdout).toContain(`Using ${apiUrl}`);

    const login = await cli('login', '--key', keys.alice);
    expect(login).toMatchObject({ code: 0 });
    expect(login.stdout).toContain('as alice');
    const configFile = join(home, '.config', 'gpu-dev', 'config.json');
    expect(statSync(configFile).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(configFile, 'utf8'))).toEqual({ api_url: apiUrl, api_key: keys.alice });
    const shown = await cli('config', 'show');
    expect(shown.stdout).not.toContain(keys.alice); // only its prefix
    expect(shown.stdout).toContain('[config file]');

    const avail = await cli('avail');
    expect(avail).toMatchObject({ code: 0 });
    expect(avail.stdout).toMatch(/h100\s*│\s*8\s*│\s*8\s*│\s*8\s*│\s*0/);

    const reserved = await cli('reserve', '-t', 'h100', '-g', '4', '-h', '1', '-n', 'train');
    expect(reserved).toMatchObject({ code: 0 });
    expect(reserved.stderr).toMatch(/train \([0-9a-f]{8}\): (queued|placed|starting)/);
    expect(reserved.stderr).toContain('you have no SSH key on ODC'); // alice has none yet
    expect(reserved.stdout).toMatch(/Ready: 4 × h100 on sim until/);
    // Named by its name, and connect runs the very command the server shows.
    const shownCommand = /\(or: (ssh -p \d+ dev@gpu\.example\.com)\)/.exec(reserved.stdout)?.[1];
    expect(reserved.stdout).toContain(`gpu-dev connect train    (or: ${shownCommand})`);

    const connect = await cli('connect', '--print');
    expect(connect).toMatchObject({ code: 0 });
    expect(connect.stdout.trim()).toBe(shownCommand);
    expect((await cli('connect', '--print', '-A')).stdout.trim()).toBe(
      shownCommand!.replace('ssh ', 'ssh -A '),
    );

    const extended = await cli('extend', 'train', '--hours', '1');
    expect(extended).toMatchObject({ code: 0 });
    expect(extended.stdout).toMatch(/^train \([0-9a-f]{8}\): expires \d{4}-\d\d-\d\d \d\d:\d\d$/m);

    const show = await cli('show', 'train');
    expect(show).toMatchObject({ code: 0 });
    expect(show.stdout).toContain('2 h (1 h added)');
    expect(show.stdout).toMatch(/timeline:[\s\S]*Extended by 1 h by alice/);

    const cancelled = await cli('cancel', 'train');
    expect(cancelled).toMatchObject({ code: 0 });
    expect(cancelled.stdout).toMatch(
      /^train \([0-9a-f]{8}\): ending \(cancelled\), its environment being deleted$/m,
    );
    const after = await eventually(
      () => json<{ status: string; expires_at: string; ended_at?: string }>('show', 'train'),
      (r) => r.status === 'cancelled',
      15_000,
    );

    // Ended: the list shows when it ended, not the expiry it never reached.
    const ended = await cli('list', '--status', 'cancelled');
    expect(ended).toMatchObject({ code: 0 });
    expect(ended.stdout).toContain(`ended ${when(after.ended_at)}`);
    expect(ended.stdout).not.toContain(when(after.expires_at));
    expect((await cli('show', 'train')).stdout).toContain(`ended:     ${when(after.ended_at)}`);
  });

  it('prints JSON that parses for every data command', async () => {
    const me = await json<{ username: string; admin: boolean }>('whoami');
    expect(me).toMatchObject({ username: 'alice', admin: false });
    const avail = await json<{ gpu_type: string; total_gpus: number }[]>('avail');
    expect(avail.map((row) => [row.gpu_type, row.total_gpus])).toEqual([['h100', 8]]);
    const list = await json<{ id: string }[]>('list', '--status', 'all');
    expect(list.length).toBeGreaterThanOrEqual(1);
    const config = await json<{ api_key: string }>('config', 'show');
    expect(config.api_key).toBe(`${keys.alice.slice(0, 17)}…`);
  });

  it('shows the queue position and estimated wait while the fleet is full, then becomes active when a reservation ends', async () => {
    const blocker = await app
      .http()
      .post('/api/v1/reservations')
      .set('authorization', `Bearer ${keys.bob}`)
      .send({ gpu_type: 'h100', gpu_count: 8, hours: 2 })
      .expect(202);
    await eventually(
      async () =>
        (
          await app
            .http()
            .get(`/api/v1/reservations/${blocker.body.id as string}`)
            .set('authorization', `Bearer ${keys.bob}`)
        ).body as { status: string },
      (r) => r.status === 'active',
      15_000,
    );
    const waiting = start(['reserve', '-t', 'h100', '-g', '8', '-h', '1', '-n', 'big']);
    await eventually(
      async () => waiting.stderr(),
      (stderr) => /#1 in the h100 queue, about 2 h \d+ min to wait/.test(stderr),
      15_000,
    );
    await app
      .http()
      .post(`/api/v1/reservations/${blocker.body.id as string}/cancel`)
      .set('authorization', `Bearer ${keys.bob}`)
      .expect(200);
    const run = await waiting.done;
    expect(run).toMatchObject({ code: 0 });
    // The lines in between (placed, starting) depend on what a poll happens to see: not asserted.
    expect(run.stderr).toMatch(/big \([0-9a-f]{8}\): ready/);
    expect(run.stdout).toMatch(/Ready: 8 × h100 on sim/);
    expect((await cli('cancel', 'big', '-y')).code).toBe(0);
  }, 60_000);

  it('disks: create → reserve --disk → its snapshot at the end → snapshot, restore --as, delete', async () => {
    const key = await keyFor(app, 'erin', [
      'reservations:read',
      'reservations:write',
      'disks:read',
      'disks:write',
    ]);
    const as = (...args: string[]) => cli('--api-key', key, ...args);

    const created = await as('disk', 'create', 'work', '--size', '20');
    expect(created).toMatchObject({ code: 0 });
    expect(created.stdout).toContain('Disk work (20 GB) created');
    expect((await as('disk', 'list')).stdout).toMatch(/work\s*│\s*20 GB\s*│\s*free/);

    const reserved = await as('reserve', '-t', 'h100', '-g', '1', '-h', '1', '--disk', 'work');
    expect(reserved).toMatchObject({ code: 0 });
    const id = /gpu-dev connect ([0-9a-f]{8})/.exec(reserved.stdout)![1]!;
    expect((await as('show', id)).stdout).toContain('disk:      work at /home/dev');
    expect((await as('disk', 'list')).stdout).toMatch(/work\s*│\s*20 GB\s*│\s*in use\s*│\s*sim/);
    expect(await as('cancel', id, '-y')).toMatchObject({ code: 0 });

    const atEnd = await eventually(
      async () =>
        JSON.parse((await as('--json', 'disk', 'snapshots', 'work')).stdout) as {
          id: string;
          status: string;
          reason: string;
        }[],
      (list) => list.length === 1 && list[0]!.status === 'ready',
      20_000,
    );
    expect(atEnd[0]!.reason).toBe('cancelled'); // how the reservation that held it ended
    const taken = await as('disk', 'snapshot', 'work');
    expect(taken).toMatchObject({ code: 0 });
    expect(taken.stdout).toMatch(/^Snapshot [0-9a-f]{8} of work: ready$/m);
    const restored = await as('disk', 'restore', 'work', atEnd[0]!.id.slice(0, 8), '--as', 'work-copy');
    expect(restored).toMatchObject({ code: 0 });
    expect(restored.stdout).toContain('Disk work-copy will start from snapshot');
    const disks = JSON.parse((await as('--json', 'disk', 'list')).stdout) as {
      name: string;
      status: string;
    }[];
    expect(disks.map((d) => d.name)).toEqual(['work', 'work-copy']);

    const unasked = await as('disk', 'delete', 'work-copy');
    expect(unasked.code).toBe(2);
    expect(unasked.stderr.trim()).toBe('error: Deleting a disk needs -y when not run from a terminal');
    const deleted = await as('disk', 'delete', 'work-copy', '-y');
    expect(deleted).toMatchObject({ code: 0 });
    expect(deleted.stdout).toMatch(/Disk work-copy deleted; its data is kept until \d{4}-/);

    const orphanFlag = await as('reserve', '-t', 'h100', '-g', '1', '-h', '1', '--no-persist');
    expect(orphanFlag.code).toBe(2);
    expect(orphanFlag.stderr.trim()).toBe('error: --no-persist goes with --disk <name>');
    const unknown = await as('reserve', '-t', 'h100', '-g', '1', '-h', '1', '--disk', 'nope', '--no-wait');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown_disk');
    expect(unknown.stderr).toContain('gpu-dev disk list');
  });

  it('reads the lists of keys and clusters (their items), and finds a cluster by name in them', async () => {
    const admin = await keyFor(app, 'root', ['clusters:admin', 'keys:write'], { admin: true });
    const as = (...args: string[]) => cli('--api-key', admin, ...args);
    const clusters = await as('cluster', 'list');
    expect(clusters).toMatchObject({ code: 0 });
    expect(clusters.stdout).toMatch(/sim\s*│\s*enabled\s*│\s*healthy/);
    const shown = await as('cluster', 'show', 'sim');
    expect(shown).toMatchObject({ code: 0 });
    expect(shown.stdout).toContain('nodes:    1');
    const listed = await as('--json', 'keys', 'list');
    expect(listed).toMatchObject({ code: 0 });
    expect((JSON.parse(listed.stdout) as { prefix: string }[]).map((key) => key.prefix)).toContain(
      admin.slice(4, 16),
    );
  });

  it('exits 2 with a one-line hint on usage errors, and 3 with "gpu-dev login" for an expired key', async () => {
    const unknown = await cli('reserve', '--bogus');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr.trim().split('\n')).toEqual([
      "error: unknown option '--bogus' (see gpu-dev --help)",
    ]);

    const badCount = await cli('reserve', '-t', 'h100', '-g', '3', '-h', '1', '--no-wait');
    expect(badCount.code).toBe(2);
    expect(badCount.stderr.trim().split('\n')).toHaveLength(1);
    expect(badCount.stderr).toContain('invalid_gpu_count: h100 takes 1, 2, 4, 8 GPUs per reservation, not 3');

    const notANumber = await cli('reserve', '-t', 'h100', '-g', 'many', '-h', '1');
    expect(notANumber.code).toBe(2);
    expect(notANumber.stderr.trim()).toBe('error: --gpus must be a whole number from 1, not many');

    const expired = await keyFor(app, 'dave', ['reservations:read']);
    await app
      .core()
      .get(DataSource)
      .query(`UPDATE api_keys SET expires_at = now() - interval '1 minute' WHERE prefix = $1`, [
        expired.slice(4, 16),
      ]);
    const refused = await cli('--api-key', expired, 'whoami');
    expect(refused.code).toBe(3);
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    expect(refused.stderr).toMatch(
      /^error: This API key expired at \S+: get a new one with gpu-dev login\n$/,
    );
    expect(refused.stderr).not.toContain(expired);
  });
});

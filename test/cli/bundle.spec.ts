import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { registerDeployer, startDeployer, type DeployerUnderTest } from '../deployer/fixtures';
import { FAST_CONTROL_PLANE_ENV, startTestApp, type TestApp } from '../support/app';
import { APP_VERSION, projectRoot } from '../../src/app/version';
import { startCli, type CliProgram } from '../support/cli';
import { FAST_TIMINGS, h100Pool } from '../support/simulator';
import { keyFor } from '../support/users';

/**
 * The Node on the machine's own PATH, not the project's pinned one (npm puts node_modules/.bin
 * first): the Node a user who installs the CLI has.
 */
function machineNode(): string | undefined {
  return (process.env.PATH ?? '')
    .split(delimiter)
    .filter((dir) => !dir.includes('node_modules'))
    .map((dir) => join(dir, 'node'))
    .find((candidate) => existsSync(candidate));
}

const PUBLIC_KEY =
  'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICJgDBv7IvBWDbJ0hxSjxsAqnmxPz6aq7BSfPdsDHTj2 carol@laptop';

/** A port nothing listens on: one the system just handed out and took back. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const node = machineNode();
const version = node ? execFileSync(node, ['--version'], { encoding: 'utf8' }).trim() : 'none';
const describeWithMachineNode = node ? describe : describe.skip;

/**
 * The one-file CLI as a user gets it: installed by the server's `/cli/install.sh` (which fetches
 * `/cli/gpu-dev`, the bundle of `npm run build:cli`) and run on the machine's Node, older than the
 * project's (20 on CI and here): setup → login --key → reserve → connect --print → cancel against
 * the running platform, with nothing of the checkout beside it.
 */
describeWithMachineNode(`the bundled gpu-dev on the machine's Node (${version})`, () => {
  let deployer: DeployerUnderTest;
  let app: TestApp;
  let home: string;
  let program: CliProgram;
  let apiUrl: string;
  const cli = (...args: string[]) => startCli(home, args, { ODC_CLI_POLL_MS: '150' }, program).done;

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'gpu-dev-bundle-'));
    deployer = await startDeployer({ cluster: { nodePools: [h100Pool(1)], timings: FAST_TIMINGS } });
    app = await startTestApp({ roles: 'coordinator,worker,cron', env: FAST_CONTROL_PLANE_ENV });
    const admin = await keyFor(app, 'ops', ['clusters:admin'], { admin: true });
    await registerDeployer(app, admin, deployer, {
      name: 'sim',
      gpuType: 'h100',
      product: 'NVIDIA-H100-80GB-HBM3',
      sshHost: 'gpu.example.com',
    });
    apiUrl = app.runtime.listeners.find((l) => l.name === 'api')!.url;
  });

  afterAll(async () => {
    await app.close();
    await deployer.close();
    rmSync(home, { recursive: true, force: true });
  });

  it("installs from the server's install script, checking the Node it will run on", async () => {
    // Asynchronously: the server answering curl runs in this process.
    const { stdout: installed } = await promisify(execFile)(
      'sh',
      ['-c', `curl -fsSL ${apiUrl}/cli/install.sh | sh`],
      {
        encoding: 'utf8',
        // The machine's node first, as a user's shell has it; nothing of the checkout.
        env: { PATH: `${dirname(node!)}:/usr/bin:/bin`, HOME: home, XDG_CONFIG_HOME: join(home, '.config') },
      },
    );
    const installedAt = join(home, '.local/bin/gpu-dev');
    expect(installed).toContain(`Using ${apiUrl}`);
    expect(installed).toContain(`Installed ${installedAt} (${APP_VERSION})`);
    expect(installed).toContain('Next: gpu-dev login');
    program = { node: node!, script: installedAt };
  });

  it('answers --help without a server', async () => {
    const help = await cli('--help');
    expect(help).toMatchObject({ code: 0, stderr: '' });
    expect(help.stdout).toContain('Usage: gpu-dev');
  });

  it('takes a user from login to cancel: login → ssh-keys add → reserve → connect --print → cancel', async () => {
    const key = await keyFor(app, 'carol', ['reservations:read', 'reservations:write', 'ssh-keys:write']);
    expect(await cli('setup', apiUrl)).toMatchObject({ code: 0 });
    expect((await cli('login', '--key', key)).stdout).toContain('as carol');

    mkdirSync(join(home, '.ssh'));
    writeFileSync(join(home, '.ssh/id_ed25519.pub'), `${PUBLIC_KEY}\n`);
    const added = await cli('ssh-keys', 'add');
    expect(added).toMatchObject({ code: 0, stderr: '' });
    expect(added.stdout).toMatch(/^Added SHA256:\S+ \(.*id_ed25519\.pub\)/);
    expect((await cli('ssh-keys', 'list')).stdout).toContain('carol@laptop');

    const reserved = await cli('reserve', '-t', 'h100', '-g', '1', '-h', '1', '-n', 'bundled');
    expect(reserved).toMatchObject({ code: 0 });
    expect(reserved.stderr).not.toContain('no SSH key');
    expect(reserved.stdout).toMatch(/Ready: 1 × h100 on sim until/);

    const connect = await cli('connect', 'bundled', '--print');
    expect(connect).toMatchObject({ code: 0, stderr: '' });
    expect(connect.stdout.trim()).toMatch(/^ssh -p \d+ dev@gpu\.example\.com$/);

    const cancelled = await cli('cancel', 'bundled');
    expect(cancelled).toMatchObject({ code: 0 });
    expect(cancelled.stdout).toMatch(
      /^bundled \([0-9a-f]{8}\): ending \(cancelled\), its environment being deleted$/m,
    );

    // The name again, for a new reservation: it means the live one, not the one that ended.
    expect(
      await cli('reserve', '-t', 'h100', '-g', '1', '-h', '1', '-n', 'bundled', '--no-wait'),
    ).toMatchObject({
      code: 0,
    });
    const again = await cli('cancel', 'bundled');
    expect(again).toMatchObject({ code: 0 });
    expect(again.stderr).not.toContain('Which one?');

    expect((await cli('ssh-keys', 'remove', 'carol@laptop')).stdout).toMatch(/^Removed SHA256:/);
    expect((await cli('ssh-keys', 'list')).stdout).toContain(
      'No SSH keys: add one with gpu-dev ssh-keys add',
    );
  });

  it('from a checkout on the same Node: npx gpu-dev warns of nothing, and the server says which Node it needs', async () => {
    // npm's notice of a newer npm is npm talking, not gpu-dev.
    const env = { PATH: `${dirname(node!)}:/usr/bin:/bin`, HOME: home, npm_config_update_notifier: 'false' };
    const run = promisify(execFile);
    const npx = await run('npx', ['--no-install', 'gpu-dev', '--version'], { cwd: projectRoot(), env });
    expect(npx).toEqual({ stdout: `${APP_VERSION}\n`, stderr: '' });
    // The machines here have Node 20 (the server's own runs on the pinned 24).
    expect(Number(version.slice(1).split('.')[0])).toBeLessThan(24);
    const server = await run(node!, ['dist/src/main.js'], { cwd: projectRoot(), env }).then(
      () => undefined,
      (error: { code: number; stderr: string }) => error,
    );
    expect(server).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(
        /^ODC cannot start\. The server needs Node 24 or later, and this is v\d+/,
      ) as unknown,
    });
  });

  it('says which server it cannot reach and why', async () => {
    const closed = await closedPort();
    const unreachable = await cli('--api-url', `http://127.0.0.1:${closed}`, '--api-key', 'odc_x', 'avail');
    expect(unreachable.code).not.toBe(0);
    expect(unreachable.stderr).toBe(
      `error: Cannot reach http://127.0.0.1:${closed}: ECONNREFUSED (check the URL with gpu-dev config show)\n`,
    );
  });
});

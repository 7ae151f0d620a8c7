import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DEPLOYER_TOKEN,
  H100_PRODUCT,
  NAMESPACE,
  startDeployer,
  type DeployerUnderTest,
} from '../deployer/fixtures';
import { FAST_CONTROL_PLANE_ENV, startTestApp, type TestApp } from '../support/app';
import { startCli } from '../support/cli';
import { FAST_TIMINGS, h100Pool } from '../support/simulator';
import { keyFor } from '../support/users';

/**
 * What a new user meets in their first hour on a server without OIDC (the development start's
 * kind): where to log in, what is missing (doctor), names that mean one reservation, and a
 * simulated cluster that says it is one.
 */
describe('a new user’s first hour with gpu-dev', () => {
  let deployer: DeployerUnderTest;
  let app: TestApp;
  let apiUrl: string;
  let home: string;
  let key: string;

  const cli = (...args: string[]) => startCli(home, args, { ODC_CLI_POLL_MS: '150' }).done;
  const api = () => app.http();
  const auth = () => ({ authorization: `Bearer ${key}` });

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'gpu-dev-first-hour-'));
    deployer = await startDeployer({ cluster: { nodePools: [h100Pool(1)], timings: FAST_TIMINGS } });
    app = await startTestApp({ roles: 'coordinator,worker,cron', env: FAST_CONTROL_PLANE_ENV });
    apiUrl = app.runtime.listeners.find((l) => l.name === 'api')!.url;
    const admin = await keyFor(app, 'ops', ['clusters:admin'], { admin: true });
    await api()
      .post('/api/v1/clusters')
      .set('authorization', `Bearer ${admin}`)
      .send({
        name: 'sim',
        deployer_url: deployer.app.runtime.listeners.find((l) => l.name === 'deployer')!.url,
        token: DEPLOYER_TOKEN,
        profile: {
          namespace: NAMESPACE,
          simulated: true,
          gpu_types: [
            { name: 'h100', node_selector: { 'nvidia.com/gpu.product': H100_PRODUCT }, gpus_per_node: 8 },
          ],
        },
      })
      .expect(201);
    key = await keyFor(app, 'dana', [
      'reservations:read',
      'reservations:write',
      'ssh-keys:write',
      'keys:write',
    ]);
  });

  afterAll(async () => {
    await app.close();
    await deployer.close();
    rmSync(home, { recursive: true, force: true });
  });

  it('setup says how this server logs in, and login without a key says where keys come from', async () => {
    const methods = await api().get('/api/v1/auth/methods').expect(200);
    expect(methods.body).toEqual({
      methods: ['api_key'],
      api_key_help: expect.stringContaining('user:create'),
    });

    const setup = await cli('setup', apiUrl);
    expect(setup).toMatchObject({ code: 0 });
    expect(setup.stdout).toContain(
      'Next: gpu-dev login --key   (this server has no browser login). No key yet?',
    );

    // No browser flow to wait on: outside a terminal, a usage error that says what to run.
    const login = await cli('login');
    expect(login.code).toBe(2);
    expect(login.stderr.trim()).toMatch(/^error: Log in with gpu-dev login --key .*user:create/);
  });

  it('doctor names each failing check with its fix, until nothing fails', async () => {
    const before = await cli('doctor');
    expect(before.code).toBe(1);
    expect(before.stdout).toMatch(/^ok {3}server: .* answers \(HTTP 200\), ODC \S+$/m);
    expect(before.stdout).toMatch(/^FAIL credentials: not logged in\n {5}fix: gpu-dev login$/m);

    const login = await cli('login', '--key', key);
    expect(login).toMatchObject({ code: 0 });
    expect(login.stderr).toContain(
      'ODC has no SSH key of yours, so gpu-dev connect cannot get in: gpu-dev ssh-keys add FILE',
    );

    mkdirSync(join(home, '.ssh'), { mode: 0o700 });
    const privateKey = join(home, '.ssh', 'id_ed25519');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'dana@laptop', '-f', privateKey]);
    const unknownKey = await cli('doctor');
    expect(unknownKey.code).toBe(1);
    expect(unknownKey.stdout).toMatch(/^ok {3}credentials: dana by api_key, key valid until \S+$/m);
    expect(unknownKey.stdout).toContain(`FAIL ssh key: ${privateKey}.pub (SHA256:`);
    expect(unknownKey.stdout).toContain(`fix: gpu-dev ssh-keys add ${privateKey}.pub`);

    expect(await cli('ssh-keys', 'add')).toMatchObject({ code: 0 });
    const healthy = await cli('doctor');
    expect(healthy.stdout).not.toContain('FAIL');
    expect(healthy).toMatchObject({ code: 0 });
    expect(healthy.stdout).toMatch(/^ok {3}ssh: OpenSSH/m);
  });

  it('a name means one reservation while it lasts: 409 name_taken, the API takes it where it takes an id, and it is free again once that one ends', async () => {
    const first = await api()
      .post('/api/v1/reservations')
      .set(auth())
      .send({ gpu_type: 'h100', gpu_count: 1, hours: 1, name: 'notebook' })
      .expect(202);
    const again = await api()
      .post('/api/v1/reservations')
      .set(auth())
      .send({ gpu_type: 'h100', gpu_count: 1, hours: 1, name: 'notebook' })
      .expect(409);
    expect(again.body).toMatchObject({ code: 'name_taken', details: { reservation_id: first.body.id } });

    const byName = await api().get('/api/v1/reservations/notebook').set(auth()).expect(200);
    expect(byName.body.id).toBe(first.body.id);
    await api().post('/api/v1/reservations/notebook/extend').set(auth()).send({ hours: 1 }).expect(200);
    await api().post('/api/v1/reservations/notebook/cancel').set(auth()).send({}).expect(200);

    const next = await api()
      .post('/api/v1/reservations')
      .set(auth())
      .send({ gpu_type: 'h100', gpu_count: 1, hours: 1, name: 'notebook' })
      .expect(202);
    expect((await api().get('/api/v1/reservations/notebook').set(auth()).expect(200)).body.id).toBe(
      next.body.id,
    );
    await api()
      .post(`/api/v1/reservations/${next.body.id as string}/cancel`)
      .set(auth())
      .send({})
      .expect(200);

    const none = await api().get('/api/v1/reservations/no-such-name').set(auth()).expect(404);
    expect(none.body.code).toBe('not_found');
    expect(
      (await api().get('/api/v1/reservations/Not_A_Name').set(auth()).expect(400)).body.code,
    ).toBeDefined();
    const uuidName = await api()
      .post('/api/v1/reservations')
      .set(auth())
      .send({ gpu_type: 'h100', gpu_count: 1, hours: 1, name: first.body.id as string })
      .expect(400);
    expect(JSON.stringify(uuidName.body)).toContain('name must not be a UUID');
  });

  it('on a simulated cluster, says so where it shows the address, and connect explains instead of hanging', async () => {
    const reserved = await cli('reserve', '-t', 'h100', '-g', '1', '-h', '1', '-n', 'sim-box');
    expect(reserved).toMatchObject({ code: 0 });
    expect(reserved.stdout).toMatch(
      /ssh: {6}ssh -p \d+ dev@\S+ {4}\(simulated cluster: nothing listens there\)/,
    );

    const connect = await cli('connect', 'sim-box');
    expect(connect.code).toBe(1);
    expect(connect.stderr).toMatch(
      /runs on the simulated cluster sim: there is no machine at -p \d+ dev@\S+ to connect to/,
    );
    expect((await cli('connect', 'sim-box', '--print')).stdout).toMatch(/^ssh -p \d+ dev@\S+$/m);
    expect(await cli('cancel', 'sim-box')).toMatchObject({ code: 0 });
  });
});

import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { SimulatedCluster } from '../../src/simulator/cluster';
import { DEMO_CLUSTER, withDefaults } from '../../src/simulator/config';

const run = promisify(execFile);
const hasKubectl = spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).status === 0;
if (!hasKubectl) {
  console.warn('kubectl is not installed on this machine: skipping the kubectl tests of the simulator');
}

const MANIFEST = `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: { app: web }
spec:
  replicas: 2
  selector:
    matchLabels: { app: web }
  template:
    metadata:
      labels: { app: web }
    spec:
      containers:
        - name: app
          image: nginx:1
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: { app: web }
  ports: [{ port: 80 }]
`;

(hasKubectl ? describe : describe.skip)('the real kubectl against the simulator', () => {
  let cluster: SimulatedCluster;
  let work: string;
  const kubectl = async (...args: string[]) =>
    (
      await run('kubectl', [`--server=${cluster.url}`, `--cache-dir=${join(work, 'cache')}`, ...args], {
        env: { ...process.env, KUBECONFIG: join(work, 'none') },
      })
    ).stdout;

  beforeAll(async () => {
    cluster = await SimulatedCluster.start(
      withDefaults({
        ...DEMO_CLUSTER,
        timings: { startMs: 20, readyMs: 20, pvcBindMs: 20, snapshotReadyMs: 20, jobRunMs: 20 },
      }),
    );
    work = mkdtempSync(join(tmpdir(), 'odc-kubectl-'));
    writeFileSync(join(work, 'app.yaml'), MANIFEST);
  });

  afterAll(async () => {
    await cluster.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('applies a Deployment and a Service (with validation on), gets pods by label, deletes', async () => {
    expect(await kubectl('apply', '-f', join(work, 'app.yaml'))).toBe(
      'deployment.apps/web created\nservice/web created\n',
    );
    expect(await kubectl('apply', '-f', join(work, 'app.yaml'))).toBe(
      'deployment.apps/web unchanged\nservice/web unchanged\n',
    );

    let pods = '';
    for (let i = 0; i < 100 && !/(Running.*\n.*){2}/.test(pods); i += 1) {
      pods = await kubectl('get', 'pods', '-l', 'app=web', '--no-headers');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const lines = pods.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines.every((line) => /^web-\S+\s+1\/1\s+Running\s+0\s+\S+$/.test(line))).toBe(true);

    expect(await kubectl('get', 'deployment', 'web', '-o', 'jsonpath={.status.readyReplicas}')).toBe('2');

    // A changed manifest: kubectl sends a strategic merge patch with $setElementOrder directives.
    writeFileSync(join(work, 'app-v2.yaml'), MANIFEST.replace('image: nginx:1', 'image: nginx:2'));
    expect(await kubectl('apply', '-f', join(work, 'app-v2.yaml'))).toBe(
      'deployment.apps/web configured\nservice/web unchanged\n',
    );
    const stored = await kubectl('get', 'deployment', 'web', '-o', 'json');
    expect(stored).not.toContain('$setElementOrder');
    expect(
      (JSON.parse(stored) as { spec: { template: { spec: { containers: { image: string }[] } } } }).spec
        .template.spec.containers[0].image,
    ).toBe('nginx:2');
    expect(await kubectl('delete', '-f', join(work, 'app.yaml'))).toBe(
      'deployment.apps "web" deleted\nservice "web" deleted\n',
    );
    for (let i = 0; i < 40 && (await kubectl('get', 'pods', '-l', 'app=web', '-o', 'name')) !== ''; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    expect(await kubectl('get', 'pods', '-l', 'app=web', '-o', 'name')).toBe('');
  });

  it('server-side applies, and reports an invalid object the way a real server does', async () => {
    expect(await kubectl('apply', '--server-side', '-f', join(work, 'app.yaml'))).toBe(
      'deployment.apps/web serverside-applied\nservice/web serverside-applied\n',
    );
    writeFileSync(
      join(work, 'bad.yaml'),
      'apiVersion: v1\nkind: Pod\nmetadata: { name: no-image }\nspec:\n  containers: [{ name: main }]\n',
    );
    const failure = await kubectl('apply', '-f', join(work, 'bad.yaml')).then(
      () => '',
      (error: { stderr: string }) => error.stderr,
    );
    expect(failure).toContain('The Pod "no-image" is invalid: spec.containers[0].image: Required value');
  });

  it('lists the simulated GPU nodes', async () => {
    const nodes = await kubectl('get', 'nodes', '-L', 'nvidia.com/gpu.product', '--no-headers');
    expect(nodes).toMatch(
      /sim-local-h100-0\s+Ready\s+<none>\s+\S+\s+v1\.32\.0-odc-sim\s+NVIDIA-H100-80GB-HBM3/,
    );
  });
});

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
        .template.spec.containers[0]!.image,
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

  it('allocates a NodePort Service its node port and cluster IP, keeps them on re-apply, refuses a taken port', async () => {
    const ssh = (name: string, nodePort?: number) =>
      [
        'apiVersion: v1',
        'kind: Service',
        `metadata: { name: ${name} }`,
        'spec:',
        '  type: NodePort',
        '  selector: { app: web }',
        `  ports: [{ name: ssh, port: 22${nodePort ? `, nodePort: ${nodePort}` : ''} }]`,
        '',
      ].join('\n');
    writeFileSync(join(work, 'ssh.yaml'), ssh('ssh'));
    expect(await kubectl('apply', '-f', join(work, 'ssh.yaml'))).toBe('service/ssh created\n');
    const allocated = await kubectl(
      'get',
      'service',
      'ssh',
      '-o',
      'jsonpath={.spec.ports[0].nodePort} {.spec.clusterIP}',
    );
    const [nodePort, clusterIP] = allocated.split(' ');
    expect(Number(nodePort)).toBeGreaterThanOrEqual(30000);
    expect(Number(nodePort)).toBeLessThanOrEqual(32767);
    expect(clusterIP).toMatch(/^10\.96\.\d+\.\d+$/);
    expect(await kubectl('apply', '-f', join(work, 'ssh.yaml'))).toBe('service/ssh unchanged\n');
    expect(await kubectl('apply', '--server-side', '-f', join(work, 'ssh.yaml'))).toBe(
      'service/ssh serverside-applied\n',
    );
    expect(
      await kubectl('get', 'service', 'ssh', '-o', 'jsonpath={.spec.ports[0].nodePort} {.spec.clusterIP}'),
    ).toBe(allocated);
    expect(await kubectl('get', 'service', 'ssh', '--no-headers')).toMatch(
      new RegExp(
        `^ssh\\s+NodePort\\s+${clusterIP!.replace(/\./g, '\\.')}\\s+<none>\\s+22:${nodePort}/TCP\\s+\\S+\\n$`,
      ),
    );

    writeFileSync(join(work, 'ssh-taken.yaml'), ssh('ssh-taken', Number(nodePort)));
    const failure = await kubectl('apply', '-f', join(work, 'ssh-taken.yaml')).then(
      () => '',
      (error: { stderr: string }) => error.stderr,
    );
    expect(failure).toContain(
      `The Service "ssh-taken" is invalid: spec.ports[0].nodePort: Invalid value: ${nodePort}: provided port is already allocated`,
    );
    expect(await kubectl('delete', 'service', 'ssh')).toBe('service "ssh" deleted\n');
    expect(await kubectl('apply', '-f', join(work, 'ssh-taken.yaml'))).toBe('service/ssh-taken created\n');
  });

  it('shows a snapshot’s VolumeSnapshotContent with the CSI snapshotter’s columns, by short name too', async () => {
    writeFileSync(
      join(work, 'snapshot.yaml'),
      [
        'apiVersion: v1',
        'kind: PersistentVolumeClaim',
        'metadata: { name: work }',
        'spec: { accessModes: [ReadWriteOnce], resources: { requests: { storage: 1Gi } } }',
        '---',
        'apiVersion: snapshot.storage.k8s.io/v1',
        'kind: VolumeSnapshot',
        'metadata: { name: work-snap }',
        'spec: { source: { persistentVolumeClaimName: work } }',
        '',
      ].join('\n'),
    );
    await kubectl('apply', '-f', join(work, 'snapshot.yaml'));
    let contents = '';
    for (let i = 0; i < 100 && !contents.includes('true'); i += 1) {
      contents = await kubectl('get', 'volumesnapshotcontents', '--no-headers');
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    expect(contents).toMatch(
      /^snapcontent-\S+\s+true\s+1073741824\s+Delete\s+sim\.csi\.odc\.dev\s+work-snap\s+\S+\n$/,
    );
    expect(await kubectl('get', 'vsc', '-o', 'name')).toMatch(
      /^volumesnapshotcontent\.snapshot\.storage\.k8s\.io\/snapcontent-/,
    );
    expect(await kubectl('get', 'vs', 'work-snap', '-o', 'jsonpath={.status.readyToUse}')).toBe('true');
  });

  it('lists the simulated GPU nodes', async () => {
    const nodes = await kubectl('get', 'nodes', '-L', 'nvidia.com/gpu.product', '--no-headers');
    expect(nodes).toMatch(
      /sim-local-h100-0\s+Ready\s+<none>\s+\S+\s+v1\.32\.0-odc-sim\s+NVIDIA-H100-80GB-HBM3/,
    );
    const wide = await kubectl('get', 'nodes', '-o', 'wide', '--no-headers');
    expect(wide).toMatch(/sim-local-h100-0\s+Ready\s+<none>\s+\S+\s+v1\.32\.0-odc-sim\s+10\.0\.0\.10\s/);
    expect(wide).toMatch(/sim-local-a100-1\s+Ready\s+<none>\s+\S+\s+v1\.32\.0-odc-sim\s+10\.1\.0\.11\s/);
    // A running pod's hostIP is its node's InternalIP (the Deployment applied above runs web pods).
    let running = '';
    for (let i = 0; i < 100 && !/^\S+ \S+$/.test(running); i += 1) {
      running = await kubectl(
        'get',
        'pods',
        '-l',
        'app=web',
        '-o',
        'jsonpath={.items[0].status.hostIP} {.items[0].spec.nodeName}',
      );
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    const [hostIP, node] = running.split(' ');
    expect(hostIP).toMatch(/^10\.\d+\.\d+\.\d+$/);
    expect(
      await kubectl(
        'get',
        'node',
        node!,
        '-o',
        'jsonpath={.status.addresses[?(@.type=="InternalIP")].address}',
      ),
    ).toBe(hostIP);
  });
});

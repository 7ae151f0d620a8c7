import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import type { DeploymentStatus } from '../../src/deployer/contract';
import { startTestApp, type TestApp } from '../support/app';
import { eventually } from '../support/eventually';
import {
  FAST_TIMINGS,
  h100Pool,
  itSimulatorOnly,
  KUBE_TARGET,
  startKubeTarget,
  type KubeClients,
  type KubeTarget,
} from '../support/simulator';
import { DEPLOYER_TOKEN, kubeconfigBase64, NAMESPACE, reservationSpec } from './fixtures';

/** A pass-through proxy in front of the simulated cluster that records the requests it forwards. */
async function countingProxy(
  target: string,
): Promise<{ url: string; seen: string[]; close(): Promise<void> }> {
  const seen: string[] = [];
  const upstream = new URL(target);
  const server: Server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    const forwarded = httpRequest(
      {
        host: upstream.hostname,
        port: upstream.port,
        path: req.url,
        method: req.method,
        headers: req.headers,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forwarded.on('error', () => res.destroy());
    req.pipe(forwarded);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('deployer: the SSH endpoint and Jupyter host of a deployment', () => {
  let target: KubeTarget;
  let proxy: Awaited<ReturnType<typeof countingProxy>> | undefined;
  let app: TestApp;
  let k: KubeClients;
  const authed = (req: request.Test) => req.set('authorization', `Bearer ${DEPLOYER_TOKEN}`);
  const api = () => request(app.runtime.deployer!.getHttpServer());
  const statusOf = async (id: string) =>
    (await authed(api().get(`/api/v1/deployments/${id}/status`)).expect(200)).body as DeploymentStatus;

  beforeAll(async () => {
    target = await startKubeTarget({ nodePools: [h100Pool(3)], timings: FAST_TIMINGS }, [NAMESPACE]);
    k = target.k;
    // The simulator speaks plain HTTP, so a proxy can count the deployer's requests; the real API server speaks TLS.
    proxy = KUBE_TARGET === 'simulator' ? await countingProxy(target.url) : undefined;
    app = await startTestApp({
      roles: 'deployer',
      env: {
        ODC_KUBECONFIG_BASE64: proxy ? kubeconfigBase64(proxy.url) : target.kubeconfigBase64,
        ODC_DEPLOYER_NAMESPACES: NAMESPACE,
        ODC_DEPLOYER_TOKEN: DEPLOYER_TOKEN,
      },
    });
  });

  afterAll(async () => {
    await app?.close();
    await proxy?.close();
    await target?.close();
  });

  /** The InternalIP of the node a deployment's pod runs on, read straight from the cluster. */
  const podNode = async (id: string) => {
    const pods = await k.core.listNamespacedPod({
      namespace: NAMESPACE,
      labelSelector: `odc.dev/external-id=${id}`,
    });
    const nodeName = pods.items[0]!.spec!.nodeName!;
    const node = await k.core.readNode({ name: nodeName });
    return {
      nodeName,
      internalIP: node.status!.addresses!.find((a) => a.type === 'InternalIP')!.address,
      hostIP: pods.items[0]!.status!.hostIP,
    };
  };

  it('reports ssh.node_port (the Service’s), ssh.host_ip (the pod’s node) and jupyter_host', async () => {
    await authed(api().post('/api/v1/deployments')).send(reservationSpec('res-ssh')).expect(201);
    const status = await eventually(
      () => statusOf('res-ssh'),
      (s) => s.pods.some((p) => p.ready),
    );
    const service = await k.core.readNamespacedService({ namespace: NAMESPACE, name: 'res-ssh' });
    const nodePort = service.spec!.ports!.find((p) => p.name === 'ssh')!.nodePort!;
    expect(nodePort).toBeGreaterThanOrEqual(30000);
    expect(nodePort).toBeLessThanOrEqual(32767);
    const { nodeName, internalIP, hostIP } = await podNode('res-ssh');
    expect(hostIP).toBe(internalIP);
    expect(status.ssh).toEqual({ node_port: nodePort, host_ip: internalIP, node: nodeName });
    expect(status.jupyter_host).toBe('res-ssh.gpu.example.com');

    // A repeated apply makes nothing new, and the node port stays. (An object a controller is still
    // changing, such as a claim a provisioner binds on the real tier, reads `configured` once: the
    // applies settle on `unchanged`.)
    const reapply = async () =>
      (await authed(api().post('/api/v1/deployments')).send(reservationSpec('res-ssh')).expect(200)).body
        .objects as { action: string }[];
    expect((await reapply()).map((o) => o.action)).not.toContain('created');
    expect((await statusOf('res-ssh')).ssh?.node_port).toBe(nodePort);
    await eventually(reapply, (objects) => objects.every((o) => o.action === 'unchanged'));
    expect((await statusOf('res-ssh')).ssh?.node_port).toBe(nodePort);
  });

  itSimulatorOnly('httpProxy')(
    'lists every deployment with its own endpoint, from one list call per kind',
    async () => {
      const spec = reservationSpec('res-plain');
      delete spec.ingress;
      await authed(api().post('/api/v1/deployments')).send(spec).expect(201);
      const listed = await eventually(
        async () => (await authed(api().get('/api/v1/deployments')).expect(200)).body as DeploymentStatus[],
        (list) => list.length === 2 && list.every((d) => d.pods.some((p) => p.ready)),
      );
      expect(listed.map((d) => d.external_id)).toEqual(['res-plain', 'res-ssh']);
      const [plain, ssh] = listed;
      expect(plain!.jupyter_host).toBeUndefined();
      expect(ssh!.jupyter_host).toBe('res-ssh.gpu.example.com');
      expect(plain!.ssh!.node_port).not.toBe(ssh!.ssh!.node_port);
      for (const deployment of listed) {
        const { nodeName, internalIP } = await podNode(deployment.external_id);
        expect(deployment.ssh).toMatchObject({ host_ip: internalIP, node: nodeName });
        expect(deployment.ssh!.node_port).toBeGreaterThanOrEqual(30000);
      }

      proxy!.seen.length = 0;
      await authed(api().get('/api/v1/deployments')).expect(200);
      const lists = proxy!.seen.map((line) => line.split('?')[0]).sort();
      expect(lists).toEqual(
        [
          `apps/v1/namespaces/${NAMESPACE}/deployments`,
          `apps/v1/namespaces/${NAMESPACE}/replicasets`,
          `networking.k8s.io/v1/namespaces/${NAMESPACE}/ingresses`,
          `v1/namespaces/${NAMESPACE}/events`,
          `v1/namespaces/${NAMESPACE}/pods`,
          `v1/namespaces/${NAMESPACE}/services`,
        ]
          .map((path) => `GET /${path.startsWith('v1/') ? 'api' : 'apis'}/${path}`)
          .sort(),
      );
    },
  );

  it('has no ssh while the Service has no node port (ClusterIP)', async () => {
    const spec = reservationSpec('res-internal');
    (spec.service!.spec as { type: string }).type = 'ClusterIP';
    await authed(api().post('/api/v1/deployments')).send(spec).expect(201);
    const status = await eventually(
      () => statusOf('res-internal'),
      (s) => s.pods.some((p) => p.ready),
    );
    expect(status.ssh).toBeUndefined();
    expect(status.jupyter_host).toBe('res-internal.gpu.example.com');
  });
});

import { PatchStrategy, setHeaderOptions, type V1Service } from '@kubernetes/client-node';
import { SimulatedCluster } from '../../src/simulator/cluster';
import { withDefaults } from '../../src/simulator/config';
import { eventually } from '../support/eventually';
import { FAST_TIMINGS, h100Pool } from '../support/simulator';
import { kubeClients, statusOf } from './kube';

const NS = 'default';

const service = (
  name: string,
  spec: Partial<NonNullable<V1Service['spec']>> = {},
  ports: NonNullable<V1Service['spec']>['ports'] = [{ name: 'ssh', port: 22 }],
): V1Service => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace: NS },
  spec: { type: 'NodePort', selector: { app: name }, ports, ...spec },
});

const inServiceCidr = /^10\.96\.\d{1,3}\.\d{1,3}$/;

describe('the simulator allocates what Kubernetes allocates: node ports, cluster IPs, node addresses', () => {
  let cluster: SimulatedCluster;
  let k: ReturnType<typeof kubeClients>;
  const apply = (object: V1Service, manager = 'odc-test') =>
    k.objects.patch(object, undefined, undefined, manager, true, PatchStrategy.ServerSideApply);
  const read = (name: string) => k.core.readNamespacedService({ name, namespace: NS });
  const nodePortOf = (svc: V1Service, index = 0) => svc.spec!.ports![index]!.nodePort!;
  const remove = async (name: string) => {
    await k.core.deleteNamespacedService({ name, namespace: NS });
  };

  beforeAll(async () => {
    cluster = await SimulatedCluster.start(
      withDefaults({
        nodePools: [h100Pool(2), { name: 'cpu', count: 2, cpu: '16', memory: '64Gi' }],
        timings: FAST_TIMINGS,
      }),
    );
    k = kubeClients(cluster.url);
  });

  afterAll(() => cluster.close());

  it('gives a NodePort Service a node port in 30000–32767 and a cluster IP; a re-apply keeps both', async () => {
    const created = await apply(service('ssh-a'));
    const nodePort = nodePortOf(created);
    expect(nodePort).toBeGreaterThanOrEqual(30000);
    expect(nodePort).toBeLessThanOrEqual(32767);
    expect(created.spec!.clusterIP).toMatch(inServiceCidr);
    expect(created.spec!.clusterIPs).toEqual([created.spec!.clusterIP]);

    const again = await apply(service('ssh-a'));
    expect(again.metadata!.resourceVersion).toBe(created.metadata!.resourceVersion);
    expect(nodePortOf(again)).toBe(nodePort);
    expect(again.spec!.clusterIP).toBe(created.spec!.clusterIP);
    // The allocated values are nobody's fields: the applier owns only what it sent.
    expect(JSON.stringify(again.metadata!.managedFields)).not.toContain('nodePort');

    // An apply that changes the Service (a second port) keeps the first port's node port.
    const twoPorts = await apply(
      service('ssh-a', {}, [
        { name: 'ssh', port: 22 },
        { name: 'jupyter', port: 8888 },
      ]),
    );
    expect(nodePortOf(twoPorts, 0)).toBe(nodePort);
    expect(nodePortOf(twoPorts, 1)).not.toBe(nodePort);
    expect(twoPorts.spec!.clusterIP).toBe(created.spec!.clusterIP);
    await remove('ssh-a');
  });

  it('keeps them across a merge patch that replaces the ports and a PUT that leaves them out', async () => {
    const created = await k.core.createNamespacedService({ namespace: NS, body: service('ssh-b') });
    const nodePort = nodePortOf(created);
    const patched = await k.core.patchNamespacedService(
      { name: 'ssh-b', namespace: NS, body: { spec: { ports: [{ name: 'ssh', port: 2222 }] } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    expect(patched.spec!.ports).toEqual([
      { name: 'ssh', port: 2222, nodePort, protocol: 'TCP', targetPort: 2222 },
    ]);
    const replaced = await k.core.replaceNamespacedService({
      name: 'ssh-b',
      namespace: NS,
      body: service('ssh-b'),
    });
    expect(nodePortOf(replaced)).toBe(nodePort);
    expect(replaced.spec!.clusterIP).toBe(created.spec!.clusterIP);

    const moved = await statusOf(
      k.core.patchNamespacedService(
        { name: 'ssh-b', namespace: NS, body: { spec: { clusterIP: '10.96.200.200' } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      ),
    );
    expect(moved).toMatchObject({ code: 422, reason: 'Invalid' });
    expect(moved.message).toContain('may not change once set');
    await remove('ssh-b');
  });

  it('refuses a node port another Service holds, or one out of range, with 422 Invalid; a delete frees it', async () => {
    const holder = await apply(service('ssh-c', {}, [{ name: 'ssh', port: 22, nodePort: 30022 }]));
    expect(nodePortOf(holder)).toBe(30022);

    const taken = await statusOf(
      k.core.createNamespacedService({
        namespace: NS,
        body: service('ssh-d', {}, [{ name: 'ssh', port: 22, nodePort: 30022 }]),
      }),
    );
    expect(taken).toMatchObject({
      code: 422,
      reason: 'Invalid',
      message:
        'Service "ssh-d" is invalid: spec.ports[0].nodePort: Invalid value: 30022: provided port is already allocated',
    });
    expect(taken.details?.causes).toEqual([
      {
        reason: 'FieldValueInvalid',
        message: 'Invalid value: 30022: provided port is already allocated',
        field: 'spec.ports[0].nodePort',
      },
    ]);
    const outOfRange = await statusOf(
      apply(service('ssh-d', {}, [{ name: 'ssh', port: 22, nodePort: 40000 }])),
    );
    expect(outOfRange).toMatchObject({ code: 422, reason: 'Invalid' });
    expect(outOfRange.message).toContain(
      'spec.ports[0].nodePort: Invalid value: 40000: provided port is not in the valid range. The range of valid ports is 30000-32767',
    );
    // A dry run shows the allocation and holds nothing.
    const dry = await k.core.createNamespacedService({
      namespace: NS,
      body: service('ssh-dry', {}, [{ name: 'ssh', port: 22, nodePort: 30023 }]),
      dryRun: 'All',
    });
    expect(dry.spec!.clusterIP).toMatch(inServiceCidr);
    await k.core.createNamespacedService({
      namespace: NS,
      body: service('ssh-e', {}, [{ name: 'ssh', port: 22, nodePort: 30023 }]),
    });

    await remove('ssh-c');
    const reused = await apply(service('ssh-d', {}, [{ name: 'ssh', port: 22, nodePort: 30022 }]));
    expect(nodePortOf(reused)).toBe(30022);
    await remove('ssh-d');
    await remove('ssh-e');
  });

  it('frees the ports of a deleted namespace’s Services, and of a Service turned ClusterIP', async () => {
    await k.core.createNamespace({ body: { metadata: { name: 'doomed' } } });
    await k.core.createNamespacedService({
      namespace: 'doomed',
      body: {
        ...service('gone', {}, [{ name: 'ssh', port: 22, nodePort: 30100 }]),
        metadata: { name: 'gone' },
      },
    });
    await k.core.deleteNamespace({ name: 'doomed' });
    const reused = await apply(service('ssh-f', {}, [{ name: 'ssh', port: 22, nodePort: 30100 }]));
    expect(nodePortOf(reused)).toBe(30100);
    expect(nodePortOf(await read('ssh-f'))).toBe(30100);

    const clusterIP = await apply(service('ssh-f', { type: 'ClusterIP' }, [{ name: 'ssh', port: 22 }]));
    expect(clusterIP.spec!.ports).toEqual([{ name: 'ssh', port: 22, protocol: 'TCP', targetPort: 22 }]);
    const forbidden = await statusOf(
      apply(service('ssh-g', { type: 'ClusterIP' }, [{ name: 'ssh', port: 22, nodePort: 30100 }])),
    );
    expect(forbidden).toMatchObject({ code: 422, reason: 'Invalid' });
    expect(forbidden.message).toContain(
      "spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'",
    );
    const again = await apply(service('ssh-g', {}, [{ name: 'ssh', port: 22, nodePort: 30100 }]));
    expect(nodePortOf(again)).toBe(30100);
    await remove('ssh-f');
    await remove('ssh-g');
  });

  it('cluster IPs: unique, explicit ones checked, none for headless Services', async () => {
    const a = await apply(service('ip-a', { type: 'ClusterIP' }, [{ port: 80 }]));
    const b = await apply(service('ip-b', { type: 'ClusterIP' }, [{ port: 80 }]));
    expect(a.spec!.clusterIP).not.toBe(b.spec!.clusterIP);
    const taken = await statusOf(
      apply(service('ip-c', { type: 'ClusterIP', clusterIP: a.spec!.clusterIP }, [{ port: 80 }])),
    );
    expect(taken).toMatchObject({ code: 422, reason: 'Invalid' });
    expect(taken.message).toContain(
      `spec.clusterIPs: Invalid value: []string{"${a.spec!.clusterIP}"}: failed to allocate IP ${a.spec!.clusterIP}: provided IP is already allocated`,
    );
    const outside = await statusOf(
      apply(service('ip-c', { type: 'ClusterIP', clusterIP: '192.168.0.1' }, [{ port: 80 }])),
    );
    expect(outside.message).toContain('is not in the valid range. The range of valid IPs is 10.96.0.0/16');
    const headless = await apply(service('ip-c', { type: 'ClusterIP', clusterIP: 'None' }, [{ port: 80 }]));
    expect(headless.spec).toMatchObject({ clusterIP: 'None', clusterIPs: ['None'] });
  });

  it('gives nodes an InternalIP and a Hostname, and a pod its node’s address as hostIP', async () => {
    const nodes = (await k.core.listNode()).items;
    const internal = nodes.map((n) => n.status!.addresses!.find((a) => a.type === 'InternalIP')!.address);
    expect(new Set(internal).size).toBe(nodes.length);
    expect(internal.sort()).toEqual(['10.0.0.10', '10.0.0.11', '10.1.0.10', '10.1.0.11']);
    for (const node of nodes) {
      expect(node.status!.addresses).toContainEqual({ type: 'Hostname', address: node.metadata!.name });
    }

    for (const [name, pool] of [
      ['on-gpu', 'h100'],
      ['on-cpu', 'cpu'],
    ] as const) {
      await k.core.createNamespacedPod({
        namespace: NS,
        body: {
          metadata: { name },
          spec: {
            containers: [{ name: 'main', image: 'busybox' }],
            nodeSelector: { 'odc.dev/node-pool': pool },
          },
        },
      });
    }
    const pods = await eventually(
      () => k.core.listNamespacedPod({ namespace: NS }),
      (list) => list.items.filter((p) => p.status?.phase === 'Running').length === 2,
    );
    for (const pod of pods.items) {
      const node = nodes.find((n) => n.metadata!.name === pod.spec!.nodeName)!;
      const address = node.status!.addresses!.find((a) => a.type === 'InternalIP')!.address;
      expect(pod.status!.hostIP).toBe(address);
      expect(pod.status!.hostIPs).toEqual([{ ip: address }]);
    }
    expect(new Set(pods.items.map((p) => p.status!.hostIP)).size).toBe(2);
  });
});

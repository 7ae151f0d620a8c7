import type { KubernetesObject } from '@kubernetes/client-node';
import { loadAppConfig } from '../app/config';
import { LABELS, MANAGED_BY, type AppliedObject, type Manifest } from './contract';
import { DeployerSettings } from './deployer-settings';
import { DeployerService } from './deployer.service';
import type { KubeClient } from './kube/kube-client';
import { sampleReservationSpec } from './sample-spec';

type Event = Awaited<ReturnType<KubeClient['listWarningEvents']>>[number] & { namespace: string };

/**
 * A Kubernetes of plain arrays that counts the calls made of it: list by kind and namespace (the
 * label selector's `external-id in (…)` honoured), Warning events by namespace.
 */
class CountingKube {
  readonly objects: (KubernetesObject & { kind: string })[] = [];
  readonly events: Event[] = [];
  readonly lists: string[] = [];
  readonly eventLists: string[] = [];

  list(_apiVersion: string, kind: string, namespace: string, selector: string): Promise<KubernetesObject[]> {
    this.lists.push(`${kind}/${namespace}`);
    const only = /in \(([^)]*)\)/.exec(selector)?.[1]!.split(',');
    return Promise.resolve(
      this.objects.filter(
        (o) =>
          o.kind === kind &&
          o.metadata?.namespace === namespace &&
          (!only || only.includes(o.metadata.labels?.[LABELS.externalId] ?? '')),
      ),
    );
  }

  listWarningEvents(namespace: string): Promise<Event[]> {
    this.eventLists.push(namespace);
    return Promise.resolve(this.events.filter((e) => e.namespace === namespace));
  }

  /** A deployment's Deployment, ReplicaSet, pod and Service, with a warning on its pod. */
  addDeployment(id: string, namespace: string, warnings = 1): void {
    const metadata = (name: string) => ({
      name,
      namespace,
      labels: { [LABELS.externalId]: id, [LABELS.managedBy]: MANAGED_BY },
    });
    this.objects.push(
      { kind: 'Deployment', metadata: metadata(id) },
      { kind: 'ReplicaSet', metadata: metadata(`${id}-5d8f7c9b4`) },
      {
        kind: 'Pod',
        metadata: metadata(`${id}-pod`),
        status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] },
      } as KubernetesObject & { kind: string },
      {
        kind: 'Service',
        metadata: metadata(id),
        spec: { ports: [{ name: 'ssh', port: 22, nodePort: 30000 + this.objects.length }] },
      } as KubernetesObject & { kind: string },
    );
    for (let i = 0; i < warnings; i++) {
      this.events.push({
        namespace,
        type: 'Warning',
        reason: `Unlucky${i}`,
        message: `${id} pod warning ${i}`,
        involvedObject: { kind: 'Pod', name: `${id}-pod` },
        lastTimestamp: new Date(Date.UTC(2026, 0, 1, 0, i)).toISOString(),
      });
    }
  }
}

function deployerOn(kube: CountingKube, namespaces: string[]): DeployerService {
  return new DeployerService(
    kube as unknown as KubeClient,
    {
      namespaces,
      gpuLabel: 'nvidia.com/gpu.product',
      policy: {} as DeployerSettings['policy'],
    } as DeployerSettings,
  );
}

describe('DeployerService.listDeployments', () => {
  it('lists each kind and the Warning events once per namespace per call, however many deployments it names', async () => {
    const kube = new CountingKube();
    const ids = Array.from({ length: 100 }, (_, i) => `res-${String(i).padStart(3, '0')}`);
    ids.forEach((id, i) => kube.addDeployment(id, i % 2 === 0 ? 'team-a' : 'team-b'));
    const statuses = await deployerOn(kube, ['team-a', 'team-b']).listDeployments(ids);

    expect(statuses.map((s) => s.external_id)).toEqual(ids);
    expect(kube.eventLists.sort()).toEqual(['team-a', 'team-b']);
    // Deployments, ReplicaSets, pods, Services, Ingresses: one list of each per namespace.
    expect(kube.lists.sort()).toEqual(
      ['Deployment', 'Ingress', 'Pod', 'ReplicaSet', 'Service'].flatMap((kind) => [
        `${kind}/team-a`,
        `${kind}/team-b`,
      ]),
    );
  });

  it('gives each deployment the warnings of its own objects only, and no status to ids with no workload', async () => {
    const kube = new CountingKube();
    kube.addDeployment('res-a', 'team-a', 2);
    kube.addDeployment('res-b', 'team-a', 0);
    kube.addDeployment('res-c', 'team-a', 1);
    kube.events.push(
      {
        namespace: 'team-a',
        type: 'Warning',
        reason: 'FailedCreate',
        message: 'quota',
        involvedObject: { kind: 'ReplicaSet', name: 'res-b-5d8f7c9b4' },
      },
      {
        namespace: 'team-a',
        type: 'Warning',
        reason: 'NotOurs',
        message: 'an object of no deployment',
        involvedObject: { kind: 'Pod', name: 'stranger' },
      },
      {
        namespace: 'team-a',
        type: 'Warning',
        reason: 'ServiceTrouble',
        message: 'not a workload object',
        involvedObject: { kind: 'Service', name: 'res-c' },
      },
    );
    const statuses = await deployerOn(kube, ['team-a']).listDeployments([
      'res-c',
      'res-a',
      'res-b',
      'res-gone',
    ]);

    expect(statuses.map((s) => [s.external_id, s.warnings.map((w) => w.reason)])).toEqual([
      ['res-a', ['Unlucky0', 'Unlucky1']],
      ['res-b', ['FailedCreate']],
      ['res-c', ['Unlucky0']],
    ]);
    expect(statuses[0]).toMatchObject({
      exists: true,
      pods: [{ name: 'res-a-pod', ready: true }],
      ssh: { node_port: expect.any(Number) as number },
    });
    expect(statuses[0]!.warnings[0]).toEqual({
      reason: 'Unlucky0',
      message: 'res-a pod warning 0',
      object: 'Pod/res-a-pod',
      at: '2026-01-01T00:00:00.000Z',
    });
  });

  it('answers thousands of deployments with thousands of warnings in one pass (a hundred is the wire’s chunk)', async () => {
    const kube = new CountingKube();
    const ids = Array.from({ length: 3_000 }, (_, i) => `res-${String(i).padStart(4, '0')}`);
    ids.forEach((id) => kube.addDeployment(id, 'team-a', 2));
    const statuses = await deployerOn(kube, ['team-a']).listDeployments();

    expect(statuses).toHaveLength(3_000);
    expect(
      statuses.every((s, i) => s.warnings.length === 2 && s.warnings[0]!.message.startsWith(ids[i]!)),
    ).toBe(true);
    expect(kube.eventLists).toEqual(['team-a']);
  });
});

/**
 * A Kubernetes of one map of objects that counts the calls made of it, for applies: read, apply
 * (stores the manifest), delete, list (by kind and namespace, honouring `external-id=`).
 */
class ObjectsKube {
  readonly objects = new Map<string, KubernetesObject>();
  readonly calls: string[] = [];

  private key(o: { kind?: string; metadata?: { namespace?: string; name?: string } }): string {
    return `${o.kind}/${o.metadata?.namespace ?? ''}/${o.metadata?.name}`;
  }

  read(ref: Manifest): Promise<KubernetesObject | undefined> {
    this.calls.push(`read ${ref.kind}`);
    const found = this.objects.get(this.key(ref));
    return Promise.resolve(found && structuredClone(found));
  }

  apply(manifest: Manifest, before: KubernetesObject | undefined): Promise<AppliedObject> {
    this.calls.push(`apply ${manifest.kind}`);
    this.objects.set(this.key(manifest), structuredClone(manifest));
    const same = before !== undefined && JSON.stringify(before) === JSON.stringify(manifest);
    return Promise.resolve({
      kind: manifest.kind,
      name: manifest.metadata.name,
      namespace: manifest.metadata.namespace,
      action: before === undefined ? 'created' : same ? 'unchanged' : 'configured',
    });
  }

  delete(object: KubernetesObject): Promise<void> {
    this.calls.push(`delete ${object.kind}`);
    this.objects.delete(this.key(object));
    return Promise.resolve();
  }

  list(
    _apiVersion: string,
    kind: string,
    namespace: string | undefined,
    selector: string,
  ): Promise<KubernetesObject[]> {
    this.calls.push(`list ${kind}`);
    const id = new RegExp(`${LABELS.externalId}=([^,]+)`).exec(selector)?.[1];
    return Promise.resolve(
      [...this.objects.values()].filter(
        (o) =>
          o.kind === kind &&
          (namespace === undefined || o.metadata?.namespace === namespace) &&
          (!id || o.metadata?.labels?.[LABELS.externalId] === id),
      ),
    );
  }

  take(): string[] {
    return this.calls.splice(0);
  }
}

describe('DeployerService.applyDeployment pruning', () => {
  const NS = 'gpu-dev';
  const spec = () => {
    const made = sampleReservationSpec('res-1', NS);
    delete made.persistent_volume_claims;
    return made;
  };
  let kube: ObjectsKube;
  let deployer: DeployerService;

  beforeEach(() => {
    kube = new ObjectsKube();
    deployer = new DeployerService(
      kube as unknown as KubeClient,
      new DeployerSettings(loadAppConfig({ ODC_DEPLOYER_NAMESPACES: NS })),
    );
  });

  it('re-applies with a read and an apply per object, and no list: every object names its spec’s objects', async () => {
    await deployer.applyDeployment(spec());
    const objects = spec().config_maps!.length + 4; // Service, Ingress, PDB, Deployment
    expect(kube.take()).toHaveLength(2 * objects);
    const record = JSON.parse(
      kube.objects.get(`Deployment/${NS}/res-1`)!.metadata!.annotations!['odc.dev/spec-objects']!,
    ) as string[][];
    expect(record.map(([, kind, , name]) => `${kind}/${name}`).sort()).toEqual(
      [...kube.objects.values()].map((o) => `${o.kind}/${o.metadata!.name}`).sort(),
    );

    const again = await deployer.applyDeployment(spec());
    const calls = kube.take();
    expect(calls.filter((c) => c.startsWith('list'))).toEqual([]);
    expect(calls).toHaveLength(2 * objects);
    expect(again.result.objects.every((o) => o.action === 'unchanged')).toBe(true);
  });

  it('prunes what the earlier spec had and this one has not, reading only that', async () => {
    await deployer.applyDeployment(spec());
    kube.take();
    const withoutJupyter = spec();
    delete withoutJupyter.ingress;
    const applied = await deployer.applyDeployment(withoutJupyter);

    expect(applied.result.objects.filter((o) => o.action === 'pruned')).toEqual([
      { kind: 'Ingress', name: 'res-1', namespace: NS, action: 'pruned' },
    ]);
    expect([...kube.objects.keys()].some((key) => key.startsWith('Ingress/'))).toBe(false);
    const calls = kube.take();
    expect(calls.filter((c) => !c.startsWith('read') && !c.startsWith('apply'))).toEqual(['delete Ingress']);
    // Its objects are reported unchanged: a new record alone is bookkeeping.
    expect(applied.result.objects.filter((o) => o.action !== 'pruned').map((o) => o.action)).not.toContain(
      'configured',
    );
  });

  it('leaves an earlier object that is no longer this deployment’s', async () => {
    await deployer.applyDeployment(spec());
    const ingress = kube.objects.get(`Ingress/${NS}/res-1`)!;
    ingress.metadata!.labels![LABELS.externalId] = 'res-2'; // taken over since, somehow
    const withoutJupyter = spec();
    delete withoutJupyter.ingress;
    const applied = await deployer.applyDeployment(withoutJupyter);

    expect(applied.result.objects.filter((o) => o.action === 'pruned')).toEqual([]);
    expect(kube.objects.has(`Ingress/${NS}/res-1`)).toBe(true);
  });

  it('lists every managed kind to prune when an existing object carries no record (applied before records)', async () => {
    await deployer.applyDeployment(spec());
    for (const object of kube.objects.values()) {
      delete object.metadata!.annotations!['odc.dev/spec-objects'];
    }
    kube.take();
    const withoutJupyter = spec();
    delete withoutJupyter.ingress;
    const applied = await deployer.applyDeployment(withoutJupyter);

    expect(applied.result.objects.filter((o) => o.action === 'pruned').map((o) => o.kind)).toEqual([
      'Ingress',
    ]);
    expect(kube.take().filter((c) => c.startsWith('list')).length).toBeGreaterThan(5);
  });
});

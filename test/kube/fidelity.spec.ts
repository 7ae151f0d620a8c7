/**
 * Simulator fidelity: the same scenarios against the simulator and the real API server of the kube
 * tier, and what a client sees of each — status codes, Status bodies, the objects as read back —
 * compared after the run-to-run noise is taken out (uids, timestamps, resourceVersions, generated
 * names, allocated IPs, node names where the schedulers legitimately choose differently). What
 * still differs is either fixed in the simulator or listed, with why it is kept, in
 * docs/simulator.md ("Known differences from a real API server"); each such difference is taken out
 * here by a named step that says so, so any other drift fails.
 *
 * Runs only in the real tier (`npm run test:kube`); the simulator is started here, with the same
 * fleet as the tier's (the demo fleet, `sim-local-…` nodes).
 */
import { kubeConfigForServer } from '../../src/deployer/kube/kube-access';
import { sampleReservationSpec } from '../../src/deployer/sample-spec';
import type { Manifest } from '../../src/deployer/contract';
import { SimulatedCluster } from '../../src/simulator/cluster';
import { DEMO_CLUSTER } from '../../src/simulator/config';
import {
  FAST_TIMINGS,
  KUBE_TARGET,
  NAMESPACE_LABELS,
  realKubeconfigPath,
  uniqueName,
} from '../support/simulator';
import { kubeconfigOf, normalise, Side, until, without, type Answer, type Json } from './fidelity-support';

const describeReal = KUBE_TARGET === 'real' ? describe : describe.skip;

/** One namespace name on both sides, so messages that name it compare as they are. */
const NS = uniqueName('fidelity');
const APPLY = 'application/apply-patch+yaml';
const MERGE = 'application/merge-patch+json';
const H100 = 'NVIDIA-H100-80GB-HBM3';
const FIELD_MANAGER = 'fidelity';

/** Managers of the components themselves: their entries are a known difference (controllers' writes). */
const COMPONENT_MANAGERS = new Set([
  'kube-controller-manager',
  'kube-scheduler',
  'kwok',
  'csi-provisioner',
  'csi-snapshotter',
  'snapshot-controller',
]);

// ---- known differences (docs/simulator.md, "Known differences from a real API server") ----------

/** The simulator's controllers and scheduler write without managedFields entries of their own. */
function withoutComponentManagers<T>(object: T): T {
  const copy = structuredClone(object) as { metadata?: { managedFields?: { manager: string }[] } };
  const fields = copy.metadata?.managedFields;
  if (fields) {
    copy.metadata!.managedFields = fields.filter((entry) => !COMPONENT_MANAGERS.has(entry.manager));
    if (copy.metadata!.managedFields.length === 0) {
      delete copy.metadata!.managedFields;
    }
  }
  return copy as T;
}

/**
 * No ServiceAccount token controller or root-CA publisher in the simulator: a pod gets no
 * `kube-api-access-*` projected volume (nor its mount). Everything else the admission plugins add
 * to a pod, it adds.
 */
function withoutTokenVolume<T>(pod: T): T {
  const copy = structuredClone(pod) as {
    spec?: { volumes?: { name: string }[]; containers?: { volumeMounts?: { name: string }[] }[] };
  };
  const ours = (name: string) => name.startsWith('kube-api-access-');
  if (copy.spec?.volumes) {
    copy.spec.volumes = copy.spec.volumes.filter((v) => !ours(v.name));
    if (copy.spec.volumes.length === 0) {
      delete copy.spec.volumes;
    }
  }
  for (const container of copy.spec?.containers ?? []) {
    if (container.volumeMounts) {
      container.volumeMounts = container.volumeMounts.filter((m) => !ours(m.name));
      if (container.volumeMounts.length === 0) {
        delete container.volumeMounts;
      }
    }
  }
  return copy as T;
}

/**
 * kwok and the simulated kubelets are both stand-ins for a kubelet: what a container status holds
 * beyond its name, image, readiness, restarts and state differs between them (imageID, started,
 * lastState), and so does the order of the pod's conditions. Compared: those, and conditions by type.
 */
function kubeletView(status: Json): Json {
  if (!status) {
    return status;
  }
  const view = structuredClone(status);
  if (Array.isArray(view.conditions)) {
    view.conditions = [...view.conditions].sort((a: Json, b: Json) => (a.type < b.type ? -1 : 1));
  }
  if (Array.isArray(view.containerStatuses)) {
    view.containerStatuses = view.containerStatuses.map((c: Json) => ({
      name: c.name,
      image: c.image,
      ready: c.ready,
      restartCount: c.restartCount,
      state: Object.keys(c.state ?? {}),
    }));
  }
  return view;
}

/** A pod as both sides must show it (the two differences above taken out). */
function podView(pod: Json): Json {
  const view = withoutTokenVolume(withoutComponentManagers(pod));
  return { ...view, status: kubeletView(view.status) };
}

// ---- the spec ------------------------------------------------------------------------------------

describeReal('simulator fidelity: what a client sees of the simulator and of a real API server', () => {
  let cluster: SimulatedCluster;
  let sim: Side;
  let real: Side;

  beforeAll(async () => {
    cluster = await SimulatedCluster.start({ ...DEMO_CLUSTER, timings: FAST_TIMINGS });
    sim = new Side('simulator', kubeConfigForServer(cluster.url));
    real = new Side('real', kubeconfigOf(realKubeconfigPath()));
    for (const side of [sim, real]) {
      const created = await side.request('POST', '/api/v1/namespaces', {
        body: { metadata: { name: NS, labels: { ...NAMESPACE_LABELS } } },
      });
      expect(created.status).toBe(201);
    }
    // Pods need their namespace's default ServiceAccount on the real API server.
    await until('the default ServiceAccount', async () =>
      (await real.request('GET', `/api/v1/namespaces/${NS}/serviceaccounts/default`)).status === 200
        ? true
        : undefined,
    );
  }, 60_000);

  afterAll(async () => {
    await real?.request('DELETE', `/api/v1/namespaces/${NS}`);
    await until(
      `namespace ${NS} to go`,
      async () => ((await real.request('GET', `/api/v1/namespaces/${NS}`)).status === 404 ? true : undefined),
      60_000,
    ).catch(() => undefined);
    await sim?.close();
    await real?.close();
    await cluster?.close();
  }, 90_000);

  /** Runs a scenario on both sides at once: [simulator, real]. */
  function onBoth<T>(scenario: (side: Side) => Promise<T>): Promise<[T, T]> {
    return Promise.all([scenario(sim), scenario(real)]);
  }

  const path = (rest: string) => rest.replace(/NS/g, NS);

  /** Waits until a Deployment's controller has caught up with it (and its pods are ready). */
  async function settled(side: Side, name: string, replicas: number): Promise<Json> {
    return until(`deployment ${name} on the ${side.name} side`, async () => {
      const { body } = await side.request('GET', path(`/apis/apps/v1/namespaces/NS/deployments/${name}`));
      return body.status?.observedGeneration === body.metadata?.generation &&
        (body.status?.readyReplicas ?? 0) === replicas &&
        (body.status?.replicas ?? 0) === replicas &&
        body.metadata?.annotations?.['deployment.kubernetes.io/revision']
        ? body
        : undefined;
    });
  }

  /** Generated names (ReplicaSets' template hashes, pods' suffixes, events' ids) made comparable. */
  function namer() {
    const known = new Map<string, string>();
    return {
      as(actual: string, placeholder: string) {
        known.set(actual, placeholder);
      },
      replace: (text: string) => {
        let out = text;
        for (const [actual, placeholder] of [...known].sort(([a], [b]) => b.length - a.length)) {
          out = out.split(actual).join(placeholder);
        }
        return out.replace(/^(.+)\.[0-9a-f]{16}$/, '$1.<event>');
      },
    };
  }

  describe('server-side apply', () => {
    const configMap = (data: Record<string, string>) => ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'applied', namespace: NS, labels: { app: 'fidelity' } },
      data,
    });
    const applyPath = (manager: string, force: boolean) =>
      path(`/api/v1/namespaces/NS/configmaps/applied?fieldManager=${manager}${force ? '&force=true' : ''}`);

    it('creates (201), re-applies a changed field (200), refuses a conflicting manager (409) unless forced', async () => {
      const [onSim, onReal] = await onBoth(async (side) => {
        const steps: Answer[] = [];
        steps.push(
          await side.request('PATCH', applyPath(FIELD_MANAGER, true), {
            body: configMap({ a: '1', b: '2' }),
            contentType: APPLY,
          }),
        );
        // The same manager changes one value and drops a key it owned: the key goes.
        steps.push(
          await side.request('PATCH', applyPath(FIELD_MANAGER, true), {
            body: configMap({ a: '3' }),
            contentType: APPLY,
          }),
        );
        // Another manager changes a field the first owns: a conflict, then taken over by force.
        steps.push(
          await side.request('PATCH', applyPath('other', false), {
            body: configMap({ a: '4' }),
            contentType: APPLY,
          }),
        );
        steps.push(
          await side.request('PATCH', applyPath('other', true), {
            body: configMap({ a: '4' }),
            contentType: APPLY,
          }),
        );
        // A manager that wrote with an update (merge patch) is named with its version and time.
        steps.push(
          await side.request('PATCH', path('/api/v1/namespaces/NS/configmaps/applied?fieldManager=editor'), {
            body: { data: { c: '5' } },
            contentType: MERGE,
          }),
        );
        steps.push(
          await side.request('PATCH', applyPath(FIELD_MANAGER, false), {
            body: configMap({ a: '3', c: '6' }),
            contentType: APPLY,
          }),
        );
        // No field manager; a content type no patch has.
        steps.push(
          await side.request('PATCH', path('/api/v1/namespaces/NS/configmaps/applied'), {
            body: configMap({}),
            contentType: APPLY,
          }),
        );
        steps.push(
          await side.request('PATCH', path('/api/v1/namespaces/NS/configmaps/applied'), {
            body: { data: {} },
            contentType: 'text/plain',
          }),
        );
        return steps;
      });
      expect(onSim.map((s) => s.status)).toEqual([201, 200, 409, 200, 200, 409, 422, 415]);
      // kube-apiserver lists the causes of a conflict in no set order (its message is sorted).
      const causesSorted = (steps: Answer[]) =>
        steps.map((step) =>
          step.body?.details?.causes
            ? {
                ...step,
                body: {
                  ...step.body,
                  details: {
                    ...step.body.details,
                    causes: [...step.body.details.causes].sort((a: Json, b: Json) =>
                      a.field.localeCompare(b.field),
                    ),
                  },
                },
              }
            : step,
        );
      expect(normalise(causesSorted(onSim))).toEqual(normalise(causesSorted(onReal)));
    });

    it("applies a reservation's objects as ODC's deployer sends them: created, unchanged, configured", async () => {
      const spec = sampleReservationSpec('apply', NS);
      const manifests = [
        ...spec.config_maps!,
        spec.service!,
        spec.deployment!,
        spec.pod_disruption_budget!,
        spec.ingress!,
      ] as Manifest[];
      const changed = structuredClone(spec.deployment!) as Json;
      changed.spec.template.spec.containers[0].image = 'pytorch:3';
      const [onSim, onReal] = await onBoth(async (side) => {
        const actions: string[] = [];
        const applyAll = async (list: Manifest[]) => {
          for (const manifest of list) {
            const before = await side.deployer.read(manifest);
            actions.push((await side.deployer.apply(manifest, before)).action);
          }
        };
        await applyAll(manifests);
        await settled(side, 'apply', 1);
        await applyAll(manifests);
        await applyAll([changed]);
        await settled(side, 'apply', 1);
        const objects = [];
        for (const manifest of manifests) {
          objects.push(await side.deployer.read(manifest));
        }
        const names = namer();
        const sets = (
          await side.request('GET', path('/apis/apps/v1/namespaces/NS/replicasets?labelSelector=app%3Dapply'))
        ).body.items as Json[];
        for (const rs of sets) {
          names.as(
            rs.metadata.name,
            `apply-<rs-${rs.metadata.annotations['deployment.kubernetes.io/revision']}>`,
          );
          names.as(
            rs.metadata.labels['pod-template-hash'],
            `<hash-${rs.metadata.annotations['deployment.kubernetes.io/revision']}>`,
          );
        }
        return {
          actions,
          objects: normalise(objects.map(withoutComponentManagers), names.replace),
          replicaSets: normalise(
            sets.map(withoutComponentManagers).sort((a, b) => revisionOf(a) - revisionOf(b)),
            names.replace,
          ),
        };
      });
      expect(onSim.actions).toEqual([
        ...manifests.map(() => 'created'),
        ...manifests.map(() => 'unchanged'),
        'configured',
      ]);
      expect(onSim.actions).toEqual(onReal.actions);
      // Node ports are allocated: which one differs.
      const ports = (objects: Json[]) =>
        objects.map((o: Json) =>
          o.kind === 'Service'
            ? {
                ...o,
                spec: { ...o.spec, ports: o.spec.ports.map((p: Json) => ({ ...p, nodePort: '<port>' })) },
              }
            : o,
        );
      expect(ports(onSim.objects as Json[])).toEqual(ports(onReal.objects as Json[]));
      expect(onSim.replicaSets).toEqual(onReal.replicaSets);
    });
  });

  describe('invalid objects', () => {
    const post = (side: Side, rest: string, body: unknown) => side.request('POST', path(rest), { body });

    it('are refused with the same code, reason, message and causes', async () => {
      const [onSim, onReal] = await onBoth(async (side) => [
        // 422 Invalid, one cause and several.
        await post(side, '/api/v1/namespaces/NS/configmaps', { metadata: { name: 'Bad_Name' } }),
        await post(side, '/api/v1/namespaces/NS/configmaps', { metadata: {} }),
        await post(side, '/api/v1/namespaces/NS/services', {
          metadata: { name: 'Bad.Service' },
          spec: { ports: [{ port: 22 }] },
        }),
        await post(side, '/api/v1/namespaces/NS/pods', {
          metadata: { name: 'no-image' },
          spec: { containers: [{ name: 'dev' }] },
        }),
        await post(side, '/apis/apps/v1/namespaces/NS/deployments', {
          metadata: { name: 'mismatch' },
          spec: {
            selector: { matchLabels: { app: 'a' } },
            template: {
              metadata: { labels: { app: 'b' } },
              spec: { containers: [{ name: 'c', image: 'x' }] },
            },
          },
        }),
        await post(side, '/apis/rbac.authorization.k8s.io/v1/namespaces/NS/roles', {
          metadata: { name: 'no-resources' },
          rules: [{ verbs: ['get'] }],
        }),
        // 400: not decodable into the kind's Go type.
        await post(side, '/api/v1/namespaces/NS/services', {
          metadata: { name: 'port-name' },
          spec: { ports: [{ name: 'ssh', port: 'twenty-two' }] },
        }),
        await post(side, '/api/v1/namespaces/NS/pods', {
          metadata: { name: 'bad-quantity' },
          spec: { containers: [{ name: 'c', image: 'x', resources: { limits: { cpu: 'lots' } } }] },
        }),
        // 400: the body names another namespace than the URL.
        await post(side, '/api/v1/namespaces/NS/configmaps', {
          metadata: { name: 'elsewhere', namespace: 'default-other' },
        }),
        // 500 from server-side apply of a wrongly typed value (kubernetes/kubernetes#139253).
        await side.request(
          'PATCH',
          path(`/api/v1/namespaces/NS/services/typed?fieldManager=${FIELD_MANAGER}`),
          {
            body: {
              apiVersion: 'v1',
              kind: 'Service',
              metadata: { name: 'typed', namespace: NS },
              spec: { ports: [{ name: 'ssh', port: 'twenty-two' }] },
            },
            contentType: APPLY,
          },
        ),
      ]);
      expect(onSim.map((s) => s.status)).toEqual([422, 422, 422, 422, 422, 422, 400, 400, 400, 500]);
      expect(onSim).toEqual(onReal);
    });

    it('a custom resource without its kind or version, or of another kind; an apply of another type', async () => {
      const snapshot = {
        metadata: { name: 'typeless' },
        spec: { source: { persistentVolumeClaimName: 'x' } },
      };
      const snapshots = '/apis/snapshot.storage.k8s.io/v1/namespaces/NS/volumesnapshots';
      const apply = (side: Side, rest: string, body: object) =>
        side.request('PATCH', path(`${rest}?fieldManager=${FIELD_MANAGER}`), { body, contentType: APPLY });
      const [onSim, onReal] = await onBoth(async (side) => [
        await post(side, snapshots, snapshot),
        await post(side, snapshots, { kind: 'VolumeSnapshot', ...snapshot }),
        await post(side, snapshots, {
          apiVersion: 'snapshot.storage.k8s.io/v1beta1',
          kind: 'VolumeSnapshot',
          ...snapshot,
        }),
        await post(side, snapshots, { apiVersion: 'snapshot.storage.k8s.io/v1', kind: 'Pod', ...snapshot }),
        await side.request('PUT', path(`${snapshots}/typeless`), { body: snapshot }),
        await apply(side, '/api/v1/namespaces/NS/configmaps/typeless', { metadata: { name: 'typeless' } }),
        await apply(side, '/api/v1/namespaces/NS/configmaps/typeless', {
          kind: 'ConfigMap',
          metadata: { name: 'typeless' },
        }),
        await apply(side, '/apis/apps/v1/namespaces/NS/deployments/typeless', {
          apiVersion: 'v1',
          kind: 'Deployment',
          metadata: { name: 'typeless' },
        }),
        await apply(side, `${snapshots}/typeless`, {
          apiVersion: 'a/b/c',
          kind: 'VolumeSnapshot',
          ...snapshot,
        }),
      ]);
      expect(onSim.map((s) => s.status)).toEqual([400, 400, 400, 422, 400, 400, 400, 400, 400]);
      expect(onSim).toEqual(onReal);
    });
  });

  describe('deletion', () => {
    const deployment = (name: string) => ({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace: NS },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: name } },
        template: {
          metadata: { labels: { app: name } },
          spec: {
            containers: [{ name: 'c', image: 'busybox:1' }],
            nodeSelector: { 'odc.dev/node-pool': 'cpu' },
          },
        },
      },
    });

    it.each(['Foreground', 'Background', 'Orphan'])(
      'of a Deployment, %s: the answer, and what is left of its ReplicaSet and pods',
      async (policy) => {
        const name = `cascade-${policy.toLowerCase()}`;
        const [onSim, onReal] = await onBoth(async (side) => {
          const created = await side.request('POST', path('/apis/apps/v1/namespaces/NS/deployments'), {
            body: deployment(name),
          });
          expect(created.status).toBe(201);
          await settled(side, name, 2);
          const names = namer();
          const rs = (
            await side.request(
              'GET',
              path(`/apis/apps/v1/namespaces/NS/replicasets?labelSelector=app%3D${name}`),
            )
          ).body.items[0];
          names.as(rs.metadata.name, `${name}-<rs>`);
          names.as(rs.metadata.labels['pod-template-hash'], '<hash>');
          const answer = await side.request(
            'DELETE',
            path(`/apis/apps/v1/namespaces/NS/deployments/${name}`),
            {
              body: { apiVersion: 'v1', kind: 'DeleteOptions', propagationPolicy: policy },
            },
          );
          await until(`deployment ${name} gone`, async () =>
            (await side.request('GET', path(`/apis/apps/v1/namespaces/NS/deployments/${name}`))).status ===
            404
              ? true
              : undefined,
          );
          const left = async () => ({
            replicaSets: (
              await side.request(
                'GET',
                path(`/apis/apps/v1/namespaces/NS/replicasets?labelSelector=app%3D${name}`),
              )
            ).body.items as Json[],
            pods: (await side.request('GET', path(`/api/v1/namespaces/NS/pods?labelSelector=app%3D${name}`)))
              .body.items as Json[],
          });
          // The garbage collector finishes after the owner is gone (Background) or before (the rest).
          const remaining = await until('the garbage collector', async () => {
            const now = await left();
            const settledNow =
              policy === 'Orphan'
                ? now.replicaSets.every((r) => !r.metadata.ownerReferences)
                : now.replicaSets.length === 0 && now.pods.length === 0;
            return settledNow ? now : undefined;
          });
          for (const pod of remaining.pods) {
            names.as(pod.metadata.name, `${name}-<rs>-<pod>`);
          }
          // Orphans are the test's to remove.
          for (const r of remaining.replicaSets) {
            await side.request('DELETE', path(`/apis/apps/v1/namespaces/NS/replicasets/${r.metadata.name}`));
          }
          return normalise(
            {
              answer: {
                ...answer,
                body: answer.body.kind === 'Deployment' ? withoutComponentManagers(answer.body) : answer.body,
              },
              replicaSets: remaining.replicaSets.map((r) => ({
                name: r.metadata.name,
                ownerReferences: r.metadata.ownerReferences,
              })),
              pods: remaining.pods.map((p) => ({
                owner: p.metadata.ownerReferences?.[0]?.name,
              })),
            },
            names.replace,
          );
        });
        expect(onSim).toEqual(onReal);
      },
    );

    it('of other kinds: a Status, the object, or the object marked for deletion', async () => {
      const [onSim, onReal] = await onBoth(async (side) => {
        const answers: Answer[] = [];
        const createAndDelete = async (collection: string, name: string, body: object, options?: object) => {
          const created = await side.request('POST', path(collection), {
            body: { metadata: { name }, ...body },
          });
          expect(created.status).toBe(201);
          if (created.body.kind === 'Job') {
            // Its pod first: deleting the Job then orphans it.
            await until('the Job’s pod', async () => {
              const { body: pods } = await side.request(
                'GET',
                path(`/api/v1/namespaces/NS/pods?labelSelector=${encodeURIComponent(`job-name=${name}`)}`),
              );
              return pods.items.length > 0 ? true : undefined;
            });
          }
          if (created.body.kind === 'Pod') {
            await until('the scheduler to refuse the pod', async () => {
              const { body: pod } = await side.request('GET', path(`${collection}/${name}`));
              return pod.status?.conditions?.length ? true : undefined;
            });
          }
          answers.push(await side.request('DELETE', path(`${collection}/${name}`), { body: options }));
        };
        await createAndDelete('/api/v1/namespaces/NS/configmaps', 'gone-cm', { data: { a: '1' } });
        await createAndDelete('/api/v1/namespaces/NS/serviceaccounts', 'gone-sa', {});
        await createAndDelete('/apis/rbac.authorization.k8s.io/v1/namespaces/NS/roles', 'gone-role', {
          rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }],
        });
        // A pod no node took is deleted at once; the answer shows it marked.
        await createAndDelete('/api/v1/namespaces/NS/pods', 'gone-pod', {
          spec: { containers: [{ name: 'c', image: 'x:1' }], nodeSelector: { nowhere: 'true' } },
        });
        // A Job's default is to orphan its pods: the answer shows the orphan finalizer.
        await createAndDelete('/apis/batch/v1/namespaces/NS/jobs', 'gone-job', {
          spec: {
            template: {
              spec: {
                restartPolicy: 'Never',
                containers: [{ name: 'c', image: 'x:1' }],
                nodeSelector: { nowhere: 'true' },
              },
            },
          },
        });
        answers.push(await side.request('DELETE', path('/api/v1/namespaces/NS/configmaps/gone-cm')));
        return answers.map((answer) => ({
          ...answer,
          body: answer.body.kind === 'Pod' ? podView(answer.body) : withoutComponentManagers(answer.body),
        }));
      });
      // The Job and its pod differ beyond the deletion itself: their selector (see jobView).
      const jobless = (answers: Json[]) =>
        normalise(answers.map((a) => (a.body.kind === 'Job' ? { ...a, body: jobView(a.body) } : a)));
      expect(jobless(onSim)).toEqual(jobless(onReal));
    });
  });

  describe('pods', () => {
    const pod = (name: string, gpus: number, selector: Record<string, string>, extra: object = {}) => ({
      metadata: { name },
      spec: {
        containers: [
          { name: 'dev', image: 'pytorch:2', resources: { limits: { 'nvidia.com/gpu': String(gpus) } } },
        ],
        nodeSelector: selector,
        ...extra,
      },
    });

    it('Pending: unschedulable, with the scheduler’s reason and message, unresolvable and resolvable', async () => {
      const [onSim, onReal] = await onBoth(async (side) => {
        const created = await side.request('POST', path('/api/v1/namespaces/NS/pods'), {
          body: pod('too-big', 9, { 'nvidia.com/gpu.product': H100 }),
        });
        // Eight T4 nodes of one GPU each: eight pods fill them, the ninth waits for room.
        for (let i = 0; i < 9; i += 1) {
          await side.request('POST', path('/api/v1/namespaces/NS/pods'), {
            body: pod(`t4-${i}`, 1, { 'nvidia.com/gpu.product': 'Tesla-T4' }),
          });
        }
        const pending = await until('pods to be scheduled or refused', async () => {
          const { body } = await side.request(
            'GET',
            path('/api/v1/namespaces/NS/pods?fieldSelector=spec.nodeName%3D'),
          );
          const items = (body.items as Json[]).filter(
            (p) => /^(too-big|t4-\d)$/.test(p.metadata.name) && p.status?.conditions?.length,
          );
          return items.length === 2 ? items : undefined;
        });
        const t4Waiting = pending.find((p) => p.metadata.name.startsWith('t4-'));
        const tooBig = pending.find((p) => p.metadata.name === 'too-big');
        const names = namer();
        names.as(t4Waiting.metadata.name, 't4-<waiting>');
        return normalise(
          {
            created: { ...created, body: podView(created.body) },
            tooBig: podView(tooBig),
            t4Waiting: podView(t4Waiting),
          },
          names.replace,
        ) as Json;
      });
      expect(onSim.tooBig.status.conditions[0].message).toMatch(/Preemption is not helpful/);
      expect(onSim.t4Waiting.status.conditions[0].message).toMatch(/No preemption victims found/);
      expect(onSim).toEqual(onReal);
    });

    it('Running, on the node it asked for; Failed, as a client sets it through /status', async () => {
      const node = 'sim-local-h100-3';
      const [onSim, onReal] = await onBoth(async (side) => {
        await side.request('POST', path('/api/v1/namespaces/NS/pods'), {
          body: pod('runs', 1, { 'kubernetes.io/hostname': node }, { restartPolicy: 'Never' }),
        });
        const running = await until('the pod to run', async () => {
          const { body } = await side.request('GET', path('/api/v1/namespaces/NS/pods/runs'));
          return body.status?.conditions?.some((c: Json) => c.type === 'Ready' && c.status === 'True')
            ? body
            : undefined;
        });
        const failed = await side.request('PATCH', path('/api/v1/namespaces/NS/pods/runs/status'), {
          body: {
            status: {
              phase: 'Failed',
              reason: 'Evicted',
              message: 'The node was low on resource: memory.',
              conditions: [{ type: 'Ready', status: 'False', reason: 'PodFailed' }],
            },
          },
          contentType: 'application/strategic-merge-patch+json',
        });
        return normalise({
          running: podView(running),
          failed: { ...failed, body: podView(failed.body) },
        }) as Json;
      });
      expect(onSim.running.status.phase).toBe('Running');
      expect(onSim.running.spec.nodeName).toBe(node);
      expect(onSim.failed.body.status.phase).toBe('Failed');
      expect(onSim).toEqual(onReal);
    });
  });

  describe('events', () => {
    it('about a pod the scheduler refused and one it bound, and a Deployment’s rollout', async () => {
      const [onSim, onReal] = await onBoth(async (side) => {
        const deployment = structuredClone(sampleReservationSpec('events', NS).deployment!) as Json;
        await side.request('POST', path('/apis/apps/v1/namespaces/NS/deployments'), { body: deployment });
        await settled(side, 'events', 1);
        const list = async (selector: string) =>
          (
            await side.request(
              'GET',
              path(`/api/v1/namespaces/NS/events?fieldSelector=${encodeURIComponent(selector)}`),
            )
          ).body.items as Json[];
        const refused = await until('FailedScheduling of too-big', async () => {
          const events = await list('involvedObject.name=too-big,involvedObject.kind=Pod');
          return events.length > 0 ? events : undefined;
        });
        const bound = await list('involvedObject.name=runs,reason=Scheduled');
        const rollout = [
          ...(await list('involvedObject.kind=Deployment,involvedObject.name=events')),
          ...(await list('involvedObject.kind=ReplicaSet,reason=SuccessfulCreate')).filter((e) =>
            e.involvedObject.name.startsWith('events-'),
          ),
        ];
        const warnings = await side.deployer.listWarningEvents(NS);
        const names = namer();
        for (const event of rollout) {
          for (const match of String(event.message).matchAll(/events-[a-z0-9]+(-[a-z0-9]{5})?/g)) {
            names.as(match[0], match[1] ? 'events-<rs>-<pod>' : 'events-<rs>');
          }
          if (event.involvedObject.kind === 'ReplicaSet') {
            names.as(event.involvedObject.name, 'events-<rs>');
          }
        }
        // kube-scheduler reports each retry; the simulator once per reason: one of each kind.
        const distinct = (events: Json[]) =>
          [...new Map(events.map((e) => [`${e.reason}|${e.message}`, e])).values()].map((e) =>
            without(e, 'metadata.managedFields', 'count', 'series'),
          );
        return normalise(
          {
            refused: distinct(refused),
            bound: distinct(bound),
            rollout: distinct(rollout).sort((a, b) => (a.reason < b.reason ? -1 : 1)),
            warnings: distinct(warnings.filter((w) => w.involvedObject.name === 'too-big')),
          },
          names.replace,
        ) as Record<string, Json[]>;
      });
      expect(onSim.refused!.map((e) => e.reason)).toEqual(['FailedScheduling']);
      expect(onSim.bound!.map((e) => e.reason)).toEqual(['Scheduled']);
      expect(onSim.rollout!.map((e) => e.reason)).toEqual(['ScalingReplicaSet', 'SuccessfulCreate']);
      expect(onSim.warnings).toHaveLength(1);
      expect(onSim).toEqual(onReal);
    });
  });

  describe('lists', () => {
    it('with label selectors, field selectors, and the selectors a server refuses', async () => {
      const [onSim, onReal] = await onBoth(async (side) => {
        for (const [name, labels] of [
          ['list-a', { tier: 'gpu', team: 'ml' }],
          ['list-b', { tier: 'cpu', team: 'ml' }],
          ['list-c', { tier: 'gpu' }],
        ] as const) {
          await side.request('POST', path('/api/v1/namespaces/NS/configmaps'), {
            body: { metadata: { name, labels: { ...labels, list: 'yes' } } },
          });
        }
        const outcome = async (query: string, kind = 'configmaps') => {
          const answer = await side.request('GET', path(`/api/v1/namespaces/NS/${kind}?${query}`));
          // Pods and events of the earlier scenarios: generated suffixes go, and each name once
          // (kube-scheduler repeats its events).
          return answer.status === 200
            ? {
                status: 200,
                names: [
                  ...new Set(
                    (answer.body.items as Json[]).map((i) =>
                      (i.involvedObject?.name ?? i.metadata.name).replace(/-[a-z0-9]{5}$/, '-<id>'),
                    ),
                  ),
                ].sort(),
              }
            : answer;
        };
        const labelled = (selector: string) =>
          outcome(`labelSelector=${encodeURIComponent(`list=yes,${selector}`)}`);
        // The ConfigMaps of this scenario only (a real namespace has kube-root-ca.crt too).
        const fielded = (selector: string, kind?: string) =>
          outcome(
            `fieldSelector=${encodeURIComponent(selector)}${kind ? '' : '&labelSelector=list%3Dyes'}`,
            kind,
          );
        return [
          await labelled('tier=gpu'),
          await labelled('tier==gpu,team=ml'),
          await labelled('tier!=gpu'),
          await labelled('tier in (gpu,cpu),team notin (ml)'),
          await labelled('team'),
          await labelled('!team'),
          await outcome(`labelSelector=${encodeURIComponent('Team_=x')}`),
          await fielded('metadata.name=list-b'),
          await fielded('metadata.name!=list-b,metadata.namespace==' + NS),
          await fielded('metadata.name in (list-a)'),
          await fielded('data.a=1'),
          await fielded('status.phase=Failed', 'pods'),
          await fielded('spec.nodeName=', 'pods'),
          await fielded('spec.restartPolicy=Never', 'pods'),
          await fielded('spec.nodeSelector=x', 'pods'),
          await fielded('type=Warning,reason=FailedScheduling', 'events'),
          await fielded('involvedObject.kind=Pod,involvedObject.name=runs', 'events'),
        ];
      });
      expect(onSim).toEqual(onReal);
    });
  });

  describe('RBAC', () => {
    it('refuses a ServiceAccount with a narrow Role with the same 403s, and lets it do what it may', async () => {
      const [onSim, onReal] = await onBoth(async (side) => {
        const post = (rest: string, body: unknown) => side.request('POST', path(rest), { body });
        await post('/api/v1/namespaces/NS/serviceaccounts', { metadata: { name: 'narrow' } });
        await post('/apis/rbac.authorization.k8s.io/v1/namespaces/NS/roles', {
          metadata: { name: 'pod-reader' },
          rules: [
            { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] },
            { apiGroups: [''], resources: ['configmaps'], verbs: ['get'], resourceNames: ['list-a'] },
          ],
        });
        await post('/apis/rbac.authorization.k8s.io/v1/namespaces/NS/rolebindings', {
          metadata: { name: 'narrow' },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'pod-reader' },
          subjects: [{ kind: 'ServiceAccount', name: 'narrow', namespace: NS }],
        });
        const issued = await post('/api/v1/namespaces/NS/serviceaccounts/narrow/token', {
          apiVersion: 'authentication.k8s.io/v1',
          kind: 'TokenRequest',
          spec: { expirationSeconds: 600 },
        });
        const token = issued.body.status.token as string;
        const as = (method: string, rest: string, body?: unknown, contentType?: string) =>
          side.request(method, path(rest), { body, contentType, token });
        // RBAC caches on the real API server: the binding may take a moment.
        await until('the binding to take effect', async () =>
          (await as('GET', '/api/v1/namespaces/NS/pods')).status === 200 ? true : undefined,
        );
        const answers = [
          await as('GET', '/api/v1/namespaces/NS/configmaps/list-a'),
          await as('GET', '/api/v1/namespaces/NS/configmaps/list-b'),
          await as('GET', '/api/v1/namespaces/NS/configmaps'),
          await as('GET', '/api/v1/namespaces/NS/secrets/anything'),
          await as('GET', '/api/v1/namespaces/default/pods'),
          await as('GET', '/api/v1/nodes'),
          await as('GET', '/api/v1/namespaces/NS/pods/runs/log'),
          await as('POST', '/api/v1/namespaces/NS/pods', { metadata: { name: 'x' } }),
          await as('DELETE', '/api/v1/namespaces/NS/pods/runs'),
          await as(
            'PATCH',
            `/api/v1/namespaces/NS/configmaps/new?fieldManager=${FIELD_MANAGER}`,
            { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'new' } },
            APPLY,
          ),
          await as('GET', '/apis/apps/v1/namespaces/NS/deployments'),
          await as('GET', '/api/v1/namespaces/NS/pods/nope'),
          await as('GET', '/metrics'),
          await side.request('GET', path('/api/v1/namespaces/NS/pods'), { token: 'not-a-token' }),
        ];
        const listed = await as('GET', '/api/v1/namespaces/NS/pods');
        return {
          token: { status: issued.status, body: without(issued.body, 'metadata', 'status.token') },
          answers: answers.map((a) => (a.status === 200 ? { status: 200, kind: a.body.kind } : a)),
          listed: listed.status,
        };
      });
      expect(normalise(onSim)).toEqual(normalise(onReal));
    });
  });

  describe('storage', () => {
    const CLAIMS = '/api/v1/namespaces/NS/persistentvolumeclaims';
    const SNAPSHOTS = '/apis/snapshot.storage.k8s.io/v1/namespaces/NS/volumesnapshots';
    const SNAPSHOT_API = 'snapshot.storage.k8s.io/v1';
    const claim = (name: string, storage = '1Gi', extra: object = {}) => ({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage } }, ...extra },
    });
    const fromSnapshot = (name: string) => ({
      dataSource: { apiGroup: 'snapshot.storage.k8s.io', kind: 'VolumeSnapshot', name },
    });
    const snapshotOf = (name: string, claimName: string, className?: string) => ({
      apiVersion: SNAPSHOT_API,
      kind: 'VolumeSnapshot',
      metadata: { name },
      spec: {
        ...(className ? { volumeSnapshotClassName: className } : {}),
        source: { persistentVolumeClaimName: claimName },
      },
    });
    /** A bound claim, once the pvc-protection controller has said whether it is used. */
    const boundAndUsage = (c: Json) =>
      c.status?.phase === 'Bound' && c.status.conditions?.some((u: Json) => u.type === 'Unused');

    /** Reads an object until `ready` says it has settled. */
    const settle = (side: Side, what: string, rest: string, ready: (body: Json) => boolean) =>
      until(
        `${what} on the ${side.name} side`,
        async () => {
          const { body } = await side.request('GET', path(rest));
          return ready(body) ? body : undefined;
        },
        60_000,
      );

    /** The events about an object once those of the given reasons are there (see `eventsView`). */
    const eventsAbout = (side: Side, name: string, reasons: string[]) =>
      until(
        `${reasons.join(', ')} about ${name} on the ${side.name} side`,
        async () => {
          const selector = encodeURIComponent(`involvedObject.name=${name}`);
          const { body } = await side.request(
            'GET',
            path(`/api/v1/namespaces/NS/events?fieldSelector=${selector}`),
          );
          const items = (body.items ?? []) as Json[];
          return reasons.every((reason) => items.some((e) => e.reason === reason))
            ? eventsView(items)
            : undefined;
        },
        60_000,
      );

    /** The names a side's storage gives its objects, made placeholders. */
    const storageNames = (claimObject: Json, volume?: Json) => {
      const names = namer();
      if (claimObject.spec?.volumeName) {
        names.as(claimObject.spec.volumeName, '<pv>');
      }
      if (claimObject.spec?.storageClassName) {
        names.as(claimObject.spec.storageClassName, '<class>');
      }
      const driver =
        claimObject.metadata?.annotations?.['volume.kubernetes.io/storage-provisioner'] ??
        volume?.spec?.csi?.driver;
      if (driver) {
        names.as(driver, '<driver>');
      }
      return names;
    };

    it('a PVC of the default StorageClass binds to a provisioned volume, with the controllers’ events', async () => {
      const [onSim, onReal] = await onBoth(async (side) => {
        const created = await side.request('POST', path(CLAIMS), { body: claim('scratch') });
        const bound = await settle(side, 'the claim to bind', `${CLAIMS}/scratch`, boundAndUsage);
        const volume = (await side.request('GET', `/api/v1/persistentvolumes/${bound.spec.volumeName}`)).body;
        const events = await eventsAbout(side, 'scratch', [
          'ExternalProvisioning',
          'Provisioning',
          'ProvisioningSucceeded',
        ]);
        return normalise(
          {
            created: { status: created.status, phase: created.body.status?.phase },
            claim: claimView(bound),
            volume: storageView(withoutProtection(withoutComponentManagers(volume))),
            events,
          },
          storageNames(bound, volume).replace,
        );
      });
      expect(onSim).toEqual(onReal);
    }, 120_000);

    it('a bound claim’s Unused condition follows the pod that uses it', async () => {
      const [onSim, onReal] = await onBoth(async (side) => {
        const condition = (c: Json) => c.status.conditions.find((u: Json) => u.type === 'Unused');
        await side.request('POST', path('/api/v1/namespaces/NS/pods'), {
          body: {
            metadata: { name: 'scratch-user' },
            spec: {
              containers: [{ name: 'c', image: 'busybox:1' }],
              nodeSelector: { 'odc.dev/node-pool': 'cpu' },
              volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'scratch' } }],
            },
          },
        });
        const used = await settle(
          side,
          'the claim to be used',
          `${CLAIMS}/scratch`,
          (c) => condition(c)?.status === 'False',
        );
        await side.request('DELETE', path('/api/v1/namespaces/NS/pods/scratch-user'));
        const unused = await settle(
          side,
          'the claim to be unused again',
          `${CLAIMS}/scratch`,
          (c) => condition(c)?.status === 'True',
        );
        return normalise({ used: condition(used), unused: condition(unused) });
      });
      expect(onSim).toEqual(onReal);
    }, 120_000);

    it('a VolumeSnapshot of a bound claim gets the default class and becomes ready to use', async () => {
      const [onSim, onReal] = await onBoth(async (side) => {
        const created = await side.request('POST', path(SNAPSHOTS), { body: snapshotOf('snap', 'scratch') });
        const ready = await settle(
          side,
          'the snapshot to be ready',
          `${SNAPSHOTS}/snap`,
          (s) => s.status?.readyToUse === true,
        );
        const content = (
          await side.request(
            'GET',
            `/apis/${SNAPSHOT_API}/volumesnapshotcontents/${ready.status.boundVolumeSnapshotContentName}`,
          )
        ).body;
        const events = await eventsAbout(side, 'snap', [
          'CreatingSnapshot',
          'SnapshotCreated',
          'SnapshotReady',
        ]);
        const names = namer();
        names.as(ready.status.boundVolumeSnapshotContentName, '<content>');
        names.as(ready.spec.volumeSnapshotClassName ?? '<class>', '<class>');
        names.as(content.spec.driver, '<driver>');
        names.as(content.spec.source?.volumeHandle ?? '<handle>', '<handle>');
        names.as(content.status?.snapshotHandle ?? '<handle>', '<snapshot-handle>');
        return normalise(
          {
            created: created.status,
            snapshot: without(withoutProtection(withoutComponentManagers(ready)), 'metadata.managedFields'),
            content: without(
              withoutProtection(withoutComponentManagers(content)),
              'metadata.managedFields',
              'status.creationTime',
            ),
            events,
          },
          names.replace,
        );
      });
      expect(onSim).toEqual(onReal);
    }, 120_000);

    it('a restore binds at the snapshot’s size; a smaller one, or one of no snapshot, stays Pending with the provisioner’s warning', async () => {
      const [onSim, onReal] = await onBoth(async (side) => {
        const restored = await side.request('POST', path(CLAIMS), {
          body: claim('restored', '1Gi', fromSnapshot('snap')),
        });
        await side.request('POST', path(CLAIMS), { body: claim('too-small', '512Mi', fromSnapshot('snap')) });
        await side.request('POST', path(CLAIMS), {
          body: claim('of-nothing', '1Gi', fromSnapshot('nothing')),
        });
        const bound = await settle(side, 'the restore to bind', `${CLAIMS}/restored`, boundAndUsage);
        const volume = (await side.request('GET', `/api/v1/persistentvolumes/${bound.spec.volumeName}`)).body;
        const refused = await eventsAbout(side, 'too-small', ['ExternalProvisioning', 'ProvisioningFailed']);
        const nothing = await eventsAbout(side, 'of-nothing', ['ExternalProvisioning', 'ProvisioningFailed']);
        const tooSmall = (await side.request('GET', path(`${CLAIMS}/too-small`))).body;
        return normalise(
          {
            created: restored.body.spec,
            restored: claimView(bound),
            volume: storageView(withoutProtection(withoutComponentManagers(volume))),
            tooSmall: claimView(tooSmall),
            refused,
            nothing,
          },
          storageNames(bound, volume).replace,
        );
      });
      expect(onSim).toEqual(onReal);
    }, 120_000);

    it('a snapshot a pending restore uses is kept, deleted, until that claim goes; then its content goes too', async () => {
      const [onSim, onReal] = await onBoth(async (side) => {
        const before = (await side.request('GET', path(`${SNAPSHOTS}/snap`))).body;
        const contentName = before.status.boundVolumeSnapshotContentName;
        const answer = await side.request('DELETE', path(`${SNAPSHOTS}/snap`));
        const events = await eventsAbout(side, 'snap', ['SnapshotDeletePending']);
        const kept = (await side.request('GET', path(`${SNAPSHOTS}/snap`))).body;
        await side.request('DELETE', path(`${CLAIMS}/too-small`));
        await settle(side, 'the snapshot to go', `${SNAPSHOTS}/snap`, (s) => s.code === 404);
        await until(
          `the content to go on the ${side.name} side`,
          async () =>
            (await side.request('GET', `/apis/${SNAPSHOT_API}/volumesnapshotcontents/${contentName}`))
              .status === 404
              ? true
              : undefined,
          60_000,
        );
        const names = namer();
        names.as(contentName, '<content>');
        names.as(before.spec.volumeSnapshotClassName, '<class>');
        const view = (snapshot: Json) =>
          without(withoutProtection(withoutComponentManagers(snapshot)), 'metadata.managedFields');
        return normalise(
          {
            answer: { status: answer.status, body: view(answer.body) },
            kept: view(kept),
            pending: events.filter(([type]) => type === 'Warning'),
          },
          names.replace,
        );
      });
      expect(onSim).toEqual(onReal);
    }, 120_000);

    it('a snapshot of a claim that is not bound carries the controller’s error', async () => {
      const [onSim, onReal] = await onBoth(async (side) => {
        await side.request('POST', path(CLAIMS), {
          body: claim('unbound', '1Gi', { storageClassName: 'no-such-class' }),
        });
        const claimEvents = await eventsAbout(side, 'unbound', ['ProvisioningFailed']);
        await side.request('POST', path(SNAPSHOTS), { body: snapshotOf('early', 'unbound') });
        await side.request('POST', path(SNAPSHOTS), {
          body: snapshotOf('early-named', 'unbound', 'standard-snapshots'),
        });
        // Until snapshot-controller's informer has seen the claim, it says the claim is not found.
        const notBound = (s: Json) => /not yet bound/.test(s.status?.error?.message ?? '');
        const early = await settle(side, 'the snapshot’s error', `${SNAPSHOTS}/early`, notBound);
        const named = await settle(side, 'the named snapshot’s error', `${SNAPSHOTS}/early-named`, notBound);
        const warning = (e: Json[]) =>
          e.filter(([type, , , message]: string[]) => type === 'Warning' && /not yet bound/.test(message!));
        return normalise({
          claimEvents,
          early: {
            spec: early.spec,
            status: early.status,
            events: warning(await eventsAbout(side, 'early', [])),
          },
          named: {
            spec: named.spec,
            status: named.status,
            events: warning(await eventsAbout(side, 'early-named', [])),
          },
        });
      });
      expect(onSim).toEqual(onReal);
    }, 120_000);

    it('a static volume binds the claim that names it; released when it goes, it binds no new claim of that name', async () => {
      const volumeName = uniqueName('fidelity-static');
      const [onSim, onReal] = await onBoth(async (side) => {
        const volume = {
          apiVersion: 'v1',
          kind: 'PersistentVolume',
          metadata: { name: volumeName },
          spec: {
            capacity: { storage: '2Gi' },
            accessModes: ['ReadWriteOnce'],
            csi: { driver: 'static.csi.odc.dev', volumeHandle: 'vol-static' },
          },
        };
        const created = await side.request('POST', '/api/v1/persistentvolumes', { body: volume });
        const named = claim('static', '2Gi', { volumeName, storageClassName: '' });
        await side.request('POST', path(CLAIMS), { body: named });
        const bound = await settle(side, 'the static claim to bind', `${CLAIMS}/static`, boundAndUsage);
        const boundVolume = (await side.request('GET', `/api/v1/persistentvolumes/${volumeName}`)).body;
        await side.request('DELETE', path(`${CLAIMS}/static`));
        await settle(side, 'the static claim to go', `${CLAIMS}/static`, (c) => c.code === 404);
        const released = await until(`the volume to be released on the ${side.name} side`, async () => {
          const { body } = await side.request('GET', `/api/v1/persistentvolumes/${volumeName}`);
          return body.status?.phase === 'Released' ? body : undefined;
        });
        await side.request('POST', path(CLAIMS), { body: named });
        const refused = await eventsAbout(side, 'static', ['FailedBinding']);
        const again = (await side.request('GET', path(`${CLAIMS}/static`))).body;
        await side.request('DELETE', path(`${CLAIMS}/static`));
        await side.request('DELETE', `/api/v1/persistentvolumes/${volumeName}`);
        return normalise({
          created: { status: created.status, phase: created.body.status?.phase },
          claim: claimView(bound),
          bound: storageView(withoutProtection(withoutComponentManagers(boundVolume))),
          released: storageView(withoutProtection(withoutComponentManagers(released))),
          again: again.status,
          refused,
        });
      });
      expect(onSim).toEqual(onReal);
    }, 120_000);

    it('deleting a claim deletes its provisioned volume', async () => {
      const [onSim, onReal] = await onBoth(async (side) => {
        const { body } = await side.request('GET', path(`${CLAIMS}/restored`));
        const answer = await side.request('DELETE', path(`${CLAIMS}/restored`));
        await until(
          `the volume to go on the ${side.name} side`,
          async () =>
            (await side.request('GET', `/api/v1/persistentvolumes/${body.spec.volumeName}`)).status === 404
              ? true
              : undefined,
          60_000,
        );
        return { status: answer.status, kind: answer.body.kind };
      });
      expect(onSim).toEqual(onReal);
    }, 120_000);
  });

  describe('quantities', () => {
    it('are written back in their canonical form', async () => {
      const [onSim, onReal] = await onBoth(async (side) => {
        const claimed = await side.request('POST', path('/api/v1/namespaces/NS/persistentvolumeclaims'), {
          body: {
            metadata: { name: 'sizes' },
            spec: {
              storageClassName: 'no-such-class',
              accessModes: ['ReadWriteOnce'],
              resources: { requests: { storage: '1024Mi' }, limits: { storage: '0.5Gi' } },
            },
          },
        });
        const pod = await side.request('POST', path('/api/v1/namespaces/NS/pods'), {
          body: {
            metadata: { name: 'sizes' },
            spec: {
              nodeSelector: { 'odc.dev/node-pool': 'nowhere' },
              containers: [
                {
                  name: 'c',
                  image: 'busybox:1',
                  resources: {
                    requests: { cpu: '0.5', memory: '1000M' },
                    limits: { cpu: 2, memory: '1.5Gi' },
                  },
                },
              ],
            },
          },
        });
        return {
          claim: claimed.body.spec.resources,
          pod: pod.body.spec.containers[0].resources,
        };
      });
      expect(onSim).toEqual(onReal);
    });
  });
});

/**
 * Known difference: a Job's selector. kube-apiserver generates `batch.kubernetes.io/controller-uid`
 * selectors and labels (and `manualSelector: false`); the simulator's Job controller finds its pods
 * by owner reference. Compared without them.
 */
function jobView(job: Json): Json {
  return without(
    job,
    'spec.selector',
    'spec.manualSelector',
    'spec.template.metadata',
    'metadata.labels',
    'status',
  );
}

function revisionOf(replicaSet: Json): number {
  return Number(replicaSet.metadata.annotations['deployment.kubernetes.io/revision']);
}

/**
 * Known difference: the storage-object-in-use protection (`kubernetes.io/pvc-protection`,
 * `kubernetes.io/pv-protection`, the external provisioner's finalizer, and snapshot-controller's on
 * contents and on a claim while it is the source of a snapshot being cut) is not simulated; a
 * snapshot's own (`volumesnapshot-as-source-protection`, `volumesnapshot-bound-protection`) is.
 */
function withoutProtection(object: Json): Json {
  const copy = structuredClone(object);
  const kept = (copy.metadata?.finalizers ?? []).filter(
    (f: string) =>
      !/^kubernetes\.io\/pvc?-protection$|^external-provisioner\.volume\.kubernetes\.io\/|^snapshot\.storage\.kubernetes\.io\/(volumesnapshotcontent-bound-protection|pvc-as-source-protection)$/.test(
        f,
      ),
  );
  if (kept.length > 0) {
    copy.metadata.finalizers = kept;
  } else if (copy.metadata) {
    delete copy.metadata.finalizers;
  }
  return copy;
}

/** A provisioned volume: what identifies it on the backend is the driver's. */
function storageView(volume: Json): Json {
  return without(volume, 'spec.csi.volumeAttributes', 'spec.csi.volumeHandle', 'spec.nodeAffinity');
}

/** A claim as both sides must show it (protection finalizers and components' managers taken out). */
function claimView(claimObject: Json): Json {
  return withoutProtection(withoutComponentManagers(claimObject));
}

/**
 * Known difference: a real controller writes its event again on every retry (with backoff), and the
 * legacy recorder counts the repeats; the simulator writes each message once. Compared: each
 * distinct event once, as [type, reason, source component, message], sorted — the external
 * provisioner's component (`<driver>_<host>_<uuid>`) with its host and uuid made placeholders.
 */
function eventsView(events: Json[]): string[][] {
  const seen = new Map<string, string[]>();
  for (const event of events) {
    const component = String(event.source?.component ?? event.reportingComponent ?? '').replace(
      /^(.+)_[^_]+_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
      '$1_<host>_<uid>',
    );
    const view = [event.type, event.reason, component, event.message];
    seen.set(JSON.stringify(view), view);
  }
  return [...seen.values()].sort((a, b) => a.join().localeCompare(b.join()));
}

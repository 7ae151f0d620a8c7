/**
 * Snapshots across simulated clusters: a VolumeSnapshot is cut into a VolumeSnapshotContent whose
 * handle lands in the storage backend; a cluster that shares the backend imports it by handle (a
 * pre-provisioned content) and restores a claim from it; one on another backend cannot.
 */
import type { KubernetesObject } from '@kubernetes/client-node';
import { SimulatedCluster } from '../../src/simulator/cluster';
import { withDefaults } from '../../src/simulator/config';
import { eventually } from '../support/eventually';
import { FAST_TIMINGS } from '../support/simulator';
import { kubeClients, statusOf } from './kube';

const SNAPSHOT_API = 'snapshot.storage.k8s.io/v1';
const DRIVER = 'ebs.csi.aws.com';

interface Snapshot extends KubernetesObject {
  status?: {
    readyToUse?: boolean;
    restoreSize?: string;
    boundVolumeSnapshotContentName?: string;
    error?: { message?: string; time?: string };
  };
}

interface Content extends KubernetesObject {
  spec: {
    driver: string;
    deletionPolicy: string;
    source: { volumeHandle?: string; snapshotHandle?: string };
    volumeSnapshotRef: { name: string; namespace: string; uid?: string };
    volumeSnapshotClassName?: string;
  };
  status?: {
    snapshotHandle?: string;
    readyToUse?: boolean;
    restoreSize?: number;
    creationTime?: number;
    error?: { message?: string };
  };
}

/** A cluster whose storage class provisions with DRIVER, on the named backend. */
const startCluster = (storageBackend: string, volumeSnapshotClasses?: []) =>
  SimulatedCluster.start(
    withDefaults({
      name: `sim-${storageBackend}`,
      storageBackend,
      storageClasses: [{ name: 'gp3', default: true, provisioner: DRIVER }],
      ...(volumeSnapshotClasses ? { volumeSnapshotClasses } : {}),
      timings: FAST_TIMINGS,
    }),
  );

describe('snapshot contents and a storage backend shared between simulated clusters', () => {
  let a: SimulatedCluster;
  let b: SimulatedCluster;
  let elsewhere: SimulatedCluster;
  let ka: ReturnType<typeof kubeClients>;
  let kb: ReturnType<typeof kubeClients>;
  let ke: ReturnType<typeof kubeClients>;

  beforeAll(async () => {
    [a, b, elsewhere] = await Promise.all([
      startCluster('region-1'),
      startCluster('region-1'),
      startCluster('region-2', []), // and no snapshot classes
    ]);
    ka = kubeClients(a.url);
    kb = kubeClients(b.url);
    ke = kubeClients(elsewhere.url);
  });

  afterAll(() => Promise.all([a, b, elsewhere].map((cluster) => cluster.close())));

  type Ref = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } };
  const snapshotRef = (name: string): Ref => ({
    apiVersion: SNAPSHOT_API,
    kind: 'VolumeSnapshot',
    metadata: { name, namespace: 'default' },
  });
  const contentRef = (name: string): Ref => ({
    apiVersion: SNAPSHOT_API,
    kind: 'VolumeSnapshotContent',
    metadata: { name },
  });
  const contentNames = async (k: typeof ka) =>
    ((await k.objects.list(SNAPSHOT_API, 'VolumeSnapshotContent')).items as Content[]).map(
      (c) => c.metadata!.name!,
    );
  /** The backend handle of the snapshot cluster A cut of its claim `work`. */
  const workHandle = async () =>
    `snap-${(await ka.objects.read<Snapshot>(snapshotRef('work-snap'))).metadata!.uid}`;
  const settled = (k: typeof ka, name: string) =>
    eventually(
      () => k.objects.read<Snapshot>(snapshotRef(name)),
      (s) => s.status?.readyToUse === true || s.status?.error !== undefined,
    );

  /** A bound claim of `size` in cluster `k`, and a snapshot of it (optionally of `snapshotClass`). */
  async function snapshotOfNewClaim(
    k: typeof ka,
    name: string,
    size: string,
    snapshotClass?: string,
  ): Promise<Snapshot> {
    await k.core.createNamespacedPersistentVolumeClaim({
      namespace: 'default',
      body: {
        metadata: { name },
        spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: size } } },
      },
    });
    await k.objects.create({
      ...snapshotRef(`${name}-snap`),
      spec: {
        source: { persistentVolumeClaimName: name },
        ...(snapshotClass ? { volumeSnapshotClassName: snapshotClass } : {}),
      },
    } as KubernetesObject);
    return settled(k, `${name}-snap`);
  }

  /** A pre-provisioned content for `handle` and a snapshot that imports it, in cluster `k`. */
  async function importSnapshot(k: typeof ka, name: string, handle: string, driver = DRIVER): Promise<void> {
    await k.objects.create({
      ...contentRef(`${name}-content`),
      spec: {
        driver,
        deletionPolicy: 'Retain',
        source: { snapshotHandle: handle },
        volumeSnapshotRef: { name, namespace: 'default' },
      },
    } as KubernetesObject);
    await k.objects.create({
      ...snapshotRef(name),
      spec: { source: { volumeSnapshotContentName: `${name}-content` } },
    } as KubernetesObject);
  }

  it('serves VolumeSnapshotContent as a cluster-scoped kind, with name checks', async () => {
    const resources = await fetch(`${a.url}/apis/snapshot.storage.k8s.io/v1`).then(
      (res) => res.json() as Promise<{ resources: { name: string; kind: string; namespaced: boolean }[] }>,
    );
    expect(resources.resources.filter((r) => r.kind === 'VolumeSnapshotContent')).toEqual([
      expect.objectContaining({ name: 'volumesnapshotcontents', namespaced: false }),
      expect.objectContaining({ name: 'volumesnapshotcontents/status' }),
    ]);
    const refused = await statusOf(
      ka.objects.create({ ...contentRef('Not_A_Name'), spec: {} } as KubernetesObject),
    );
    expect(refused).toMatchObject({ code: 422, reason: 'Invalid' });
  });

  it('cuts a snapshot into a content of the volume’s driver, with its handle in the backend', async () => {
    const snapshot = await snapshotOfNewClaim(ka, 'work', '100Gi');
    const uid = snapshot.metadata!.uid!;
    expect(snapshot.status).toMatchObject({
      readyToUse: true,
      restoreSize: '100Gi',
      boundVolumeSnapshotContentName: `snapcontent-${uid}`,
    });
    const claim = await ka.core.readNamespacedPersistentVolumeClaim({ namespace: 'default', name: 'work' });
    const content = await ka.objects.read<Content>(contentRef(`snapcontent-${uid}`));
    expect(content.spec).toEqual({
      driver: DRIVER,
      deletionPolicy: 'Delete', // the default class's
      source: { volumeHandle: claim.spec!.volumeName },
      sourceVolumeMode: 'Filesystem',
      volumeSnapshotRef: expect.objectContaining({ name: 'work-snap', namespace: 'default', uid }),
      volumeSnapshotClassName: 'standard-snapshots',
    });
    expect(content.status).toMatchObject({
      snapshotHandle: `snap-${uid}`,
      readyToUse: true,
      restoreSize: 100 * 2 ** 30,
    });
    expect(content.status!.creationTime).toBeGreaterThan(1e18); // Unix nanoseconds
    expect(a.storageBackend.has(`snap-${uid}`)).toBe(true);
  });

  it('imports a snapshot into a cluster on the same backend, and restores a claim from it', async () => {
    const handle = await workHandle();
    await importSnapshot(kb, 'work-import', handle);

    const imported = await settled(kb, 'work-import');
    expect(imported.status).toMatchObject({
      readyToUse: true,
      restoreSize: '100Gi',
      boundVolumeSnapshotContentName: 'work-import-content',
    });
    expect(imported.status!.error).toBeUndefined();
    const content = await kb.objects.read<Content>(contentRef('work-import-content'));
    expect(content.spec.volumeSnapshotRef.uid).toBe(imported.metadata!.uid);
    expect(content.status).toMatchObject({
      snapshotHandle: handle,
      readyToUse: true,
      restoreSize: 100 * 2 ** 30,
    });

    await kb.core.createNamespacedPersistentVolumeClaim({
      namespace: 'default',
      body: {
        metadata: { name: 'restored' },
        spec: {
          accessModes: ['ReadWriteOnce'],
          resources: { requests: { storage: '100Gi' } },
          dataSource: { apiGroup: 'snapshot.storage.k8s.io', kind: 'VolumeSnapshot', name: 'work-import' },
        },
      },
    });
    const restored = await eventually(
      () => kb.core.readNamespacedPersistentVolumeClaim({ namespace: 'default', name: 'restored' }),
      (c) => c.status?.phase === 'Bound',
    );
    expect(restored.status!.capacity).toEqual({ storage: '100Gi' });
  });

  it('keeps a Retain content and the backend’s snapshot when the import is deleted', async () => {
    const handle = await workHandle();
    await kb.objects.delete(snapshotRef('work-import'));
    await eventually(
      async () => (await kb.objects.list(SNAPSHOT_API, 'VolumeSnapshot', 'default')).items.length,
      (count) => count === 0,
    );
    expect(await contentNames(kb)).toEqual(['work-import-content']);
    expect(b.storageBackend.has(handle)).toBe(true);
    // …and so another import of it still works.
    await importSnapshot(kb, 'work-again', handle);
    expect((await settled(kb, 'work-again')).status!.readyToUse).toBe(true);
  });

  it('fails an import on another backend, with the reason in status.error', async () => {
    const handle = await workHandle();
    await importSnapshot(ke, 'foreign', handle);
    const failed = await settled(ke, 'foreign');
    expect(failed.status).toMatchObject({
      readyToUse: false,
      error: { message: `snapshot handle ${handle} not found in the storage backend` },
    });
    expect(Date.parse(failed.status!.error!.time!)).not.toBeNaN();
    const content = await ke.objects.read<Content>(contentRef('foreign-content'));
    expect(content.status).toMatchObject({ readyToUse: false, error: { message: expect.any(String) } });
  });

  it('cuts a snapshot without a class into a content that Kubernetes’ default policy (Delete) removes', async () => {
    const snapshot = await snapshotOfNewClaim(ke, 'classless', '1Gi');
    const content = await ke.objects.read<Content>(
      contentRef(snapshot.status!.boundVolumeSnapshotContentName!),
    );
    expect(content.spec.deletionPolicy).toBe('Delete');
    expect(content.spec.volumeSnapshotClassName).toBeUndefined();
    expect(elsewhere.storageBackend.has(content.status!.snapshotHandle!)).toBe(true);
    expect(a.storageBackend.has(content.status!.snapshotHandle!)).toBe(false); // another backend
  });

  it('fails an import whose content names another driver (that driver cannot reach the snapshot)', async () => {
    const handle = await workHandle();
    await importSnapshot(kb, 'wrong-driver', handle, 'pd.csi.storage.gke.io');
    expect((await settled(kb, 'wrong-driver')).status).toMatchObject({
      readyToUse: false,
      error: { message: `snapshot handle ${handle} not found in the storage backend` },
    });
  });

  it('waits for a content created after its snapshot, and refuses one that names another snapshot', async () => {
    const handle = await workHandle();
    await kb.objects.create({
      ...snapshotRef('late'),
      spec: { source: { volumeSnapshotContentName: 'late-content' } },
    } as KubernetesObject);
    // A snapshot made after it, settled: the controller has had its turn at 'late' too, and left it waiting.
    await importSnapshot(kb, 'late-barrier', handle);
    await settled(kb, 'late-barrier');
    expect((await kb.objects.read<Snapshot>(snapshotRef('late'))).status).toBeUndefined();
    await kb.objects.create({
      ...contentRef('late-content'),
      spec: {
        driver: DRIVER,
        deletionPolicy: 'Retain',
        source: { snapshotHandle: handle },
        volumeSnapshotRef: { name: 'late', namespace: 'default' },
      },
    } as KubernetesObject);
    expect((await settled(kb, 'late')).status!.readyToUse).toBe(true);

    await kb.objects.create({
      ...snapshotRef('squatter'),
      spec: { source: { volumeSnapshotContentName: 'late-content' } },
    } as KubernetesObject);
    expect((await settled(kb, 'squatter')).status).toMatchObject({
      readyToUse: false,
      error: { message: 'VolumeSnapshotContent late-content is bound to another snapshot' },
    });
  });

  it('deletes a Delete content with its snapshot, and the backend’s snapshot with it', async () => {
    const snapshot = await snapshotOfNewClaim(ka, 'scratch', '5Gi');
    const content = snapshot.status!.boundVolumeSnapshotContentName!;
    const handle = `snap-${snapshot.metadata!.uid}`;
    expect(a.storageBackend.has(handle)).toBe(true);
    await ka.objects.delete(snapshotRef('scratch-snap'));
    await eventually(
      () => contentNames(ka),
      (names) => !names.includes(content),
    );
    expect(a.storageBackend.has(handle)).toBe(false);
    await importSnapshot(kb, 'gone', handle);
    expect((await settled(kb, 'gone')).status!.readyToUse).toBe(false);
  });

  it('keeps a content (and the backend’s snapshot) whose class retains it, after the snapshot goes', async () => {
    await ka.objects.create({
      apiVersion: SNAPSHOT_API,
      kind: 'VolumeSnapshotClass',
      metadata: { name: 'retained' },
      driver: DRIVER,
      deletionPolicy: 'Retain',
    } as KubernetesObject);
    const snapshot = await snapshotOfNewClaim(ka, 'kept', '5Gi', 'retained');
    const content = snapshot.status!.boundVolumeSnapshotContentName!;
    const handle = `snap-${snapshot.metadata!.uid}`;
    expect((await ka.objects.read<Content>(contentRef(content))).spec).toMatchObject({
      deletionPolicy: 'Retain',
      volumeSnapshotClassName: 'retained',
    });
    await ka.objects.delete(snapshotRef('kept-snap'));
    await eventually(
      async () =>
        (await ka.objects.list(SNAPSHOT_API, 'VolumeSnapshot', 'default')).items.map((s) => s.metadata!.name),
      (names) => !names.includes('kept-snap'),
    );
    expect(await contentNames(ka)).toContain(content);
    expect(a.storageBackend.has(handle)).toBe(true);
  });
});

/**
 * Storage for the deployer's disks on the real tier, which has none (docs/kube-tier.md: no CSI
 * driver, no snapshot controller, no VolumeSnapshot CRDs), stood in for through the real API as its
 * administrator — the deployer under test sees only what Kubernetes shows of storage that works:
 *
 * - the official VolumeSnapshot CRDs, as Kubernetes ships them (`cluster/addons/volumesnapshots/crd`
 *   of the pinned k8s.io/kubernetes module, in the Go module cache `kube:build` filled), when the
 *   API server does not serve them yet (removed again at the end);
 * - for each claim of the namespace that nothing binds, a static PersistentVolume pre-bound to it
 *   (the real PersistentVolume controller binds the two);
 * - for each VolumeSnapshot, what the snapshot controller and the CSI snapshotter write: a bound
 *   VolumeSnapshotContent with a backend handle (for an import, the one it names) and ready
 *   statuses.
 *
 * On a tier that has a default StorageClass (real storage), it does nothing.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  ApiextensionsV1Api,
  CustomObjectsApi,
  StorageV1Api,
  type V1CustomResourceDefinition,
  type V1PersistentVolumeClaim,
} from '@kubernetes/client-node';
import { parse as parseYaml } from 'yaml';
import { projectRoot } from '../../src/app/version';
import type { KubeClients } from '../support/simulator';

const GROUP = 'snapshot.storage.k8s.io';
const VERSION = 'v1';
/** The driver of the stand-in's volumes and snapshots (one the deployer's policy allows by default). */
export const STAND_IN_DRIVER = 'ebs.csi.aws.com';
const MADE_BY = 'odc.dev/storage-stand-in';

interface Snapshot {
  metadata: { name: string; namespace: string; uid: string };
  spec: { source: { persistentVolumeClaimName?: string; volumeSnapshotContentName?: string } };
  status?: { boundVolumeSnapshotContentName?: string };
}

interface Content {
  metadata: { name: string };
  spec: { source: { snapshotHandle?: string } };
  status?: { snapshotHandle?: string };
}

export interface StorageStandIn {
  /** Stops standing in and removes what it made. */
  close(): Promise<void>;
}

/** The provisioner of the cluster's default StorageClass, if it has one. */
export async function defaultProvisioner(k: KubeClients): Promise<string | undefined> {
  const classes = await k.kc.makeApiClient(StorageV1Api).listStorageClass();
  return classes.items.find(
    (c) => c.metadata?.annotations?.['storageclass.kubernetes.io/is-default-class'] === 'true',
  )?.provisioner;
}

export async function standInForStorage(k: KubeClients, namespace: string): Promise<StorageStandIn> {
  if ((await defaultProvisioner(k)) !== undefined) {
    return { close: async () => undefined };
  }
  const extensions = k.kc.makeApiClient(ApiextensionsV1Api);
  const custom = k.kc.makeApiClient(CustomObjectsApi);
  const installed = await installSnapshotCrds(extensions);
  // Established is not yet served: a new CRD's storage answers 429 for a moment.
  await waitFor(
    () =>
      Promise.all(
        ['volumesnapshots', 'volumesnapshotcontents'].map((plural) =>
          custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural }),
        ),
      ).then(
        () => true,
        () => false,
      ),
    'the VolumeSnapshot API to be served',
  );

  const madeVolumes = new Set<string>();
  const madeContents = new Set<string>();

  async function bindClaims(): Promise<void> {
    const claims = await k.core.listNamespacedPersistentVolumeClaim({ namespace });
    for (const claim of claims.items) {
      const name = `stand-in-${claim.metadata!.uid!}`;
      if (claim.spec?.volumeName || claim.status?.phase !== 'Pending' || madeVolumes.has(name)) {
        continue;
      }
      madeVolumes.add(name);
      await k.core.createPersistentVolume({ body: volumeFor(claim, name) });
    }
  }

  async function readySnapshots(): Promise<void> {
    const list = (await custom.listNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace,
      plural: 'volumesnapshots',
    })) as { items: Snapshot[] };
    for (const snapshot of list.items) {
      if (snapshot.status?.boundVolumeSnapshotContentName) {
        continue;
      }
      const { persistentVolumeClaimName: claimName, volumeSnapshotContentName: imported } =
        snapshot.spec.source;
      let contentName: string;
      let handle: string;
      if (claimName) {
        const claim = await k.core.readNamespacedPersistentVolumeClaim({ namespace, name: claimName });
        if (claim.status?.phase !== 'Bound') {
          continue;
        }
        const volume = await k.core.readPersistentVolume({ name: claim.spec!.volumeName! });
        contentName = `snapcontent-${snapshot.metadata.uid}`;
        handle = `snap-${snapshot.metadata.uid}`;
        if (!madeContents.has(contentName)) {
          madeContents.add(contentName);
          await custom.createClusterCustomObject({
            group: GROUP,
            version: VERSION,
            plural: 'volumesnapshotcontents',
            body: {
              apiVersion: `${GROUP}/${VERSION}`,
              kind: 'VolumeSnapshotContent',
              metadata: { name: contentName, labels: { [MADE_BY]: 'true' } },
              spec: {
                deletionPolicy: 'Delete',
                driver: volume.spec?.csi?.driver ?? STAND_IN_DRIVER,
                source: { volumeHandle: volume.spec?.csi?.volumeHandle },
                volumeSnapshotRef: {
                  apiVersion: `${GROUP}/${VERSION}`,
                  kind: 'VolumeSnapshot',
                  namespace,
                  name: snapshot.metadata.name,
                  uid: snapshot.metadata.uid,
                },
              },
            },
          });
        }
      } else if (imported) {
        const content = (await custom
          .getClusterCustomObject({
            group: GROUP,
            version: VERSION,
            plural: 'volumesnapshotcontents',
            name: imported,
          })
          .catch(() => undefined)) as Content | undefined;
        if (!content?.spec.source.snapshotHandle) {
          continue;
        }
        contentName = imported;
        handle = content.spec.source.snapshotHandle;
      } else {
        continue;
      }
      const now = new Date();
      await custom.patchClusterCustomObjectStatus({
        group: GROUP,
        version: VERSION,
        plural: 'volumesnapshotcontents',
        name: contentName,
        body: [
          {
            op: 'add',
            path: '/status',
            value: {
              snapshotHandle: handle,
              readyToUse: true,
              restoreSize: 10 * 1024 ** 3,
              creationTime: now.getTime() * 1_000_000,
            },
          },
        ],
      });
      await custom.patchNamespacedCustomObjectStatus({
        group: GROUP,
        version: VERSION,
        namespace,
        plural: 'volumesnapshots',
        name: snapshot.metadata.name,
        body: [
          {
            op: 'add',
            path: '/status',
            value: {
              boundVolumeSnapshotContentName: contentName,
              readyToUse: true,
              restoreSize: '10Gi',
              creationTime: now.toISOString(),
            },
          },
        ],
      });
    }
  }

  let running = true;
  const loop = (async () => {
    while (running) {
      try {
        await bindClaims();
        await readySnapshots();
      } catch (error) {
        // An object deleted or changed under its feet, or the API server busy: the next round sees
        // the new state.
        const code = (error as { code?: number }).code;
        if (code !== 404 && code !== 409 && code !== 429) {
          console.warn('storage stand-in:', error);
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();

  return {
    close: async () => {
      running = false;
      await loop;
      for (const name of madeContents) {
        await custom
          .deleteClusterCustomObject({
            group: GROUP,
            version: VERSION,
            plural: 'volumesnapshotcontents',
            name,
          })
          .catch(() => undefined);
      }
      for (const name of madeVolumes) {
        await k.core.deletePersistentVolume({ name }).catch(() => undefined);
      }
      for (const name of installed) {
        await extensions.deleteCustomResourceDefinition({ name });
      }
      await waitFor(async () => {
        for (const name of installed) {
          if (await extensions.readCustomResourceDefinition({ name }).then(() => true, isPresent)) {
            return false;
          }
        }
        return true;
      }, 'the VolumeSnapshot CRDs to be removed');
    },
  };
}

/** A static volume for a claim: its size and access modes, pre-bound to it, kept when released. */
function volumeFor(claim: V1PersistentVolumeClaim, name: string) {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name, labels: { [MADE_BY]: 'true' } },
    spec: {
      capacity: { storage: claim.spec?.resources?.requests?.storage ?? '1Gi' },
      accessModes: claim.spec?.accessModes ?? ['ReadWriteOnce'],
      persistentVolumeReclaimPolicy: 'Retain',
      storageClassName: claim.spec?.storageClassName ?? '',
      claimRef: {
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        namespace: claim.metadata!.namespace!,
        name: claim.metadata!.name!,
        uid: claim.metadata!.uid!,
      },
      csi: { driver: STAND_IN_DRIVER, volumeHandle: `vol-${claim.metadata!.uid!}` },
    },
  };
}

/**
 * Installs the VolumeSnapshot CRDs the API server does not serve yet, waits until they are
 * established, and names the ones it installed.
 */
async function installSnapshotCrds(extensions: ApiextensionsV1Api): Promise<string[]> {
  const installed: string[] = [];
  for (const crd of snapshotCrds()) {
    const name = crd.metadata!.name!;
    const exists = await extensions.readCustomResourceDefinition({ name }).then(() => true, isPresent);
    if (!exists) {
      await extensions.createCustomResourceDefinition({ body: crd });
      installed.push(name);
    }
  }
  await waitFor(async () => {
    for (const name of installed) {
      const crd = await extensions.readCustomResourceDefinition({ name });
      if (!crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) {
        return false;
      }
    }
    return true;
  }, 'the VolumeSnapshot CRDs to be established');
  return installed;
}

/** The CRDs Kubernetes ships for VolumeSnapshots, at the release the tier runs. */
function snapshotCrds(): V1CustomResourceDefinition[] {
  const versions = readFileSync(join(projectRoot(), 'scripts', 'kube', 'versions.env'), 'utf8');
  const release = /^K8S_VERSION=(\S+)$/m.exec(versions)?.[1];
  const modules = execFileSync('go', ['env', 'GOMODCACHE'], { encoding: 'utf8' }).trim();
  const dir = join(modules, 'k8s.io', `kubernetes@${release}`, 'cluster', 'addons', 'volumesnapshots', 'crd');
  const files = readdirSync(dir).filter((file) => file.endsWith('.yaml'));
  if (files.length === 0) {
    throw new Error(`no VolumeSnapshot CRDs in ${dir}: run npm run kube:build`);
  }
  return files.map((file) => parseYaml(readFileSync(join(dir, file), 'utf8')) as V1CustomResourceDefinition);
}

/** For `.then(() => true, isPresent)`: false on 404, the error otherwise. */
function isPresent(error: unknown): boolean {
  if ((error as { code?: number }).code === 404) {
    return false;
  }
  throw error;
}

async function waitFor(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!(await check())) {
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

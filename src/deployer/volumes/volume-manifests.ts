/**
 * The objects a disk or a snapshot is made of, built from the request alone (no cluster reads): a
 * claim, with a static PersistentVolume when it adopts an existing volume; a VolumeSnapshot, with a
 * pre-provisioned VolumeSnapshotContent when it imports one the storage backend holds.
 */
import { createHash } from 'node:crypto';
import { LABELS, MANAGED_BY, type Manifest, type SnapshotRequest, type VolumeRequest } from '../contract';
import { SNAPSHOT_API } from './volume-objects';

/**
 * A cluster-scoped name for what the deployer makes for one namespaced object, unique per namespace
 * and name (`odc-<ns>-<name>` alone is ambiguous: `a-b`/`c` and `a`/`b-c`).
 */
function clusterScopedName(namespace: string, name: string): string {
  const digest = createHash('sha256').update(`${namespace}/${name}`).digest('hex').slice(0, 8);
  return `odc-${namespace}-${name}-${digest}`;
}

/** The static PersistentVolume of a disk. */
export const staticVolumeName = clusterScopedName;

/** The pre-provisioned VolumeSnapshotContent of an imported snapshot. */
export const importedContentName = clusterScopedName;

function managedLabels(name: string, extra: Record<string, string> = {}): Record<string, string> {
  return { ...extra, [LABELS.managedBy]: MANAGED_BY, [LABELS.persistentDisk]: name };
}

/** The static PV (when the volume exists already) and the claim, in the order they are applied. */
export function volumeManifests(
  request: VolumeRequest,
  namespace: string,
): { field: string; manifest: Manifest }[] {
  const labels = managedLabels(request.name, request.labels);
  const accessModes = [request.access_mode ?? 'ReadWriteOnce'];
  const source = request.static_volume;
  const pvName = staticVolumeName(namespace, request.name);
  const claim: Manifest = {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: request.name, namespace, labels },
    spec: {
      accessModes,
      resources: { requests: { storage: request.size } },
      ...(source
        ? { storageClassName: request.storage_class ?? '', volumeName: pvName }
        : request.storage_class
          ? { storageClassName: request.storage_class }
          : {}),
      ...(request.from_snapshot
        ? {
            dataSource: {
              apiGroup: 'snapshot.storage.k8s.io',
              kind: 'VolumeSnapshot',
              name: request.from_snapshot,
            },
          }
        : {}),
    },
  };
  if (!source) {
    return [{ field: 'volume', manifest: claim }];
  }
  const volume: Manifest = {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name: pvName, labels },
    spec: {
      capacity: { storage: request.size },
      accessModes,
      persistentVolumeReclaimPolicy: 'Retain',
      storageClassName: request.storage_class ?? '',
      claimRef: { apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace, name: request.name },
      csi: {
        driver: source.driver,
        volumeHandle: source.volume_handle,
        ...(source.fs_type ? { fsType: source.fs_type } : {}),
      },
      ...(source.zone
        ? {
            nodeAffinity: {
              required: {
                nodeSelectorTerms: [
                  {
                    matchExpressions: [
                      { key: 'topology.kubernetes.io/zone', operator: 'In', values: [source.zone] },
                    ],
                  },
                ],
              },
            },
          }
        : {}),
    },
  };
  return [
    { field: 'static_volume', manifest: volume },
    { field: 'volume', manifest: claim },
  ];
}

/**
 * The VolumeSnapshot, preceded for an import by its pre-provisioned content (Retain: deleting the
 * import never deletes the backend's snapshot), in the order they are applied.
 */
export function snapshotManifests(
  request: SnapshotRequest,
  namespace: string,
): [{ field: string; manifest: Manifest }, ...{ field: string; manifest: Manifest }[]] {
  const contentName = importedContentName(namespace, request.name);
  const snapshotClass = request.snapshot_class ? { volumeSnapshotClassName: request.snapshot_class } : {};
  const snapshot: Manifest = {
    apiVersion: SNAPSHOT_API,
    kind: 'VolumeSnapshot',
    metadata: {
      name: request.name,
      namespace,
      labels: { ...request.labels, [LABELS.managedBy]: MANAGED_BY },
    },
    spec: {
      ...snapshotClass,
      source: request.source
        ? { volumeSnapshotContentName: contentName }
        : { persistentVolumeClaimName: request.volume },
    },
  };
  if (!request.source) {
    return [{ field: 'snapshot', manifest: snapshot }];
  }
  const content: Manifest = {
    apiVersion: SNAPSHOT_API,
    kind: 'VolumeSnapshotContent',
    metadata: { name: contentName, labels: { [LABELS.managedBy]: MANAGED_BY } },
    spec: {
      ...snapshotClass,
      deletionPolicy: 'Retain',
      driver: request.source.driver,
      source: { snapshotHandle: request.source.snapshot_handle },
      volumeSnapshotRef: { name: request.name, namespace },
    },
  };
  return [
    { field: 'source', manifest: content },
    { field: 'snapshot', manifest: snapshot },
  ];
}

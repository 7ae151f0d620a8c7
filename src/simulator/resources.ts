/** Subresources served: `status` (written apart from spec), a pod's `log`, a service account's `token`. */
export type Subresource = 'status' | 'log' | 'token';

/** The kinds the simulated API server serves, with the metadata discovery and routing need. */
export interface ResourceType {
  group: string; // '' for the core group
  version: string;
  kind: string;
  plural: string;
  singular: string;
  namespaced: boolean;
  shortNames?: string[];
  subresources?: Subresource[];
  /**
   * Whether objects carry `metadata.generation` (1 on create, +1 on each spec change): the kinds
   * whose registry strategy sets it, and every custom resource. ConfigMaps, Services and the like
   * have none.
   */
  generation?: boolean;
  /**
   * What a DELETE answers once the object is gone: the object (pods, services, … whose registries
   * set ReturnDeletedObject) or, for the rest, a `Status` of success.
   */
  returnsDeleted?: boolean;
  /**
   * A custom resource (the snapshot CRDs): decoded as unstructured data, so a body must name its
   * `apiVersion` and `kind` (a built-in kind's decoder takes them from the URL).
   */
  custom?: boolean;
}

const core = (
  kind: string,
  plural: string,
  namespaced: boolean,
  extra: Partial<ResourceType> = {},
): ResourceType => ({
  group: '',
  version: 'v1',
  kind,
  plural,
  singular: kind.toLowerCase(),
  namespaced,
  ...extra,
});

const grouped = (
  group: string,
  version: string,
  kind: string,
  plural: string,
  extra: Partial<ResourceType> = {},
): ResourceType => ({
  group,
  version,
  kind,
  plural,
  singular: kind.toLowerCase(),
  namespaced: true,
  ...extra,
});

export const RBAC_GROUP = 'rbac.authorization.k8s.io';

export const RESOURCE_TYPES: ResourceType[] = [
  core('Namespace', 'namespaces', false, {
    shortNames: ['ns'],
    subresources: ['status'],
    returnsDeleted: true,
  }),
  core('Node', 'nodes', false, { shortNames: ['no'], subresources: ['status'], returnsDeleted: true }),
  core('Pod', 'pods', true, {
    shortNames: ['po'],
    subresources: ['status', 'log'],
    generation: true,
    returnsDeleted: true,
  }),
  core('Service', 'services', true, { shortNames: ['svc'], subresources: ['status'], returnsDeleted: true }),
  core('Endpoints', 'endpoints', true, { shortNames: ['ep'] }),
  core('ConfigMap', 'configmaps', true, { shortNames: ['cm'] }),
  core('Secret', 'secrets', true),
  core('PersistentVolume', 'persistentvolumes', false, {
    shortNames: ['pv'],
    subresources: ['status'],
    returnsDeleted: true,
  }),
  core('PersistentVolumeClaim', 'persistentvolumeclaims', true, {
    shortNames: ['pvc'],
    subresources: ['status'],
    returnsDeleted: true,
  }),
  core('Event', 'events', true, { shortNames: ['ev'] }),
  core('ServiceAccount', 'serviceaccounts', true, {
    shortNames: ['sa'],
    subresources: ['token'],
    returnsDeleted: true,
  }),
  grouped('storage.k8s.io', 'v1', 'StorageClass', 'storageclasses', {
    namespaced: false,
    shortNames: ['sc'],
    returnsDeleted: true,
  }),
  grouped('apps', 'v1', 'Deployment', 'deployments', {
    shortNames: ['deploy'],
    subresources: ['status'],
    generation: true,
  }),
  grouped('apps', 'v1', 'ReplicaSet', 'replicasets', {
    shortNames: ['rs'],
    subresources: ['status'],
    generation: true,
  }),
  grouped('networking.k8s.io', 'v1', 'Ingress', 'ingresses', {
    shortNames: ['ing'],
    subresources: ['status'],
    generation: true,
  }),
  grouped('networking.k8s.io', 'v1', 'NetworkPolicy', 'networkpolicies', {
    shortNames: ['netpol'],
    generation: true,
  }),
  grouped('policy', 'v1', 'PodDisruptionBudget', 'poddisruptionbudgets', {
    shortNames: ['pdb'],
    subresources: ['status'],
    generation: true,
  }),
  grouped('batch', 'v1', 'Job', 'jobs', { subresources: ['status'], generation: true }),
  grouped(RBAC_GROUP, 'v1', 'Role', 'roles'),
  grouped(RBAC_GROUP, 'v1', 'RoleBinding', 'rolebindings'),
  grouped(RBAC_GROUP, 'v1', 'ClusterRole', 'clusterroles', { namespaced: false }),
  grouped(RBAC_GROUP, 'v1', 'ClusterRoleBinding', 'clusterrolebindings', { namespaced: false }),
  // The snapshot kinds are the CSI snapshotter's CRDs: short names as those declare them.
  grouped('snapshot.storage.k8s.io', 'v1', 'VolumeSnapshot', 'volumesnapshots', {
    custom: true,
    shortNames: ['vs'],
    subresources: ['status'],
    generation: true,
  }),
  grouped('snapshot.storage.k8s.io', 'v1', 'VolumeSnapshotClass', 'volumesnapshotclasses', {
    custom: true,
    namespaced: false,
    shortNames: ['vsclass', 'vsclasses'],
    generation: true,
  }),
  grouped('snapshot.storage.k8s.io', 'v1', 'VolumeSnapshotContent', 'volumesnapshotcontents', {
    custom: true,
    namespaced: false,
    shortNames: ['vsc', 'vscs'],
    subresources: ['status'],
    generation: true,
  }),
];

export function apiVersionOf(type: ResourceType): string {
  return type.group ? `${type.group}/${type.version}` : type.version;
}

/** Stable key of a resource type, e.g. `apps/deployments` or `/pods`. */
export function typeKey(type: ResourceType): string {
  return `${type.group}/${type.plural}`;
}

/** The type of a `typeKey`, if this version serves it. */
export function typeOfKey(key: string): ResourceType | undefined {
  return RESOURCE_TYPES.find((type) => typeKey(type) === key);
}

export function findType(group: string, version: string, plural: string): ResourceType | undefined {
  return RESOURCE_TYPES.find((t) => t.group === group && t.version === version && t.plural === plural);
}

/** The subresource a type serves under this name, if it serves one. */
export function servedSubresource(type: ResourceType, name: string): Subresource | undefined {
  return (type.subresources ?? []).find((served) => served === name);
}

/** Group versions served, for discovery: core `v1` under /api, the rest under /apis. */
export function groupVersions(): { group: string; version: string }[] {
  const seen = new Map<string, { group: string; version: string }>();
  for (const type of RESOURCE_TYPES) {
    seen.set(`${type.group}/${type.version}`, { group: type.group, version: type.version });
  }
  return [...seen.values()];
}

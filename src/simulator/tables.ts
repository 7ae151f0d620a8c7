/**
 * Server-side printing: kubectl asks for `as=Table` and prints the columns the server chooses
 * (`kubectl get pods` → NAME READY STATUS RESTARTS AGE). Kinds without columns of their own get
 * NAME and AGE, as for custom resources.
 */
import type { K8sObject } from './store';

interface Column {
  name: string;
  type: 'string' | 'integer' | 'date';
  cell: (object: K8sObject) => string | number;
  priority?: number;
}

export function age(timestamp: string | undefined, now = Date.now()): string {
  if (!timestamp) {
    return '<unknown>';
  }
  const seconds = Math.max(0, Math.floor((now - Date.parse(timestamp)) / 1000));
  if (seconds < 120) {
    return `${seconds}s`;
  }
  if (seconds < 7200) {
    return `${Math.floor(seconds / 60)}m`;
  }
  return seconds < 172_800 ? `${Math.floor(seconds / 3600)}h` : `${Math.floor(seconds / 86_400)}d`;
}

type Status = {
  phase?: string;
  reason?: string;
  podIP?: string;
  conditions?: { type: string; status: string }[];
  containerStatuses?: { ready: boolean; restartCount: number; state?: { waiting?: { reason?: string } } }[];
  readyReplicas?: number;
  updatedReplicas?: number;
  availableReplicas?: number;
  capacity?: { storage?: string };
  readyToUse?: boolean;
  addresses?: { type: string; address: string }[];
};
const status = (o: K8sObject) => (o.status ?? {}) as Status;
const spec = (o: K8sObject) => (o.spec ?? {}) as Record<string, unknown>;

const contentStatus = (o: K8sObject) => (o.status ?? {}) as { restoreSize?: number };
const contentSpec = (o: K8sObject) =>
  spec(o) as { deletionPolicy?: string; driver?: string; volumeSnapshotRef?: { name?: string } };

const NAME: Column = { name: 'Name', type: 'string', cell: (o) => o.metadata.name };
const AGE: Column = { name: 'Age', type: 'string', cell: (o) => age(o.metadata.creationTimestamp) };

function podStatus(pod: K8sObject): string {
  if (pod.metadata.deletionTimestamp) {
    return 'Terminating';
  }
  const waiting = status(pod).containerStatuses?.find((c) => c.state?.waiting?.reason)?.state?.waiting
    ?.reason;
  return waiting ?? status(pod).reason ?? status(pod).phase ?? 'Pending';
}

type ServiceSpec = {
  type?: string;
  clusterIP?: string;
  externalIPs?: string[];
  ports?: { port: number; nodePort?: number; protocol?: string }[];
  selector?: Record<string, string>;
};
const serviceSpec = (o: K8sObject) => spec(o) as ServiceSpec;

/** `22:30022/TCP,8888/TCP`, as `kubectl get services` prints them. */
function servicePorts(service: K8sObject): string {
  const ports = serviceSpec(service).ports ?? [];
  return ports.length === 0
    ? '<none>'
    : ports.map((p) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ''}/${p.protocol ?? 'TCP'}`).join(',');
}

type LabelSelector = {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
};

/** `app=web,tier in (a,b)`, or `<none>` for the empty selector, as kubectl prints a label selector. */
export function formatLabelSelector(selector: LabelSelector | undefined): string {
  const values = (list: string[] | undefined) => `(${[...(list ?? [])].sort().join(',')})`;
  const requirements = [
    ...Object.entries(selector?.matchLabels ?? {}).map(([key, value]) => ({ key, text: `${key}=${value}` })),
    ...(selector?.matchExpressions ?? []).map(({ key, operator, values: list }) => {
      const text =
        operator === 'In'
          ? `${key} in ${values(list)}`
          : operator === 'NotIn'
            ? `${key} notin ${values(list)}`
            : operator === 'DoesNotExist'
              ? `!${key}`
              : key;
      return { key, text };
    }),
  ];
  requirements.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return requirements.map((r) => r.text).join(',') || '<none>';
}

type Subject = { kind: string; name: string; namespace?: string };

/** The subjects of one kind a binding names, as `kubectl get rolebindings -o wide` lists them. */
function subjectsOf(binding: K8sObject, kind: string): string {
  return ((binding.subjects ?? []) as Subject[])
    .filter((subject) => subject.kind === kind)
    .map((subject) =>
      kind === 'ServiceAccount' ? `${subject.namespace ?? ''}/${subject.name}` : subject.name,
    )
    .join(', ');
}

const ROLE_COLUMNS: Column[] = [
  NAME,
  { name: 'Created At', type: 'date', cell: (r) => r.metadata.creationTimestamp ?? '' },
];

const BINDING_COLUMNS: Column[] = [
  NAME,
  {
    name: 'Role',
    type: 'string',
    cell: (b) => {
      const roleRef = (b.roleRef ?? {}) as { kind?: string; name?: string };
      return `${roleRef.kind}/${roleRef.name}`;
    },
  },
  AGE,
  { name: 'Users', type: 'string', cell: (b) => subjectsOf(b, 'User'), priority: 1 },
  { name: 'Groups', type: 'string', cell: (b) => subjectsOf(b, 'Group'), priority: 1 },
  { name: 'ServiceAccounts', type: 'string', cell: (b) => subjectsOf(b, 'ServiceAccount'), priority: 1 },
];

const COLUMNS: Record<string, Column[]> = {
  Pod: [
    NAME,
    {
      name: 'Ready',
      type: 'string',
      cell: (p) => {
        const containers = status(p).containerStatuses ?? [];
        const total = (spec(p).containers as unknown[] | undefined)?.length ?? 0;
        return `${containers.filter((c) => c.ready).length}/${total}`;
      },
    },
    { name: 'Status', type: 'string', cell: podStatus },
    {
      name: 'Restarts',
      type: 'integer',
      cell: (p) => (status(p).containerStatuses ?? []).reduce((n, c) => n + c.restartCount, 0),
    },
    AGE,
    { name: 'IP', type: 'string', cell: (p) => status(p).podIP ?? '<none>', priority: 1 },
    {
      name: 'Node',
      type: 'string',
      cell: (p) => (spec(p).nodeName as string | undefined) ?? '<none>',
      priority: 1,
    },
  ],
  Node: [
    NAME,
    {
      name: 'Status',
      type: 'string',
      cell: (n) =>
        status(n).conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ? 'Ready' : 'NotReady',
    },
    { name: 'Roles', type: 'string', cell: () => '<none>' },
    AGE,
    { name: 'Version', type: 'string', cell: () => 'v1.32.0-odc-sim' },
    {
      name: 'Internal-IP',
      type: 'string',
      cell: (n) => status(n).addresses?.find((a) => a.type === 'InternalIP')?.address ?? '<none>',
      priority: 1,
    },
    {
      name: 'GPU',
      type: 'string',
      cell: (n) => n.metadata.labels?.['nvidia.com/gpu.product'] ?? '<none>',
      priority: 1,
    },
  ],
  Deployment: [
    NAME,
    {
      name: 'Ready',
      type: 'string',
      cell: (d) => `${status(d).readyReplicas ?? 0}/${(spec(d).replicas as number | undefined) ?? 1}`,
    },
    { name: 'Up-to-date', type: 'integer', cell: (d) => status(d).updatedReplicas ?? 0 },
    { name: 'Available', type: 'integer', cell: (d) => status(d).availableReplicas ?? 0 },
    AGE,
  ],
  Service: [
    NAME,
    { name: 'Type', type: 'string', cell: (s) => serviceSpec(s).type ?? 'ClusterIP' },
    { name: 'Cluster-IP', type: 'string', cell: (s) => serviceSpec(s).clusterIP ?? '<none>' },
    {
      name: 'External-IP',
      type: 'string',
      cell: (s) =>
        serviceSpec(s).externalIPs?.join(',') ||
        (serviceSpec(s).type === 'LoadBalancer' ? '<pending>' : '<none>'),
    },
    { name: 'Port(s)', type: 'string', cell: servicePorts },
    AGE,
    {
      name: 'Selector',
      type: 'string',
      cell: (s) =>
        Object.entries(serviceSpec(s).selector ?? {})
          .map(([key, value]) => `${key}=${value}`)
          .join(',') || '<none>',
      priority: 1,
    },
  ],
  PersistentVolumeClaim: [
    NAME,
    { name: 'Status', type: 'string', cell: (c) => status(c).phase ?? 'Pending' },
    { name: 'Volume', type: 'string', cell: (c) => (spec(c).volumeName as string | undefined) ?? '' },
    { name: 'Capacity', type: 'string', cell: (c) => status(c).capacity?.storage ?? '' },
    {
      name: 'StorageClass',
      type: 'string',
      cell: (c) => (spec(c).storageClassName as string | undefined) ?? '',
    },
    AGE,
  ],
  ServiceAccount: [
    NAME,
    { name: 'Secrets', type: 'integer', cell: (a) => (a.secrets as unknown[] | undefined)?.length ?? 0 },
    AGE,
  ],
  NetworkPolicy: [
    NAME,
    {
      name: 'Pod-Selector',
      type: 'string',
      cell: (p) => formatLabelSelector(spec(p).podSelector as LabelSelector | undefined),
    },
    AGE,
  ],
  Role: ROLE_COLUMNS,
  ClusterRole: ROLE_COLUMNS,
  RoleBinding: BINDING_COLUMNS,
  ClusterRoleBinding: BINDING_COLUMNS,
  VolumeSnapshot: [
    NAME,
    { name: 'ReadyToUse', type: 'string', cell: (s) => String(status(s).readyToUse ?? false) },
    AGE,
  ],
  // The printer columns of the CSI snapshotter's CRD (restore size in bytes, as the content keeps it).
  VolumeSnapshotContent: [
    NAME,
    { name: 'ReadyToUse', type: 'string', cell: (c) => String(status(c).readyToUse ?? false) },
    { name: 'RestoreSize', type: 'integer', cell: (c) => contentStatus(c).restoreSize ?? 0 },
    { name: 'DeletionPolicy', type: 'string', cell: (c) => contentSpec(c).deletionPolicy ?? '' },
    { name: 'Driver', type: 'string', cell: (c) => contentSpec(c).driver ?? '' },
    { name: 'VolumeSnapshot', type: 'string', cell: (c) => contentSpec(c).volumeSnapshotRef?.name ?? '' },
    AGE,
  ],
};

export function wantsTable(accept: string | undefined): boolean {
  return (accept ?? '').split(',')[0]?.includes('as=Table') ?? false;
}

export function asTable(
  kind: string,
  objects: K8sObject[],
  resourceVersion: string,
  includeObject: string | null,
): unknown {
  const columns = COLUMNS[kind] ?? [NAME, AGE];
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: { resourceVersion },
    columnDefinitions: columns.map((c) => ({
      name: c.name,
      type: c.type,
      format: c === NAME ? 'name' : '',
      description: c.name,
      priority: c.priority ?? 0,
    })),
    rows: objects.map((object) => ({
      cells: columns.map((c) => c.cell(object)),
      object:
        includeObject === 'Object'
          ? object
          : { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: object.metadata },
    })),
  };
}

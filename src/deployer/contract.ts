/**
 * The deployer's wire format, kept compatible with the platform ODC replaces (its `vicetypes`):
 * what the coordinator sends and what the deployer answers. Imported by both sides, so it is
 * defined exactly once.
 */

/** Bumped on any incompatible change of `DeploymentSpec`; a deployer refuses versions it does not know. */
export const SPEC_VERSION = 1;

/** Most external ids one `GET /deployments?external_id=` may name (the selector goes in a URL). */
export const MAX_EXTERNAL_IDS = 100;

export const LABELS = {
  managedBy: 'app.kubernetes.io/managed-by',
  externalId: 'odc.dev/external-id',
  /** On volumes of persistent disks: they outlive deployments and DELETE /deployments leaves them. */
  persistentDisk: 'odc.dev/persistent-disk',
} as const;

export const MANAGED_BY = 'odc-deployer';
export const FIELD_MANAGER = 'odc-deployer';

/** A Kubernetes object as sent: apiVersion, kind, metadata and the rest. */
export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [field: string]: unknown;
}

export interface DeploymentMetadata {
  external_id: string;
  reservation_id: string;
  user_id: string;
  username: string;
  spec_version: number;
  /**
   * The persistent disk's claim (made by POST /volumes) the workload mounts, when it has one. A
   * spec's pods may mount only this claim and those the spec itself creates.
   */
  disk_claim?: string;
}

export interface DeploymentSpec {
  metadata: DeploymentMetadata;
  deployment?: Manifest;
  pod?: Manifest;
  service?: Manifest;
  ingress?: Manifest;
  config_maps?: Manifest[];
  persistent_volumes?: Manifest[];
  persistent_volume_claims?: Manifest[];
  pod_disruption_budget?: Manifest;
}

export interface AppliedObject {
  kind: string;
  name: string;
  namespace?: string;
  /** `pruned`: an object of an earlier spec of this deployment that this one no longer has, deleted. */
  action: 'created' | 'configured' | 'unchanged' | 'pruned';
}

export interface ApplyResult {
  external_id: string;
  objects: AppliedObject[];
}

export interface PolicyViolation {
  path: string;
  rule: string;
}

export interface PodSummary {
  name: string;
  phase: string;
  ready: boolean;
  node?: string;
  restarts: number;
  /** e.g. OOMKilled, Error, ErrImagePull */
  last_termination_reason?: string;
  /** Why it is not scheduled, when it is not. */
  scheduling_message?: string;
}

/**
 * Where SSH reaches a deployment: `ssh -p <node_port> dev@<host_ip>`. The port is the node port of
 * its Service's port named `ssh`; the address and node are those of its ready (else running) pod.
 */
export interface SshEndpoint {
  node_port: number;
  /** The pod's node's address (`status.hostIP`), once the pod runs. */
  host_ip?: string;
  node?: string;
}

export interface DeploymentStatus {
  external_id: string;
  exists: boolean;
  ready_replicas: number;
  pods: PodSummary[];
  warnings: { reason: string; message: string; object: string; at?: string }[];
  /** Once its Service has a node port for SSH. */
  ssh?: SshEndpoint;
  /** The host of its Ingress rule (Jupyter), when it has one. */
  jupyter_host?: string;
}

/** Query options of GET /deployments/{id}/logs (as Kubernetes' pod log API names them). */
export interface LogOptions {
  container?: string;
  tailLines?: number;
  sinceSeconds?: number;
  previous?: boolean;
  timestamps?: boolean;
}

/** GET /health: the deployer can reach its Kubernetes. */
export interface DeployerHealth {
  status: 'ok';
  kubernetes: { reachable: true; version: string };
  namespaces: string[];
  uptime_seconds: number;
}

export interface UrlReady {
  ready: boolean;
  checks: { workload: boolean; service: boolean; ingress: boolean };
}

/** Every object field of a deployment spec, in the order answers list them. */
export const APPLY_ORDER: (keyof Omit<DeploymentSpec, 'metadata'>)[] = [
  'config_maps',
  'persistent_volumes',
  'persistent_volume_claims',
  'service',
  'ingress',
  'pod_disruption_budget',
  'deployment',
  'pod',
];

/**
 * The workload goes last, once what it mounts and what protects it exist (its pods then start with
 * their keys and volume, under their disruption budget); everything else goes at once before it.
 */
export const WORKLOAD_FIELDS: readonly string[] = ['deployment', 'pod'];

export function manifestsOf(spec: DeploymentSpec): { field: string; manifest: Manifest }[] {
  return APPLY_ORDER.flatMap((field) => {
    const value = spec[field];
    const list = Array.isArray(value) ? value : value ? [value] : [];
    return list.map((manifest, index) => ({
      field: Array.isArray(value) ? `${field}[${index}]` : field,
      manifest,
    }));
  });
}

export interface NodeCapacity {
  name: string;
  gpu_type?: string;
  /** The node's labels: the coordinator matches them against its cluster profile's GPU types and zones. */
  labels: Record<string, string>;
  allocatable_gpus: number;
  /** GPUs requested by pods on the node that have not terminated (any namespace). */
  requested_gpus: number;
  /** Of those, GPUs of pods this deployer manages (ODC's reservations): the rest are others'. */
  managed_gpus: number;
  ready: boolean;
  schedulable: boolean;
}

export interface GpuTypeCapacity {
  gpu_type: string;
  nodes: number;
  allocatable_gpus: number;
  requested_gpus: number;
  free_gpus: number;
}

export interface ClusterCapacity {
  nodes: NodeCapacity[];
  totals: GpuTypeCapacity[];
}

/** Labels the deployer puts on what it creates besides a deployment's objects. */
export const FILE_TRANSFER_LABEL = 'odc.dev/file-transfer';

export type AccessMode = 'ReadWriteOnce' | 'ReadWriteOncePod' | 'ReadWriteMany';

/**
 * An existing volume given to Kubernetes as a static PersistentVolume (an EBS volume by id, a GCE
 * PD, …): the deployer creates the PV (reclaim policy Retain: deleting it never deletes the data)
 * and binds the claim to it.
 */
export interface StaticVolumeSource {
  driver: string;
  volume_handle: string;
  fs_type?: string;
  /** Pins pods to the volume's zone (topology.kubernetes.io/zone). */
  zone?: string;
}

/** POST /volumes: a claim that outlives deployments (a persistent disk). */
export interface VolumeRequest {
  name: string;
  namespace?: string;
  /** Kubernetes quantity, e.g. 100Gi. */
  size: string;
  storage_class?: string;
  access_mode?: AccessMode;
  /** Restore: the VolumeSnapshot (same namespace) the claim starts from. */
  from_snapshot?: string;
  static_volume?: StaticVolumeSource;
  labels?: Record<string, string>;
}

export interface VolumeInfo {
  name: string;
  namespace: string;
  /** Pending, Bound or Lost (the claim's phase). */
  phase: string;
  requested_size: string;
  capacity?: string;
  storage_class?: string;
  volume_name?: string;
  from_snapshot?: string;
  created_at?: string;
  /** Pods (not finished) that mount the claim. */
  used_by: string[];
  labels: Record<string, string>;
}

/**
 * A snapshot that exists in the storage backend already (taken in another cluster that shares this
 * one's backend, e.g. the same cloud region): imported as a pre-provisioned VolumeSnapshotContent
 * with deletion policy Retain, so deleting the import never deletes the backend's snapshot.
 */
export interface SnapshotSource {
  snapshot_handle: string;
  /** The CSI driver that made it (must be one the deployer's policy allows). */
  driver: string;
}

/**
 * POST /snapshots: a VolumeSnapshot, either of a claim here (`volume`) or imported from the
 * backend (`source`); exactly one of the two.
 */
export interface SnapshotRequest {
  name: string;
  namespace?: string;
  volume?: string;
  source?: SnapshotSource;
  snapshot_class?: string;
  labels?: Record<string, string>;
}

export interface SnapshotInfo {
  name: string;
  namespace: string;
  /** The claim it was taken of; empty for an imported snapshot. */
  volume: string;
  snapshot_class?: string;
  /** Set once the snapshot is cut: the backend's handle and driver, with which another cluster imports it. */
  snapshot_handle?: string;
  driver?: string;
  /** Imported from the backend (SnapshotRequest.source) rather than taken here. */
  imported?: boolean;
  ready_to_use: boolean;
  restore_size?: string;
  error?: string;
  created_at?: string;
  labels: Record<string, string>;
}

export type TransferDirection = 'upload' | 'download';

/** POST /deployments/{id}/file-transfers/{upload|download}: a Job that mounts the deployment's volume. */
export interface FileTransferRequest {
  image: string;
  command?: string[];
  args?: string[];
  env?: { name: string; value: string }[];
  /** The claim to mount; default: the one the deployment's pod mounts. */
  volume?: string;
  /** Default /data. */
  mount_path?: string;
  /** Default 3600. */
  timeout_seconds?: number;
}

export type TransferState = 'pending' | 'running' | 'succeeded' | 'failed';

export interface FileTransferInfo {
  id: string;
  external_id: string;
  direction: TransferDirection;
  volume: string;
  state: TransferState;
  created_at?: string;
  completed_at?: string;
  /** Why it failed, or what it waits for. */
  message?: string;
}

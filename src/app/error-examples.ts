import { AuthErrorCode } from '../auth/auth.errors';
import { ClusterErrorCode } from '../clusters/cluster.errors';
import { DeployerErrorCode } from '../deployer/deployer.errors';
import { CommonErrorCode, type FieldProblem } from '../infra/errors/app-error';
import { ReservationErrorCode } from '../reservations/reservation.errors';
import { StorageErrorCode } from '../storage/storage.errors';
import type { ERROR_STATUSES } from './error-registry';

/** What an error answer of one code looks like, in the OpenAPI documents' examples. */
export interface ErrorExample {
  message: string;
  fields?: FieldProblem[];
  details?: Record<string, unknown>;
}

/**
 * An example answer for every code of the registry, worded as the server words it (the messages
 * are the ones its code raises, with made-up names filled in). An operation may word a code its own
 * way (`@ApiErrors({ code, message })`); every other example comes from here, and `satisfies`
 * makes the compiler refuse a registered code that has none.
 */
export const ERROR_EXAMPLES = {
  [CommonErrorCode.BadRequest]: { message: 'Idempotency-Key must be 1 to 255 visible ASCII characters' },
  [CommonErrorCode.ValidationFailed]: {
    message: 'Request validation failed',
    fields: [{ field: 'gpu_count', problems: ['gpu_count must not be greater than 64'] }],
  },
  [CommonErrorCode.MalformedJson]: { message: 'Request body is not valid JSON' },
  [CommonErrorCode.BodyTooDeep]: { message: 'Request body nests deeper than 64 levels' },
  [CommonErrorCode.Unauthorized]: {
    message: 'The OpenID Provider login failed: state mismatch',
  },
  [CommonErrorCode.Forbidden]: { message: 'This needs the scope(s): reservations:write' },
  [CommonErrorCode.NotFound]: { message: 'No reservation 3f0e9c4a-5b1d-4e6f-8a2b-7c9d0e1f2a3b' },
  [CommonErrorCode.MethodNotAllowed]: { message: 'PATCH is not allowed on this path' },
  [CommonErrorCode.Conflict]: { message: 'That identity is bound to another user; unlink it there first' },
  [CommonErrorCode.PayloadTooLarge]: { message: 'Request body is larger than the limit of 1mb' },
  [CommonErrorCode.UnsupportedMediaType]: { message: 'Unsupported charset' },
  [CommonErrorCode.RateLimited]: { message: 'ThrottlerException: Too Many Requests' },
  [CommonErrorCode.Internal]: {
    message: 'Internal error; quote request id 6f1c2a4e-8b7d-4e3a-9c15-2d4b7a9e0f31',
  },
  [CommonErrorCode.NotReady]: {
    message: 'Deployer of cluster gpu-east: unreachable (connect ECONNREFUSED 10.0.3.7:8443)',
    details: { cluster_id: '0b6c1f7e-2d3a-4e58-9f10-6a7b8c9d0e1f', reason: 'unreachable' },
  },

  [AuthErrorCode.NoCredentials]: {
    message:
      'Authentication required: send Authorization: Bearer <API key>. With the CLI: gpu-dev login (an admin can also issue you a key: docs/identity.md)',
  },
  [AuthErrorCode.UnknownKey]: {
    message:
      'This API key or token is not known here: check that it is this server’s (gpu-dev config show), or get a new one with gpu-dev login',
  },
  [AuthErrorCode.KeyExpired]: {
    message: 'This API key expired at 2025-06-30T09:00:00.000Z: get a new one with gpu-dev login',
  },
  [AuthErrorCode.KeyRevoked]: { message: 'This API key was revoked: get a new one with gpu-dev login' },
  [AuthErrorCode.UserDisabled]: { message: 'This user is disabled: ask an admin' },

  [ClusterErrorCode.InvalidCertificate]: {
    message: 'ca_cert: the certificate has expired',
    fields: [{ field: 'ca_cert', problems: ['the certificate has expired'] }],
  },
  [ClusterErrorCode.InvalidConnection]: {
    message: 'ca_cert, client_cert and mtls_enabled need an https:// deployer_url',
  },
  [ClusterErrorCode.ClusterNameTaken]: { message: 'A cluster named gpu-east is already registered' },
  [ClusterErrorCode.ClusterActive]: {
    message: 'Cluster gpu-east still takes new reservations: drain or disable it before removing it',
  },

  [DeployerErrorCode.InvalidSpec]: {
    message: 'The deployment spec is invalid',
    fields: [{ field: 'spec_version', problems: ['must be a supported spec version'] }],
  },
  [DeployerErrorCode.PolicyViolation]: {
    message: 'The deployment spec breaks the deployer policy (1 violation); nothing was applied',
    details: {
      violations: [{ field: 'pod.spec.hostNetwork', message: 'hostNetwork is not allowed' }],
    },
  },
  [DeployerErrorCode.KubeRejected]: {
    message:
      'Applying pod (Pod dev-7f3a) failed: Pod "dev-7f3a" is invalid: spec.containers[0].image: Required value',
    details: { failed_object: { field: 'pod', kind: 'Pod', name: 'dev-7f3a' }, applied: [], causes: [] },
  },
  [DeployerErrorCode.NoVolume]: { message: 'Deployment dev-7f3a mounts no volume; name one in "volume"' },
  [DeployerErrorCode.KubeUnavailable]: {
    message: 'Kubernetes: connect ECONNREFUSED 10.96.0.1:443',
    details: { causes: [] },
  },
  [DeployerErrorCode.KubeForbidden]: {
    message:
      'Kubernetes: pods is forbidden: User "system:serviceaccount:odc:deployer" cannot create resource "pods" in the namespace "gpu-dev"',
    details: { causes: [] },
  },

  [ReservationErrorCode.UnknownGpuType]: { message: 'No GPU type h200; known: h100, a100, t4' },
  [ReservationErrorCode.InvalidGpuCount]: {
    message: 'h100 takes 1, 2, 4, 8 GPUs per reservation, not 3',
    details: { allowed_counts: [1, 2, 4, 8] },
  },
  [ReservationErrorCode.InvalidDuration]: {
    message: 'hours must be from 5 minutes to 24 h for h100',
    details: { min_hours: 0.0833, max_hours: 24 },
  },
  [ReservationErrorCode.GpuTypeNotOffered]: {
    message:
      'No cluster taking reservations offers b200 nodes now: choose another GPU type (gpu-dev avail lists what is offered)',
  },
  [ReservationErrorCode.NoMatchingNode]: {
    message:
      'No h100 node has the labels {"topology.kubernetes.io/zone":"us-east-2c"}: change node_labels, or leave them out',
    details: { node_labels: { 'topology.kubernetes.io/zone': 'us-east-2c' } },
  },
  [ReservationErrorCode.NoNodeLargeEnough]: {
    message: 'The largest a10g node offers 4 GPUs and a reservation never spans nodes: ask for at most 4',
    details: { largest_node_gpus: 4 },
  },
  [ReservationErrorCode.DiskUnreachable]: {
    message:
      'Disk work lives on cluster gpu-east, where no h100 node could hold 8 GPUs now, and it has no current snapshot to start elsewhere from: reserve without the disk, or with what cluster gpu-east offers',
    details: { disk: 'work', cluster: 'gpu-east' },
  },
  [ReservationErrorCode.LifetimeExceeded]: {
    message: 'A reservation lives at most 48 h; this one can be extended by 2 h more',
    details: { max_extension_hours: 2 },
  },
  [ReservationErrorCode.IdempotencyKeyReused]: {
    message: 'This Idempotency-Key was already used with another request',
    details: { reservation_id: '3f0e9c4a-5b1d-4e6f-8a2b-7c9d0e1f2a3b' },
  },
  [ReservationErrorCode.UnknownUser]: { message: 'No user bob' },
  [ReservationErrorCode.QuotaExceeded]: {
    message: 'At most 8 GPUs per user, queued and running together; this would make 12',
    details: { limit: 8, requested: 4 },
  },
  [ReservationErrorCode.QueueLimitReached]: {
    message: 'At most 4 queued reservations per user',
    details: { limit: 4 },
  },
  [ReservationErrorCode.InvalidState]: {
    message: 'Reservation 3f0e9c4a-5b1d-4e6f-8a2b-7c9d0e1f2a3b is cancelled: it can no longer be changed',
  },
  [ReservationErrorCode.NameTaken]: {
    message:
      'You already have a reservation named train-llm (3f0e9c4a-5b1d-4e6f-8a2b-7c9d0e1f2a3b) that has not ended: choose another name, or cancel that one first',
    details: { reservation_id: '3f0e9c4a-5b1d-4e6f-8a2b-7c9d0e1f2a3b' },
  },

  [StorageErrorCode.UnknownDisk]: { message: 'You have no disk work; create it first (POST /api/v1/disks)' },
  [StorageErrorCode.StorageRejected]: {
    message: 'aws-ebs: InvalidVolume.NotFound: the volume vol-0a1b2c3d4e5f60718 does not exist',
    details: { provider: 'aws-ebs', kind: 'invalid' },
  },
  [StorageErrorCode.DiskNameTaken]: { message: 'You already have a disk named work' },
  [StorageErrorCode.DiskInUse]: {
    message:
      'Disk work is held by reservation 3f0e9c4a-5b1d-4e6f-8a2b-7c9d0e1f2a3b, which is active: cancel it instead',
    details: { reservation_id: '3f0e9c4a-5b1d-4e6f-8a2b-7c9d0e1f2a3b' },
  },
  [StorageErrorCode.InvalidDiskState]: {
    message: 'Disk work has no volume now (never used, or restored and not used since): nothing to snapshot',
  },
  [StorageErrorCode.SnapshotNotReady]: {
    message: 'Snapshot 9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d is pending',
    details: { status: 'pending' },
  },
  [StorageErrorCode.DiskQuotaExceeded]: {
    message: 'At most 10 disks per user; delete one first',
    details: { max_disks: 10, max_gb: 4096 },
  },
  [StorageErrorCode.VolumeInUse]: {
    message: 'aws-ebs: volume vol-0a1b2c3d4e5f60718 is attached to i-0123456789abcdef0',
    details: { provider: 'aws-ebs', kind: 'in_use' },
  },
  [StorageErrorCode.StorageUnavailable]: {
    message: 'k8s-csi: the deployer of cluster gpu-east cannot be reached; try again later',
    details: { provider: 'k8s-csi', kind: 'unavailable' },
  },
} as const satisfies Record<keyof typeof ERROR_STATUSES, ErrorExample>;

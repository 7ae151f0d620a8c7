import type { PolicyViolation } from './contract';

export enum DeployerErrorCode {
  /** The wire contract names this code in upper case (the seed's deployer API). */
  PolicyViolation = 'POLICY_VIOLATION',
  InvalidSpec = 'invalid_spec',
  /** A file transfer for a deployment that mounts no volume (and names none). */
  NoVolume = 'no_volume',
  KubeRejected = 'kube_rejected',
  KubeUnavailable = 'kube_unavailable',
  /** The deployer's own Kubernetes credentials may not do what was asked (RBAC): an operator's fix. */
  KubeForbidden = 'kube_forbidden',
}

export type DeployerErrorDetails = {
  violations?: PolicyViolation[];
  failed_object?: { field: string; kind: string; name: string };
  applied?: unknown[];
  causes?: unknown[];
};

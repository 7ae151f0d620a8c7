import type { ErrorStatuses } from '../infra/errors/app-error';

export enum DeployerErrorCode {
  /** Upper case, unlike the rest: the wire contract kept from the deployer API ODC replaces. */
  PolicyViolation = 'POLICY_VIOLATION',
  InvalidSpec = 'invalid_spec',
  /** A file transfer for a deployment that mounts no volume (and names none). */
  NoVolume = 'no_volume',
  KubeRejected = 'kube_rejected',
  KubeUnavailable = 'kube_unavailable',
  /** The deployer's own Kubernetes credentials may not do what was asked (RBAC): an operator's fix. */
  KubeForbidden = 'kube_forbidden',
}

export const DEPLOYER_ERROR_STATUSES = {
  [DeployerErrorCode.InvalidSpec]: 400,
  [DeployerErrorCode.PolicyViolation]: 422,
  [DeployerErrorCode.KubeRejected]: 422,
  [DeployerErrorCode.NoVolume]: 422,
  [DeployerErrorCode.KubeUnavailable]: 502,
  [DeployerErrorCode.KubeForbidden]: 502,
} as const satisfies ErrorStatuses<DeployerErrorCode>;

declare module '../infra/errors/app-error' {
  interface ErrorCodes {
    deployer: DeployerErrorCode;
  }
}

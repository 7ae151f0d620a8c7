import type { ErrorStatuses } from '../infra/errors/app-error';
/** Codes of the cluster registry's API; their HTTP statuses below. */
export enum ClusterErrorCode {
  /** A PEM that does not parse, has expired, does not match its key, or cannot serve its purpose. */
  InvalidCertificate = 'invalid_certificate',
  /**
   * Settings that cannot work: a deployer URL whose host does not parse, or settings that contradict
   * each other (mTLS without a client certificate, TLS material over http).
   */
  InvalidConnection = 'invalid_connection',
  ClusterNameTaken = 'cluster_name_taken',
  /** Removing a cluster that still takes reservations: drain or disable it first. */
  ClusterActive = 'cluster_active',
}

export const CLUSTER_ERROR_STATUSES = {
  [ClusterErrorCode.InvalidCertificate]: 422,
  [ClusterErrorCode.InvalidConnection]: 422,
  [ClusterErrorCode.ClusterNameTaken]: 409,
  [ClusterErrorCode.ClusterActive]: 409,
} as const satisfies ErrorStatuses<ClusterErrorCode>;

declare module '../infra/errors/app-error' {
  interface ErrorCodes {
    clusters: ClusterErrorCode;
  }
}

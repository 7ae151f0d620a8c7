/** Codes of the cluster registry's API (mapped to HTTP statuses in src/infra/errors/app-error.ts). */
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

/**
 * What other folders may use of the deployer: its contract (the manifests, statuses and capacity it
 * exchanges with the coordinator) and its error codes. Its server side is composed by src/app only.
 */
export {
  type ApplyResult,
  type ClusterCapacity,
  type DeployerHealth,
  type DeploymentSpec,
  type DeploymentStatus,
  LABELS,
  type Manifest,
  MAX_EXTERNAL_IDS,
  type NodeCapacity,
  type PolicyViolation,
  type SnapshotInfo,
  type SnapshotRequest,
  SPEC_VERSION,
  type VolumeInfo,
  type VolumeRequest,
} from './contract';
export { DEPLOYER_ERROR_STATUSES, DeployerErrorCode } from './deployer.errors';

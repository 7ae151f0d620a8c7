/**
 * What other folders may use of clusters: the registered clusters and their capacity rows, the
 * clients that reach their deployers (and the errors those raise), availability figures, profiles
 * and node rules. Everything else in clusters/ is its own.
 */
export {
  type AvailabilityFigures,
  type ClusterFigures,
  standingOf,
  summarizeAvailability,
} from './capacity/availability';
export { FOREIGN_GPUS_SQL, foreignGpus, matchesLabels } from './capacity/node-rules';
export { ClusterClients } from './client/cluster-clients';
export type { DeployerClient } from './client/deployer-client';
export {
  DeployerAuthFailed,
  DeployerError,
  DeployerFull,
  DeployerPolicyRejected,
  DeployerRequestRejected,
  DeployerServerError,
  DeployerUnreachable,
} from './client/deployer-client.errors';
export { Cluster } from './cluster.entity';
export { ClustersModule } from './clusters.module';
export { AvailabilityDto } from './dto/availability.dto';
export {
  type ClusterProfile,
  DEFAULT_NODE_PORTS,
  GPU_TYPE_NAME,
  type ProfileGpuType,
  type ProfileToleration,
} from './dto/cluster-profile.dto';
export { NodeCapacityRow } from './node-capacity.entity';
export { ClusterRegistry } from './registry/cluster-registry';

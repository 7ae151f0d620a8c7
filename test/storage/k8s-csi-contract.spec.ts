import type { ClusterProfile } from '../../src/clusters/dto/cluster-profile.dto';
import { K8sCsiProvider } from '../../src/storage/providers/k8s-csi.provider';
import { NAMESPACE, startDeployer } from '../deployer/fixtures';
import { directDeployerClient } from './direct-deployer-client';
import { describeStorageProviderContract } from './provider-contract';

const CLUSTER_ID = 'contract-cluster';

// k8s-csi as storage.module.ts builds it, its claims and snapshots made by a deployer on a simulated
// cluster (the default StorageClass and VolumeSnapshotClass of the simulated CSI driver).
describeStorageProviderContract('k8s-csi on a simulated cluster', async () => {
  const deployer = await startDeployer();
  const client = directDeployerClient(deployer, CLUSTER_ID);
  const profile: ClusterProfile = { namespace: NAMESPACE, gpu_types: [] };
  const provider = new K8sCsiProvider({
    profileOf: (clusterId) => (clusterId === CLUSTER_ID ? profile : undefined),
    clientFor: () => client,
  });
  return {
    provider,
    clusterId: CLUSTER_ID,
    close: async () => {
      await client.close();
      await deployer.close();
    },
  };
});

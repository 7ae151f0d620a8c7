import { EC2Client } from '@aws-sdk/client-ec2';
import { AwsEbsProvider } from '../../src/storage/providers/aws-ebs.provider';
import { NAMESPACE, startDeployer } from '../deployer/fixtures';
import { directDeployerClient } from '../storage/direct-deployer-client';
import { describeStorageProviderContract } from '../storage/provider-contract';
import { FAST_TIMINGS, h100Pool } from '../support/simulator';
import { startMoto } from './support/moto';

const REGION = 'us-east-2';
const ZONE = 'us-east-2a';
const CLUSTER_ID = 'contract-cluster';

// aws-ebs with the settings the app defaults to, on moto's EC2; its claims (attach) made by a
// deployer on a simulated cluster with one node in the zone.
describeStorageProviderContract(
  'aws-ebs on moto',
  async () => {
    // No public AMIs: moto lists their snapshots as the account's.
    const moto = await startMoto({ env: { MOTO_EC2_LOAD_DEFAULT_AMIS: 'false' } });
    const restoreEnv = moto.useForAwsSdk(REGION);
    const ec2 = new EC2Client({ region: REGION });
    const stopMoto = async () => {
      ec2.destroy();
      restoreEnv();
      await moto.stop();
    };
    const deployer = await startDeployer({
      cluster: { nodePools: [h100Pool(1, { zone: ZONE })], timings: FAST_TIMINGS },
    }).catch(async (error: unknown) => {
      await stopMoto();
      throw error;
    });
    const client = directDeployerClient(deployer, CLUSTER_ID);
    const provider = new AwsEbsProvider(
      ec2,
      { for: () => client },
      {
        region: REGION,
        volumeType: 'gp3',
        csiDriver: 'ebs.csi.aws.com',
        fsType: 'ext4',
        namespaceFor: () => NAMESPACE,
      },
    );
    return {
      provider,
      clusterId: CLUSTER_ID,
      zone: ZONE,
      close: async () => {
        await client.close();
        await deployer.close();
        await stopMoto();
      },
    };
  },
  // aws-ebs.provider.spec.ts checks the ClientToken it sends.
  { gaps: { 'volume-retry': 'moto ignores CreateVolume’s ClientToken' } },
);

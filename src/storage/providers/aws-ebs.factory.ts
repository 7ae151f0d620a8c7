/**
 * The `aws-ebs` provider from ODC_STORAGE_PROVIDER's settings, with the AWS SDK's EC2 client and
 * the provider loaded when it is built, not when this file is imported. Most installations use
 * `k8s-csi`, and loading @aws-sdk/client-ec2 costs every replica some 50 MB of RSS, 13 MB of it
 * heap (docs/performance.md, "Memory"): the storage module should build this provider through
 * here and import neither the SDK nor aws-ebs.provider.ts itself.
 */
import type { AwsEbsConfig } from '../storage.config';
import type { AwsEbsSettings, VolumeClaimClients } from './aws-ebs.provider';
import type { StorageProvider } from './storage-provider';

type Ec2Sdk = typeof import('@aws-sdk/client-ec2');
type AwsEbsProviderFile = typeof import('./aws-ebs.provider');

/** What ODC_EBS_* and ODC_AWS_REGION say, as the provider takes it. */
export function awsEbsSettings(
  config: AwsEbsConfig,
  namespaceFor: AwsEbsSettings['namespaceFor'],
): AwsEbsSettings {
  return {
    region: config.ODC_AWS_REGION,
    volumeType: config.ODC_EBS_VOLUME_TYPE,
    ...(config.ODC_EBS_IOPS !== undefined ? { iops: config.ODC_EBS_IOPS } : {}),
    ...(config.ODC_EBS_THROUGHPUT !== undefined ? { throughputMiBps: config.ODC_EBS_THROUGHPUT } : {}),
    ...(config.ODC_EBS_KMS_KEY_ID ? { kmsKeyId: config.ODC_EBS_KMS_KEY_ID } : {}),
    csiDriver: config.ODC_EBS_CSI_DRIVER,
    fsType: config.ODC_EBS_FS_TYPE,
    namespaceFor,
  };
}

export function createAwsEbsProvider(
  config: AwsEbsConfig,
  clusters: VolumeClaimClients,
  namespaceFor: AwsEbsSettings['namespaceFor'],
): StorageProvider {
  // Required here, not imported above: see the header. (`import()` of our own CommonJS output
  // would need file extensions that neither this build nor Jest gives.)
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { EC2Client } = require('@aws-sdk/client-ec2') as Ec2Sdk;
  const { AwsEbsProvider } = require('./aws-ebs.provider') as AwsEbsProviderFile;
  /* eslint-enable @typescript-eslint/no-require-imports */
  return new AwsEbsProvider(
    new EC2Client({ region: config.ODC_AWS_REGION }),
    clusters,
    awsEbsSettings(config, namespaceFor),
  );
}

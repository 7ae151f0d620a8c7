import { loadAppConfig } from '../../app/config';
import type { EnvSource } from '../../infra/config/environment';
import type { AwsEbsConfig } from '../storage.config';
import { awsEbsSettings, createAwsEbsProvider } from './aws-ebs.factory';
import { AwsEbsProvider } from './aws-ebs.provider';

const EBS = {
  ODC_STORAGE_PROVIDER: 'aws-ebs',
  ODC_AWS_REGION: 'us-west-2',
};

/** The configuration loaded, narrowed as the storage module's switch narrows it. */
function ebsConfig(env: EnvSource): AwsEbsConfig {
  const config = loadAppConfig(env);
  if (config.ODC_STORAGE_PROVIDER !== 'aws-ebs') {
    throw new Error('expected the aws-ebs provider');
  }
  return config;
}

describe('the aws-ebs provider factory', () => {
  it('maps ODC_EBS_* onto the provider settings, leaving unset options out', () => {
    const namespaceFor = () => 'gpu-dev';
    const plain = awsEbsSettings(ebsConfig(EBS), namespaceFor);
    expect(plain).toEqual({
      region: 'us-west-2',
      volumeType: ebsConfig(EBS).ODC_EBS_VOLUME_TYPE,
      csiDriver: ebsConfig(EBS).ODC_EBS_CSI_DRIVER,
      fsType: ebsConfig(EBS).ODC_EBS_FS_TYPE,
      namespaceFor,
    });
    const tuned = awsEbsSettings(
      ebsConfig({
        ...EBS,
        ODC_EBS_IOPS: '4000',
        ODC_EBS_THROUGHPUT: '250',
        ODC_EBS_KMS_KEY_ID: 'alias/odc',
      }),
      namespaceFor,
    );
    expect(tuned).toMatchObject({ iops: 4000, throughputMiBps: 250, kmsKeyId: 'alias/odc' });
  });

  it('builds the provider with an EC2 client of the configured region', async () => {
    const provider = createAwsEbsProvider(ebsConfig(EBS), { for: () => ({}) as never }, () => undefined);
    expect(provider).toBeInstanceOf(AwsEbsProvider);
    const ec2 = (provider as unknown as { ec2: { config: { region: () => Promise<string> } } }).ec2;
    await expect(ec2.config.region()).resolves.toBe('us-west-2');
  });
});

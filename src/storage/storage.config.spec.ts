import { loadConfig } from '../infra/config/load-config';
import { StorageConfig } from './storage.config';

const load = (env: Record<string, string>) => loadConfig([StorageConfig], env);

describe('StorageConfig', () => {
  it('refuses a default disk size above the largest allowed', () => {
    expect(() => load({ ODC_DISK_DEFAULT_SIZE_GB: '500', ODC_DISK_MAX_SIZE_GB: '200' })).toThrow(
      /ODC_DISK_DEFAULT_SIZE_GB must not be above ODC_DISK_MAX_SIZE_GB/,
    );
    expect(
      load({ ODC_DISK_DEFAULT_SIZE_GB: '200', ODC_DISK_MAX_SIZE_GB: '200' }).ODC_DISK_DEFAULT_SIZE_GB,
    ).toBe(200);
  });

  it('asks aws-ebs for its region', () => {
    expect(() => load({ ODC_STORAGE_PROVIDER: 'aws-ebs' })).toThrow(
      /ODC_AWS_REGION: ODC_AWS_REGION must be an AWS region/,
    );
    expect(load({ ODC_STORAGE_PROVIDER: 'aws-ebs', ODC_AWS_REGION: 'us-east-2' }).ODC_AWS_REGION).toBe(
      'us-east-2',
    );
  });

  it("checks aws-ebs's settings only when aws-ebs is the provider", () => {
    const odd = { ODC_EBS_VOLUME_TYPE: 'floppy', ODC_EBS_IOPS: '10', ODC_EBS_FS_TYPE: 'fat32' };
    expect(() => load({ ODC_STORAGE_PROVIDER: 'aws-ebs', ODC_AWS_REGION: 'us-east-2', ...odd })).toThrow(
      /ODC_EBS_VOLUME_TYPE[\s\S]*ODC_EBS_IOPS[\s\S]*ODC_EBS_FS_TYPE/,
    );
    expect(load(odd).ODC_STORAGE_PROVIDER).toBe('k8s-csi');
  });
});

import { Transform } from 'class-transformer';
import { IsIn, IsInt, IsNumber, IsOptional, IsString, Matches, Max, Min, ValidateIf } from 'class-validator';
import { emptyToUndefined, NotAbove, toNumber } from '../infra/config/config-decorators';
import { STORAGE_PROVIDERS, type StorageProviderName } from './providers/storage-provider';

/** An aws-ebs setting: checked only when aws-ebs is the provider (another provider never reads it). */
function ForAwsEbs(): PropertyDecorator {
  return ValidateIf((env: StorageConfig) => env.ODC_STORAGE_PROVIDER === 'aws-ebs');
}

/** Disks and snapshots: the provider and its settings, sizes and per-user limits, retention, the storage cron. */
export class StorageConfig {
  /** Where disks' volumes and snapshots live (src/storage/providers): k8s-csi through the deployers, or EBS. */
  @IsIn(STORAGE_PROVIDERS)
  ODC_STORAGE_PROVIDER: StorageProviderName = 'k8s-csi';

  /** A new disk's size when the request names none. */
  @Transform(toNumber)
  @IsInt()
  @Min(1)
  @Max(65536)
  @NotAbove('ODC_DISK_MAX_SIZE_GB')
  ODC_DISK_DEFAULT_SIZE_GB = 100;

  @Transform(toNumber)
  @IsInt()
  @Min(1)
  @Max(65536)
  ODC_DISK_MAX_SIZE_GB = 2048;

  /** Live disks per user. */
  @Transform(toNumber)
  @IsInt()
  @Min(0)
  ODC_MAX_DISKS_PER_USER = 10;

  /** GB across a user's live disks. */
  @Transform(toNumber)
  @IsInt()
  @Min(1)
  ODC_MAX_DISK_GB_PER_USER = 4096;

  /** How long a snapshot at the end of a reservation may take before the disk is released without it (the failure is recorded). */
  @Transform(toNumber)
  @IsNumber()
  @Min(1)
  ODC_DISK_SNAPSHOT_TIMEOUT_SECONDS = 3600;

  /** A soft-deleted disk's volume and snapshots are kept this long. */
  @Transform(toNumber)
  @IsNumber()
  @Min(0)
  ODC_DISK_DELETE_GRACE_DAYS = 30;

  /** Retention: the newest snapshots kept per disk, whatever their age. */
  @Transform(toNumber)
  @IsInt()
  @Min(1)
  ODC_SNAPSHOT_KEEP = 3;

  /** Retention: snapshots beyond the newest ODC_SNAPSHOT_KEEP are deleted after this many days. */
  @Transform(toNumber)
  @IsNumber()
  @Min(0)
  ODC_SNAPSHOT_MAX_AGE_DAYS = 7;

  /** How often the storage cron re-drives releases and snapshots, applies retention and purges deleted disks. */
  @Transform(toNumber)
  @IsNumber()
  @Min(0.1)
  @Max(3600)
  ODC_STORAGE_INTERVAL_SECONDS = 30;

  /** How often the reconciler compares the database with the clusters' (and the cloud's) volumes and snapshots. */
  @Transform(toNumber)
  @IsNumber()
  @Min(1)
  ODC_STORAGE_RECONCILE_INTERVAL_SECONDS = 900;

  /** aws-ebs: the region of the EBS volumes and of every cluster that mounts them. */
  @Transform(emptyToUndefined)
  @ForAwsEbs()
  @Matches(/^[a-z]{2}(-[a-z]+)+-\d$/, { message: 'ODC_AWS_REGION must be an AWS region like us-east-2' })
  ODC_AWS_REGION?: string;

  /** aws-ebs: the EBS volume type of new volumes. */
  @ForAwsEbs()
  @IsIn(['gp3', 'gp2', 'io1', 'io2', 'st1', 'sc1'])
  ODC_EBS_VOLUME_TYPE = 'gp3';

  @ForAwsEbs()
  @Transform(emptyToUndefined)
  @Transform(toNumber)
  @IsOptional()
  @IsInt()
  @Min(100)
  ODC_EBS_IOPS?: number;

  /** aws-ebs, gp3: MiB/s. */
  @ForAwsEbs()
  @Transform(emptyToUndefined)
  @Transform(toNumber)
  @IsOptional()
  @IsInt()
  @Min(125)
  ODC_EBS_THROUGHPUT?: number;

  /** aws-ebs: new volumes are encrypted with this KMS key (id or ARN). */
  @ForAwsEbs()
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  ODC_EBS_KMS_KEY_ID?: string;

  /** aws-ebs: the CSI driver the static PersistentVolumes name (the deployers' policy must allow it). */
  @ForAwsEbs()
  @Matches(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, { message: 'ODC_EBS_CSI_DRIVER must be a CSI driver name' })
  ODC_EBS_CSI_DRIVER = 'ebs.csi.aws.com';

  @ForAwsEbs()
  @IsIn(['ext4', 'xfs'])
  ODC_EBS_FS_TYPE = 'ext4';
}

type AwsEbsVariable =
  | 'ODC_EBS_VOLUME_TYPE'
  | 'ODC_EBS_IOPS'
  | 'ODC_EBS_THROUGHPUT'
  | 'ODC_EBS_KMS_KEY_ID'
  | 'ODC_EBS_CSI_DRIVER'
  | 'ODC_EBS_FS_TYPE';

/** The aws-ebs provider's settings, as its checks leave them when it is the provider: a region set. */
export type AwsEbsConfig = Pick<StorageConfig, AwsEbsVariable> & {
  readonly ODC_STORAGE_PROVIDER: 'aws-ebs';
  readonly ODC_AWS_REGION: string;
};

/** ODC_STORAGE_PROVIDER with what the chosen provider reads: narrow it (`switch`) to reach them. */
export type StorageProviderConfig =
  { readonly ODC_STORAGE_PROVIDER: Exclude<StorageProviderName, 'aws-ebs'> } | AwsEbsConfig;

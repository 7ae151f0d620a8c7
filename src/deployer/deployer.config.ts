import { Transform } from 'class-transformer';
import {
  IsBoolean,
  IsEmpty,
  IsInt,
  IsNumber,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
  MinLength,
  ValidateIf,
} from 'class-validator';
import { emptyToUndefined, IsPort, Secret, toBoolean, toNumber } from '../infra/config/config-decorators';
import type { NodeEnv } from '../infra/config/server.config';
import { SIZE_QUANTITY } from '../infra/kubernetes/quantity';

/**
 * The deployer: its listener and who may call it, its Kubernetes, and the policy it holds every
 * spec to (also what the Lambda entry reads). Which of these a replica must set to serve beyond
 * this machine depends on its roles: that rule is the roles' (src/app/roles.config.ts).
 */
export class DeployerConfig {
  /** Read from ServerConfig: development starts a simulated cluster by default. */
  declare readonly NODE_ENV: NodeEnv;

  @IsString()
  ODC_DEPLOYER_HOST = '127.0.0.1';

  @IsPort()
  ODC_DEPLOYER_PORT = 8443;

  /** Namespaces the deployer may write to (comma list); everything else is refused by policy. */
  @Matches(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(,[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, {
    message: 'ODC_DEPLOYER_NAMESPACES must be a comma list of namespace names',
  })
  ODC_DEPLOYER_NAMESPACES = 'default';

  @Secret()
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  @MinLength(16, { message: 'ODC_DEPLOYER_TOKEN must be at least 16 characters (it guards pod creation)' })
  ODC_DEPLOYER_TOKEN?: string;

  @Transform(toBoolean)
  @IsBoolean()
  ODC_DEPLOYER_INSECURE = false;

  /** TLS for the deployer listener: PEM files of its certificate and key (both or neither). */
  @Transform(emptyToUndefined)
  @ValidateIf(
    (env: DeployerConfig) =>
      env.ODC_DEPLOYER_TLS_CERT !== undefined || env.ODC_DEPLOYER_TLS_KEY !== undefined,
  )
  @IsString({ message: 'ODC_DEPLOYER_TLS_CERT and ODC_DEPLOYER_TLS_KEY go together' })
  ODC_DEPLOYER_TLS_CERT?: string;

  @Transform(emptyToUndefined)
  @ValidateIf(
    (env: DeployerConfig) =>
      env.ODC_DEPLOYER_TLS_CERT !== undefined || env.ODC_DEPLOYER_TLS_KEY !== undefined,
  )
  @IsString({ message: 'ODC_DEPLOYER_TLS_CERT and ODC_DEPLOYER_TLS_KEY go together' })
  ODC_DEPLOYER_TLS_KEY?: string;

  /** PEM file of the CA that signs coordinator client certificates: set, the deployer requires mTLS. */
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  ODC_DEPLOYER_CLIENT_CA?: string;

  /** Client certificate common names accepted (comma list); empty: any certificate the CA signed. */
  @IsString()
  @ValidateIf(
    (env: DeployerConfig) =>
      env.ODC_DEPLOYER_ALLOWED_CLIENT_CNS !== '' && env.ODC_DEPLOYER_CLIENT_CA === undefined,
  )
  @IsEmpty({
    message: 'ODC_DEPLOYER_ALLOWED_CLIENT_CNS needs ODC_DEPLOYER_CLIENT_CA (it filters client certificates)',
  })
  ODC_DEPLOYER_ALLOWED_CLIENT_CNS = '';

  /**
   * Host names the deployer API answers besides loopback ones (comma list; `*`: any). Empty: loopback
   * names only when it binds a loopback address or starts for development, else any.
   */
  @Matches(/^(\*|[-a-zA-Z0-9.:[\]]+(,[-a-zA-Z0-9.:[\]]+)*)?$/, {
    message: 'ODC_DEPLOYER_ALLOWED_HOSTS must be a comma list of host names, or *',
  })
  ODC_DEPLOYER_ALLOWED_HOSTS = '';

  @Secret()
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  ODC_KUBECONFIG_BASE64?: string;

  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  KUBECONFIG?: string;

  /** With no kubeconfig and not in a cluster: an in-process simulated GPU cluster. Default: on in development. */
  @Transform(emptyToUndefined)
  @Transform(toBoolean)
  @IsOptional()
  @IsBoolean()
  ODC_DEPLOYER_SIMULATOR?: boolean;

  @Transform(toNumber)
  @IsInt()
  @Min(0)
  @Max(64)
  ODC_DEPLOYER_MAX_GPUS = 8;

  @IsString()
  ODC_DEPLOYER_MAX_CPU = '192';

  @IsString()
  ODC_DEPLOYER_MAX_MEMORY = '2Ti';

  /** Largest volume (claim or static PV) the deployer creates, as a Kubernetes quantity. */
  @Matches(SIZE_QUANTITY, {
    message: 'ODC_DEPLOYER_MAX_VOLUME_SIZE must be a Kubernetes quantity such as 16Ti',
  })
  ODC_DEPLOYER_MAX_VOLUME_SIZE = '16Ti';

  /** CSI drivers a static PersistentVolume may name (comma list): they can attach existing volumes by id. */
  @IsString()
  ODC_DEPLOYER_ALLOWED_CSI_DRIVERS = 'ebs.csi.aws.com,pd.csi.storage.gke.io';

  /** Linux capabilities a container may add (comma list); none by default. */
  @IsString()
  ODC_DEPLOYER_ALLOWED_CAPABILITIES = '';

  @Transform(toBoolean)
  @IsBoolean()
  ODC_DEPLOYER_ALLOW_LOADBALANCER = false;

  /** NodePort Services (a common way to reach SSH on a dev pod); off: ClusterIP/Ingress only. */
  @Transform(toBoolean)
  @IsBoolean()
  ODC_DEPLOYER_ALLOW_NODEPORT = true;

  /**
   * Generic ephemeral volumes (a claim made per pod from `ephemeral.volumeClaimTemplate`); held to
   * the same rules as the spec's claims. Off: refused (the coordinator's pods use none).
   */
  @Transform(toBoolean)
  @IsBoolean()
  ODC_DEPLOYER_ALLOW_EPHEMERAL_VOLUMES = false;

  /** Replicas a Deployment may ask for (a dev environment is one pod). */
  @Transform(toNumber)
  @IsInt()
  @Min(1)
  @Max(100)
  ODC_DEPLOYER_MAX_REPLICAS = 1;

  /** The only service account pods may run as (their API token is never mounted). */
  @Matches(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, {
    message: 'ODC_DEPLOYER_POD_SERVICE_ACCOUNT must be a service account name',
  })
  ODC_DEPLOYER_POD_SERVICE_ACCOUNT = 'default';

  /** Node label that names a node's GPU model, for /capacity. */
  @IsString()
  ODC_DEPLOYER_GPU_LABEL = 'nvidia.com/gpu.product';

  /** Client-side rate limit of the deployer's Kubernetes calls: sustained requests per second… */
  @Transform(toNumber)
  @IsNumber()
  @Min(1)
  @Max(10000)
  ODC_DEPLOYER_KUBE_QPS = 100;

  /** …and how many may go at once above that rate after a quiet spell. */
  @Transform(toNumber)
  @IsInt()
  @Min(1)
  @Max(10000)
  ODC_DEPLOYER_KUBE_BURST = 200;

  /**
   * Lambda mode: Secrets Manager secret (name or ARN) holding the kubeconfig. Named as the deployer
   * ODC replaces named it, not ODC_…, so its Lambda configuration still works.
   */
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  KUBECONFIG_SECRET?: string;

  /** Lambda mode without KUBECONFIG_SECRET: the EKS cluster to mint a token for from the function's IAM role. */
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  ODC_EKS_CLUSTER_NAME?: string;

  /** AWS region (set by Lambda itself); used by the Secrets Manager, EKS and STS clients. */
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  AWS_REGION?: string;

  get deployerSimulator(): boolean {
    return this.ODC_DEPLOYER_SIMULATOR ?? this.NODE_ENV === 'development';
  }
}

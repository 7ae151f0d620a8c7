/**
 * Where the deployer's Kubernetes is when it runs as a Lambda: a kubeconfig kept in Secrets Manager
 * (`KUBECONFIG_SECRET`), else an EKS cluster (`ODC_EKS_CLUSTER_NAME`) reached with a token minted
 * from the function's own IAM role, else the standalone order (`resolveKubeAccess`).
 */
import { DescribeClusterCommand, EKSClient } from '@aws-sdk/client-eks';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { KubeConfig } from '@kubernetes/client-node';
import type { OutgoingHttpHeaders } from 'node:http';
import { Hash } from '@smithy/hash-node';
import { SignatureV4, type SignatureV4Init } from '@smithy/signature-v4';
import type { Logger } from 'pino';
import type { DeployerConfig } from '../deployer.config';
import { loadKubeconfig, resolveKubeAccess, type KubeAccess } from '../kube/kube-access';

export interface LambdaKubeAccess extends Omit<KubeAccess, 'source'> {
  source: KubeAccess['source'] | 'KUBECONFIG_SECRET' | 'ODC_EKS_CLUSTER_NAME';
}

/** What tests (and nothing else) replace: the AWS credentials and the clock. */
export interface AwsOptions {
  /** Default: the SDK's chain (in Lambda, the execution role's credentials from its environment). */
  credentials?: SignatureV4Init['credentials'];
  now?: () => Date;
}

export const EKS_TOKEN_PREFIX = 'k8s-aws-v1.';
/** EKS accepts a token for 15 minutes; a fresh one is minted well before that. */
export const EKS_TOKEN_REUSE_MS = 10 * 60 * 1000;
const PRESIGNED_URL_EXPIRES_SECONDS = 60;
const CLUSTER_ID_HEADER = 'x-k8s-aws-id';

/** The kubeconfig in a secret's text: the YAML itself, or base64 of it (as ODC_KUBECONFIG_BASE64). */
export function parseKubeconfigSecret(text: string, secretId: string): KubeConfig {
  const trimmed = text.trim();
  // A kubeconfig always has a `key:`; base64 never has a colon.
  const yaml = /^[A-Za-z0-9+/=\s]+$/.test(trimmed)
    ? Buffer.from(trimmed, 'base64').toString('utf8')
    : trimmed;
  return loadKubeconfig(`secret ${secretId}`, (kc) => kc.loadFromString(yaml));
}

async function kubeConfigFromSecret(secretId: string, region: string | undefined): Promise<KubeConfig> {
  const client = new SecretsManagerClient(region ? { region } : {});
  try {
    const secret = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
    const text =
      secret.SecretString ??
      (secret.SecretBinary ? Buffer.from(secret.SecretBinary).toString('utf8') : undefined);
    if (text === undefined) {
      throw new Error(`Secret ${secretId} has no value`);
    }
    return parseKubeconfigSecret(text, secretId);
  } finally {
    client.destroy();
  }
}

function stsHost(region: string): string {
  return `sts.${region}.${region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com'}`;
}

/**
 * An EKS bearer token, as `aws eks get-token` and aws-iam-authenticator make it: an STS
 * GetCallerIdentity request presigned with the cluster's name in the signed `x-k8s-aws-id` header,
 * its URL in base64url after `k8s-aws-v1.`. EKS calls STS with it to learn who the caller is;
 * nothing here goes to the network.
 */
export async function mintEksToken(
  clusterName: string,
  region: string,
  credentials: SignatureV4Init['credentials'],
  signingDate: Date,
): Promise<string> {
  const signer = new SignatureV4({
    credentials,
    region,
    service: 'sts',
    sha256: Hash.bind(null, 'sha256'),
  });
  const hostname = stsHost(region);
  const presigned = await signer.presign(
    {
      method: 'GET',
      protocol: 'https:',
      hostname,
      path: '/',
      query: { Action: 'GetCallerIdentity', Version: '2011-06-15' },
      headers: { host: hostname, [CLUSTER_ID_HEADER]: clusterName },
    },
    { expiresIn: PRESIGNED_URL_EXPIRES_SECONDS, signingDate },
  );
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(presigned.query ?? {})) {
    for (const item of Array.isArray(value) ? value : [value]) {
      if (item !== null) {
        query.append(key, item);
      }
    }
  }
  const url = `https://${hostname}/?${query.toString()}`;
  return EKS_TOKEN_PREFIX + Buffer.from(url, 'utf8').toString('base64url');
}

type Authenticator = Parameters<KubeConfig['addAuthenticator']>[0];

const EKS_AUTH_PROVIDER = 'odc-eks-iam';

/**
 * Puts a current EKS token on every request the KubeConfig's clients make (client-node asks its
 * authenticators each time), minting a new one when the last is ten minutes old. No `exec` plugin:
 * the Lambda has no aws CLI to run.
 */
export class EksTokenAuthenticator implements Authenticator {
  private current?: { token: Promise<string>; mintedAt: number };

  constructor(
    private readonly clusterName: string,
    private readonly region: string,
    private readonly credentials: SignatureV4Init['credentials'],
    private readonly now: () => Date = () => new Date(),
  ) {}

  isAuthProvider(user: Parameters<Authenticator['isAuthProvider']>[0]): boolean {
    return (user.authProvider as { name?: unknown } | undefined)?.name === EKS_AUTH_PROVIDER;
  }

  async applyAuthentication(
    _user: Parameters<Authenticator['applyAuthentication']>[0],
    opts: { headers?: OutgoingHttpHeaders },
  ): Promise<void> {
    const token = await this.token();
    opts.headers = { ...opts.headers, Authorization: `Bearer ${token}` };
  }

  /** The token to use now; concurrent callers share one minting. */
  token(): Promise<string> {
    const now = this.now();
    if (!this.current || now.getTime() - this.current.mintedAt >= EKS_TOKEN_REUSE_MS) {
      const token = mintEksToken(this.clusterName, this.region, this.credentials, now);
      const current = { token, mintedAt: now.getTime() };
      this.current = current;
      token.catch(() => {
        if (this.current === current) {
          this.current = undefined; // the next request tries again
        }
      });
    }
    return this.current.token;
  }
}

async function kubeConfigForEks(
  clusterName: string,
  region: string,
  options: AwsOptions,
): Promise<KubeConfig> {
  const client = new EKSClient({ region });
  let endpoint: string | undefined;
  let caData: string | undefined;
  try {
    const { cluster } = await client.send(new DescribeClusterCommand({ name: clusterName }));
    endpoint = cluster?.endpoint;
    caData = cluster?.certificateAuthority?.data;
  } finally {
    client.destroy();
  }
  if (!endpoint || !caData) {
    throw new Error(
      `EKS cluster ${clusterName} has no endpoint or certificate authority yet (is it active?)`,
    );
  }
  const kc = new KubeConfig();
  kc.addAuthenticator(
    new EksTokenAuthenticator(clusterName, region, options.credentials ?? defaultProvider(), options.now),
  );
  kc.loadFromOptions({
    clusters: [{ name: clusterName, server: endpoint, caData, skipTLSVerify: false }],
    users: [{ name: 'lambda-execution-role', authProvider: { name: EKS_AUTH_PROVIDER, config: {} } }],
    contexts: [{ name: 'deployer', cluster: clusterName, user: 'lambda-execution-role' }],
    currentContext: 'deployer',
  });
  return kc;
}

/** The Lambda's Kubernetes, read once per container (a rotated secret takes a new container). */
export async function resolveLambdaKubeAccess(
  config: DeployerConfig,
  logger: Pick<Logger, 'info'>,
  options: AwsOptions = {},
): Promise<LambdaKubeAccess> {
  const none = () => Promise.resolve();
  if (config.KUBECONFIG_SECRET) {
    const kubeConfig = await kubeConfigFromSecret(config.KUBECONFIG_SECRET, config.AWS_REGION);
    logger.info(
      { server: kubeConfig.getCurrentCluster()?.server },
      'deployer: kubeconfig from Secrets Manager (KUBECONFIG_SECRET)',
    );
    return { kubeConfig, source: 'KUBECONFIG_SECRET', close: none };
  }
  if (config.ODC_EKS_CLUSTER_NAME) {
    if (!config.AWS_REGION) {
      throw new Error('ODC_EKS_CLUSTER_NAME needs AWS_REGION (Lambda sets it)');
    }
    const kubeConfig = await kubeConfigForEks(config.ODC_EKS_CLUSTER_NAME, config.AWS_REGION, options);
    logger.info(
      { cluster: config.ODC_EKS_CLUSTER_NAME, server: kubeConfig.getCurrentCluster()?.server },
      'deployer: EKS cluster with tokens from the function IAM role (ODC_EKS_CLUSTER_NAME)',
    );
    return { kubeConfig, source: 'ODC_EKS_CLUSTER_NAME', close: none };
  }
  return resolveKubeAccess(config);
}

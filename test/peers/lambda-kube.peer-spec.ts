import { CreateClusterCommand, EKSClient } from '@aws-sdk/client-eks';
import {
  CreateSecretCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import pino from 'pino';
import { kubeConfigForServer } from '../../src/deployer/kube/kube-access';
import { createDeployerLambda, loadLambdaConfig, type DeployerLambda } from '../../src/app/deployer-lambda';
import { EKS_TOKEN_PREFIX, resolveLambdaKubeAccess } from '../../src/deployer/lambda/kube-credentials';
import { loadAppConfig } from '../../src/app/config';
import { SimulatedCluster } from '../../src/simulator/cluster';
import { withDefaults } from '../../src/simulator/config';
import { FAST_TIMINGS, h100Pool } from '../support/simulator';
import { MOTO_ACCOUNT, startMoto, type Moto } from './support/moto';

const REGION = 'us-east-1';
const TOKEN = 'peer-deployer-token-0123456789';
const quiet = { info: () => undefined };
/** A Kubernetes API address where nothing listens. */
const NOWHERE = 'http://127.0.0.1:9';

/** GET `path` as API Gateway's HTTP API (payload 2.0) hands it to the function. */
function getEvent(path: string): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey: 'ANY /{proxy+}',
    rawPath: path,
    rawQueryString: '',
    headers: { host: 'abc123.execute-api.us-east-1.amazonaws.com', authorization: `Bearer ${TOKEN}` },
    isBase64Encoded: false,
    requestContext: {
      accountId: MOTO_ACCOUNT,
      apiId: 'abc123',
      domainName: 'abc123.execute-api.us-east-1.amazonaws.com',
      domainPrefix: 'abc123',
      http: { method: 'GET', path, protocol: 'HTTP/1.1', sourceIp: '10.1.2.3', userAgent: 'odc-coordinator' },
      requestId: 'peer-request',
      routeKey: 'ANY /{proxy+}',
      stage: '$default',
      time: new Date().toUTCString(),
      timeEpoch: Date.now(),
    },
  };
}

let invocation = 0;
function lambdaContext(): Context {
  invocation += 1;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: 'odc-deployer',
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${REGION}:${MOTO_ACCOUNT}:function:odc-deployer`,
    memoryLimitInMB: '1024',
    awsRequestId: `00000000-0000-4000-8000-${String(invocation).padStart(12, '0')}`,
    logGroupName: '/aws/lambda/odc-deployer',
    logStreamName: 'peer',
    getRemainingTimeInMillis: () => 30_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/**
 * The deployer's Lambda mode against moto: the kubeconfig it reads from Secrets Manager and the
 * EKS cluster it looks up are moto's, made through the real SDK clients, which ODC builds as in
 * production (region only) and which reach moto through AWS_ENDPOINT_URL.
 */
describe('deployer Lambda mode against moto (Secrets Manager, EKS)', () => {
  let moto: Moto;
  let restoreEnv: () => void;
  let cluster: SimulatedCluster;
  let secrets: SecretsManagerClient;
  let eks: EKSClient;

  beforeAll(async () => {
    moto = await startMoto();
    restoreEnv = moto.useForAwsSdk(REGION);
    secrets = new SecretsManagerClient({ region: REGION });
    eks = new EKSClient({ region: REGION });
    cluster = await SimulatedCluster.start(withDefaults({ nodePools: [h100Pool(1)], timings: FAST_TIMINGS }));
  });

  afterAll(async () => {
    secrets?.destroy();
    eks?.destroy();
    await cluster?.close();
    restoreEnv?.();
    await moto?.stop();
  });

  const lambdaWith = (env: Record<string, string>): DeployerLambda =>
    createDeployerLambda(() => ({
      config: loadLambdaConfig({ NODE_ENV: 'test', AWS_REGION: REGION, ODC_DEPLOYER_TOKEN: TOKEN, ...env }),
      logger: pino({ level: 'silent' }),
    }));
  const health = async (lambda: DeployerLambda) => {
    const result = (await lambda(
      getEvent('/api/v1/health'),
      lambdaContext(),
    )) as APIGatewayProxyStructuredResultV2;
    return { status: result.statusCode, body: JSON.parse(result.body ?? '{}') as Record<string, unknown> };
  };

  it('KUBECONFIG_SECRET by name: the function reaches the cluster the secret names, read once per container', async () => {
    await secrets.send(
      new CreateSecretCommand({
        Name: 'odc/deployer-kubeconfig',
        SecretString: kubeConfigForServer(cluster.url).exportConfig(),
      }),
    );
    const lambda = lambdaWith({ KUBECONFIG_SECRET: 'odc/deployer-kubeconfig' });
    try {
      expect(await health(lambda)).toMatchObject({
        status: 200,
        body: { kubernetes: { reachable: true, version: 'v1.32.0-odc-sim' } },
      });
      // The secret now names a cluster that is not there: this container keeps what it read; a new
      // container reads the new value.
      await secrets.send(
        new PutSecretValueCommand({
          SecretId: 'odc/deployer-kubeconfig',
          SecretString: kubeConfigForServer(NOWHERE).exportConfig(),
        }),
      );
      expect(await health(lambda)).toMatchObject({ status: 200, body: { kubernetes: { reachable: true } } });
      const fresh = lambdaWith({ KUBECONFIG_SECRET: 'odc/deployer-kubeconfig' });
      try {
        expect(await health(fresh)).toMatchObject({ status: 502, body: { code: 'kube_unavailable' } });
      } finally {
        await fresh.close();
      }
    } finally {
      await lambda.close();
    }
  });

  it('KUBECONFIG_SECRET by ARN, kept as binary base64 of the YAML', async () => {
    const yaml = kubeConfigForServer(cluster.url).exportConfig();
    const { ARN } = await secrets.send(
      new CreateSecretCommand({
        Name: 'odc/deployer-kubeconfig-binary',
        SecretBinary: Buffer.from(Buffer.from(yaml).toString('base64')),
      }),
    );
    expect(ARN).toMatch(new RegExp(`^arn:aws:secretsmanager:${REGION}:${MOTO_ACCOUNT}:secret:`));
    const access = await resolveLambdaKubeAccess(
      loadAppConfig({ KUBECONFIG_SECRET: ARN!, AWS_REGION: REGION }),
      quiet,
    );
    expect(access.source).toBe('KUBECONFIG_SECRET');
    expect(access.kubeConfig.getCurrentCluster()?.server).toBe(cluster.url);
  });

  it('a secret that does not exist, or has no value yet: Secrets Manager’s ResourceNotFoundException, the start retried', async () => {
    await secrets.send(new CreateSecretCommand({ Name: 'odc/empty', Description: 'no value yet' }));
    for (const secretId of ['odc/no-such-secret', 'odc/empty']) {
      await expect(
        resolveLambdaKubeAccess(loadAppConfig({ KUBECONFIG_SECRET: secretId, AWS_REGION: REGION }), quiet),
      ).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    }
    const lambda = lambdaWith({ KUBECONFIG_SECRET: 'odc/late' });
    try {
      await expect(health(lambda)).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
      await secrets.send(
        new CreateSecretCommand({
          Name: 'odc/late',
          SecretString: kubeConfigForServer(cluster.url).exportConfig(),
        }),
      );
      expect((await health(lambda)).status).toBe(200);
    } finally {
      await lambda.close();
    }
  });

  it('ODC_EKS_CLUSTER_NAME: the endpoint and CA of the cluster EKS describes, an EKS token on requests', async () => {
    const { cluster: made } = await eks.send(
      new CreateClusterCommand({
        name: 'gpu-east',
        roleArn: `arn:aws:iam::${MOTO_ACCOUNT}:role/eks-cluster`,
        resourcesVpcConfig: { subnetIds: ['subnet-0a', 'subnet-0b'] },
      }),
    );
    expect(made).toMatchObject({ endpoint: expect.stringMatching(/^https:\/\//), status: 'ACTIVE' });
    const access = await resolveLambdaKubeAccess(
      loadAppConfig({ ODC_EKS_CLUSTER_NAME: 'gpu-east', AWS_REGION: REGION }),
      quiet,
      { credentials: { accessKeyId: 'AKIDPEERTIER', secretAccessKey: 'peer-secret' } },
    );
    expect(access.source).toBe('ODC_EKS_CLUSTER_NAME');
    expect(access.kubeConfig.getCurrentCluster()).toMatchObject({
      name: 'gpu-east',
      server: made!.endpoint,
      caData: made!.certificateAuthority!.data,
      skipTLSVerify: false,
    });
    const options: { headers?: Record<string, unknown> } = {};
    await access.kubeConfig.applyToHTTPSOptions(options);
    const bearer = /^Bearer (.+)$/.exec(String(options.headers?.Authorization))?.[1] ?? '';
    expect(bearer.startsWith(EKS_TOKEN_PREFIX)).toBe(true);
    const url = new URL(Buffer.from(bearer.slice(EKS_TOKEN_PREFIX.length), 'base64url').toString('utf8'));
    expect(url.host).toBe(`sts.${REGION}.amazonaws.com`);
    expect(url.searchParams.get('X-Amz-SignedHeaders')).toBe('host;x-k8s-aws-id');
  });

  it('ODC_EKS_CLUSTER_NAME of a cluster EKS does not have: its ResourceNotFoundException', async () => {
    await expect(
      resolveLambdaKubeAccess(
        loadAppConfig({ ODC_EKS_CLUSTER_NAME: 'gpu-nowhere', AWS_REGION: REGION }),
        quiet,
        {
          credentials: { accessKeyId: 'AKIDPEERTIER', secretAccessKey: 'peer-secret' },
        },
      ),
    ).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  });
});

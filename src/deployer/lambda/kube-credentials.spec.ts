import { DescribeClusterCommand, EKSClient } from '@aws-sdk/client-eks';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { KubeConfig } from '@kubernetes/client-node';
import { mockClient } from 'aws-sdk-client-mock';
import { createHash, createHmac } from 'node:crypto';
import type { RequestOptions } from 'node:https';
import { loadAppConfig } from '../../app/config';
import { kubeConfigForServer } from '../kube/kube-access';
import {
  EKS_TOKEN_PREFIX,
  EksTokenAuthenticator,
  mintEksToken,
  parseKubeconfigSecret,
  resolveLambdaKubeAccess,
} from './kube-credentials';

const CREDENTIALS = {
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
  sessionToken: 'session/token+with=odd/chars',
};
const AT = new Date('2026-03-01T12:00:00Z');
const CLUSTER = 'gpu-east';
const REGION = 'us-west-2';
const CA_DATA = Buffer.from('-----BEGIN CERTIFICATE-----\nnot really\n-----END CERTIFICATE-----\n').toString(
  'base64',
);
const quiet = { info: () => undefined };

function kubeconfigYaml(server: string, token: string): string {
  const kc = kubeConfigForServer(server);
  kc.loadFromOptions({
    clusters: kc.getClusters(),
    users: [{ name: 'deployer', token }],
    contexts: kc.getContexts(),
    currentContext: kc.getCurrentContext(),
  });
  return kc.exportConfig();
}

async function authorizationOf(kc: KubeConfig): Promise<RequestOptions> {
  const opts: RequestOptions = {};
  await kc.applyToHTTPSOptions(opts);
  return opts;
}

function urlOf(token: string): URL {
  expect(token.startsWith(EKS_TOKEN_PREFIX)).toBe(true);
  const encoded = token.slice(EKS_TOKEN_PREFIX.length);
  expect(encoded).toMatch(/^[A-Za-z0-9_-]+$/); // base64url, no padding
  return new URL(Buffer.from(encoded, 'base64url').toString('utf8'));
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const hmac = (key: string | Buffer, text: string) => createHmac('sha256', key).update(text).digest();
const rfc3986 = (text: string) =>
  encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** SigV4 query signing done by hand, to check the presigned URL as STS would. */
function signatureIsValid(url: URL, headers: Record<string, string>, secretAccessKey: string): boolean {
  const query = [...url.searchParams]
    .filter(([key]) => key !== 'X-Amz-Signature')
    .map(([key, value]) => `${rfc3986(key)}=${rfc3986(value)}`)
    .sort()
    .join('&');
  const signedHeaders = url.searchParams.get('X-Amz-SignedHeaders')!.split(';');
  const canonicalRequest = [
    'GET',
    url.pathname,
    query,
    signedHeaders.map((name) => `${name}:${headers[name]}\n`).join(''),
    signedHeaders.join(';'),
    sha256(''),
  ].join('\n');
  const [, date, region, service, terminator] = url.searchParams.get('X-Amz-Credential')!.split('/');
  const stringToSign = [
    'AWS4-HMAC-SHA256',
    url.searchParams.get('X-Amz-Date'),
    [date, region, service, terminator].join('/'),
    sha256(canonicalRequest),
  ].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${secretAccessKey}`, date!), region!), service!), terminator!);
  return hmac(key, stringToSign).toString('hex') === url.searchParams.get('X-Amz-Signature');
}

describe('parseKubeconfigSecret', () => {
  const yaml = kubeconfigYaml('https://k8s.example.internal:6443', 'sa-token');

  it('reads a kubeconfig kept as YAML, or as base64 of it', () => {
    for (const text of [yaml, `\n${Buffer.from(yaml).toString('base64')}\n`]) {
      const kc = parseKubeconfigSecret(text, 'odc/kubeconfig');
      expect(kc.getCurrentCluster()?.server).toBe('https://k8s.example.internal:6443');
      expect(kc.getCurrentUser()?.token).toBe('sa-token');
    }
  });

  it('refuses text that is no kubeconfig without quoting it', () => {
    const attempt = () => parseKubeconfigSecret('password: hunter2\n  nested: [unclosed', 'odc/kubeconfig');
    expect(attempt).toThrow(/^Secret odc\/kubeconfig does not hold a kubeconfig/);
    expect(attempt).not.toThrow(/hunter2/);
    expect(() => parseKubeconfigSecret('apiVersion: v1\nkind: Config\n', 'odc/empty')).toThrow(
      'The kubeconfig in secret odc/empty has no current context with a cluster',
    );
  });
});

describe('mintEksToken', () => {
  it('is a presigned STS GetCallerIdentity URL, valid for 60 s, with the cluster name signed in', async () => {
    const url = urlOf(await mintEksToken(CLUSTER, REGION, CREDENTIALS, AT));
    expect(url.origin).toBe('https://sts.us-west-2.amazonaws.com');
    expect(url.pathname).toBe('/');
    expect(Object.fromEntries(url.searchParams)).toMatchObject({
      Action: 'GetCallerIdentity',
      Version: '2011-06-15',
      'X-Amz-Algorithm': 'AWS4-HMAC-SHA256',
      'X-Amz-Credential': 'AKIDEXAMPLE/20260301/us-west-2/sts/aws4_request',
      'X-Amz-Date': '20260301T120000Z',
      'X-Amz-Expires': '60',
      'X-Amz-Security-Token': CREDENTIALS.sessionToken,
      'X-Amz-SignedHeaders': 'host;x-k8s-aws-id',
    });
    const headers = { host: url.host, 'x-k8s-aws-id': CLUSTER };
    expect(signatureIsValid(url, headers, CREDENTIALS.secretAccessKey)).toBe(true);
    // The cluster name is part of the signature: the token is no good for another cluster.
    expect(signatureIsValid(url, { ...headers, 'x-k8s-aws-id': 'other' }, CREDENTIALS.secretAccessKey)).toBe(
      false,
    );
  });

  it('uses the China partition STS host in cn- regions', async () => {
    const url = urlOf(await mintEksToken(CLUSTER, 'cn-north-1', CREDENTIALS, AT));
    expect(url.host).toBe('sts.cn-north-1.amazonaws.com.cn');
  });
});

describe('EksTokenAuthenticator', () => {
  it('reuses a token for ten minutes, then mints a new one', async () => {
    let now = AT;
    const auth = new EksTokenAuthenticator(CLUSTER, REGION, CREDENTIALS, () => now);
    const first = await auth.token();
    now = new Date(AT.getTime() + 9 * 60_000);
    expect(await auth.token()).toBe(first);
    now = new Date(AT.getTime() + 10 * 60_000);
    const second = await auth.token();
    expect(second).not.toBe(first);
    expect(urlOf(second).searchParams.get('X-Amz-Date')).toBe('20260301T121000Z');
  });

  it('tries again on the next request when credentials could not be had', async () => {
    let calls = 0;
    const credentials = () => {
      calls += 1;
      return calls === 1 ? Promise.reject(new Error('no credentials yet')) : Promise.resolve(CREDENTIALS);
    };
    const auth = new EksTokenAuthenticator(CLUSTER, REGION, credentials, () => AT);
    await expect(auth.token()).rejects.toThrow('no credentials yet');
    expect(urlOf(await auth.token()).searchParams.get('Action')).toBe('GetCallerIdentity');
  });
});

describe('resolveLambdaKubeAccess', () => {
  const secrets = mockClient(SecretsManagerClient);
  const eks = mockClient(EKSClient);

  beforeEach(() => {
    secrets.reset();
    eks.reset();
  });

  afterAll(() => {
    secrets.restore();
    eks.restore();
  });

  it('KUBECONFIG_SECRET: the kubeconfig in the secret, its server and its credentials', async () => {
    secrets
      .on(GetSecretValueCommand, { SecretId: 'arn:aws:secretsmanager:us-west-2:1:secret:odc-kc' })
      .resolves({ SecretString: kubeconfigYaml('https://10.0.0.1:6443', 'from-secret') });
    const access = await resolveLambdaKubeAccess(
      loadAppConfig({
        KUBECONFIG_SECRET: 'arn:aws:secretsmanager:us-west-2:1:secret:odc-kc',
        AWS_REGION: REGION,
      }),
      quiet,
    );
    expect(access.source).toBe('KUBECONFIG_SECRET');
    expect(access.kubeConfig.getCurrentCluster()?.server).toBe('https://10.0.0.1:6443');
    expect((await authorizationOf(access.kubeConfig)).headers).toMatchObject({
      Authorization: 'Bearer from-secret',
    });
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    expect(eks.calls()).toHaveLength(0);
  });

  it('KUBECONFIG_SECRET wins over ODC_EKS_CLUSTER_NAME, and a secret with no value is an error', async () => {
    secrets.on(GetSecretValueCommand).resolves({});
    await expect(
      resolveLambdaKubeAccess(
        loadAppConfig({ KUBECONFIG_SECRET: 'odc-kc', ODC_EKS_CLUSTER_NAME: CLUSTER, AWS_REGION: REGION }),
        quiet,
      ),
    ).rejects.toThrow('Secret odc-kc has no value');
    expect(eks.calls()).toHaveLength(0);
  });

  it('ODC_EKS_CLUSTER_NAME: endpoint and CA from DescribeCluster, an EKS token on its requests', async () => {
    eks.on(DescribeClusterCommand, { name: CLUSTER }).resolves({
      cluster: {
        endpoint: 'https://ABC123.gr7.us-west-2.eks.amazonaws.com',
        certificateAuthority: { data: CA_DATA },
      },
    });
    const access = await resolveLambdaKubeAccess(
      loadAppConfig({ ODC_EKS_CLUSTER_NAME: CLUSTER, AWS_REGION: REGION }),
      quiet,
      { credentials: CREDENTIALS, now: () => AT },
    );
    expect(access.source).toBe('ODC_EKS_CLUSTER_NAME');
    expect(access.kubeConfig.getCurrentCluster()).toMatchObject({
      server: 'https://ABC123.gr7.us-west-2.eks.amazonaws.com',
      caData: CA_DATA,
      skipTLSVerify: false,
    });
    const opts = await authorizationOf(access.kubeConfig);
    expect(opts.ca?.toString()).toContain('not really');
    const bearer = /^Bearer (.+)$/.exec(String((opts.headers as Record<string, unknown>).Authorization))![1]!;
    const url = urlOf(bearer);
    expect(url.searchParams.get('Action')).toBe('GetCallerIdentity');
    expect(url.searchParams.get('X-Amz-Expires')).toBe('60');
    expect(url.searchParams.get('X-Amz-SignedHeaders')!.split(';')).toContain('x-k8s-aws-id');
    expect(
      signatureIsValid(url, { host: url.host, 'x-k8s-aws-id': CLUSTER }, CREDENTIALS.secretAccessKey),
    ).toBe(true);
    expect(eks.commandCalls(DescribeClusterCommand)).toHaveLength(1);
  });

  it('ODC_EKS_CLUSTER_NAME: a cluster without an endpoint yet, or no region, is an error', async () => {
    eks.on(DescribeClusterCommand).resolves({ cluster: { name: CLUSTER, status: 'CREATING' } });
    const config = loadAppConfig({ ODC_EKS_CLUSTER_NAME: CLUSTER, AWS_REGION: REGION });
    await expect(resolveLambdaKubeAccess(config, quiet, { credentials: CREDENTIALS })).rejects.toThrow(
      'EKS cluster gpu-east has no endpoint or certificate authority yet',
    );
    await expect(
      resolveLambdaKubeAccess(loadAppConfig({ ODC_EKS_CLUSTER_NAME: CLUSTER }), quiet, {
        credentials: CREDENTIALS,
      }),
    ).rejects.toThrow('ODC_EKS_CLUSTER_NAME needs AWS_REGION');
  });

  it('neither set: the standalone order (here ODC_KUBECONFIG_BASE64)', async () => {
    const base64 = Buffer.from(kubeconfigYaml('https://kube.local:6443', 't')).toString('base64');
    const access = await resolveLambdaKubeAccess(
      loadAppConfig({ NODE_ENV: 'production', ODC_ROLES: 'deployer', ODC_KUBECONFIG_BASE64: base64 }),
      quiet,
    );
    expect(access.source).toBe('ODC_KUBECONFIG_BASE64');
    expect(access.kubeConfig.getCurrentCluster()?.server).toBe('https://kube.local:6443');
    expect(secrets.calls()).toHaveLength(0);
    expect(eks.calls()).toHaveLength(0);
  });
});

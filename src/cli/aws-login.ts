/**
 * `gpu-dev login --aws`: the legacy AWS IAM login (docs/identity.md). The AWS credentials stay on
 * this machine: they sign an STS GetCallerIdentity request here, and only that presigned URL goes to
 * ODC, which sends it to STS to learn who signed it and answers with a new API key. The URL proves
 * the caller's identity for a minute and can do nothing else.
 *
 * Nothing here prints or logs the credentials or the presigned URL (it works like a password until
 * it expires).
 */
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import type { OdcApi } from './api';
import { usage } from './context';
import { CliError, ExitCode } from './errors';

/** AWS's global STS endpoint, which signs in us-east-1. */
export const DEFAULT_STS_ENDPOINT = 'https://sts.amazonaws.com/';
const GLOBAL_SIGNING_REGION = 'us-east-1';
/** A regional endpoint signs in its own region: `sts.<region>.amazonaws.com[.cn]`. */
const REGIONAL_STS_HOST = /^sts\.([a-z]{2}(?:-[a-z]+)+-\d{1,2})\.amazonaws\.com(?:\.cn)?$/;
/** Long enough for ODC to forward it at once; the server refuses more than 900 s anyway. */
const PRESIGN_EXPIRES_SECONDS = 60;
/** Names the key in `gpu-dev keys list`, as the browser login's key is named `gpu-dev login`. */
const KEY_NAME = 'gpu-dev login --aws';

type AwsCredentials = Awaited<ReturnType<ReturnType<typeof defaultProvider>>>;

interface AwsLoginResult {
  key: string;
  username: string;
}

/** The STS endpoint to presign for, checked: a URL typed wrong is a usage error (exit 2). */
export function parseStsEndpoint(raw: string | undefined): URL {
  let url: URL;
  try {
    url = new URL(raw ?? DEFAULT_STS_ENDPOINT);
  } catch {
    throw usage(`Not a URL for the STS endpoint: ${raw}`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw usage(`The STS endpoint must be an http(s) URL: ${raw}`);
  }
  // The signed request carries its own query; ODC also refuses credentials or a fragment in it.
  if (url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
    throw usage('The STS endpoint must be a plain URL (no query, fragment or user name)');
  }
  return url;
}

/** The region SigV4 must name: a regional endpoint's own, else us-east-1 (the global endpoint's). */
export function signingRegion(endpoint: URL): string {
  return REGIONAL_STS_HOST.exec(endpoint.hostname)?.[1] ?? GLOBAL_SIGNING_REGION;
}

/**
 * The caller's AWS credentials from the SDK's standard chain (environment, AWS_PROFILE and
 * ~/.aws files, SSO, credential_process, web identity, container or instance role). Any failure
 * is one line, exit 3: without credentials there is no way to log in this way.
 */
export async function loadAwsCredentials(): Promise<AwsCredentials> {
  try {
    return await defaultProvider()();
  } catch (error) {
    // The SDK's messages name providers and profiles, never secrets; the first line is enough.
    const [firstLine = ''] = ((error as Error).message ?? String(error)).split('\n');
    const why = firstLine.slice(0, 200);
    throw new CliError(
      `No usable AWS credentials (${why}): set AWS_PROFILE or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY`,
      ExitCode.NotAuthenticated,
      'no_aws_credentials',
    );
  }
}

/**
 * A GetCallerIdentity GET request presigned in the query (SigV4), as a URL. Only `host` is signed,
 * so ODC can forward it as it is; a session token goes in as X-Amz-Security-Token.
 */
export async function presignCallerIdentity(
  endpoint: URL,
  credentials: AwsCredentials,
  signingDate = new Date(),
): Promise<string> {
  const signer = new SignatureV4({
    credentials,
    region: signingRegion(endpoint),
    service: 'sts',
    sha256: Hash.bind(null, 'sha256'),
  });
  const presigned = await signer.presign(
    {
      method: 'GET',
      protocol: endpoint.protocol,
      hostname: endpoint.hostname,
      ...(endpoint.port !== '' ? { port: Number(endpoint.port) } : {}),
      path: endpoint.pathname,
      query: { Action: 'GetCallerIdentity', Version: '2011-06-15' },
      headers: { host: endpoint.host },
    },
    { expiresIn: PRESIGN_EXPIRES_SECONDS, signingDate },
  );
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(presigned.query ?? {})) {
    for (const item of Array.isArray(value) ? value : [value]) {
      if (item !== null) {
        query.append(name, item);
      }
    }
  }
  return `${endpoint.protocol}//${endpoint.host}${endpoint.pathname}?${query.toString()}`;
}

/**
 * A new API key for whoever the AWS credentials belong to. The call carries no API key (this is
 * the login); ODC's refusals come back as CliErrors (401: the role may not log in → exit 3).
 */
export async function awsLoginKey(api: OdcApi, stsEndpoint: string | undefined): Promise<string> {
  const endpoint = parseStsEndpoint(stsEndpoint);
  const url = await presignCallerIdentity(endpoint, await loadAwsCredentials());
  const result = await api.post<AwsLoginResult>(
    '/api/v1/auth/aws-login',
    { url, key_name: KEY_NAME },
    {},
    { anonymous: true },
  );
  return result.key;
}

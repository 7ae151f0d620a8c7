import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';

/** AWS credentials, with a session token for temporary ones (AssumeRole's). */
export interface AwsKeys {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

const API_VERSIONS = { iam: '2010-05-08', sts: '2011-06-15' } as const;
const FORM = 'application/x-www-form-urlencoded; charset=utf-8';

/**
 * A request of AWS's Query protocol (IAM, STS) signed in its Authorization header, as the SDK
 * signs it: POST `Action=…&Version=…` form-encoded to `endpoint`. For the few IAM and STS calls the
 * peer tests make to set moto up, without an SDK client ODC itself has no use for.
 */
export async function signedQueryRequest(
  endpoint: string,
  service: keyof typeof API_VERSIONS,
  keys: AwsKeys,
  params: Record<string, string>,
): Promise<{ url: string; headers: Record<string, string>; body: string }> {
  const url = new URL(endpoint);
  const body = new URLSearchParams({ ...params, Version: API_VERSIONS[service] }).toString();
  const signer = new SignatureV4({
    credentials: keys,
    region: 'us-east-1', // IAM and global STS sign in us-east-1
    service,
    sha256: Hash.bind(null, 'sha256'),
  });
  const signed = await signer.sign({
    method: 'POST',
    protocol: url.protocol,
    hostname: url.hostname,
    ...(url.port !== '' ? { port: Number(url.port) } : {}),
    path: url.pathname,
    headers: { host: url.host, 'content-type': FORM },
    body,
  });
  return { url: url.href, headers: signed.headers, body };
}

/** Calls moto's IAM or STS; answers the XML, or throws with moto's error. */
export async function queryCall(
  endpoint: string,
  service: keyof typeof API_VERSIONS,
  keys: AwsKeys,
  params: Record<string, string>,
): Promise<string> {
  const request = await signedQueryRequest(endpoint, service, keys, params);
  const { host: _host, ...headers } = request.headers; // fetch sets host itself
  const answer = await fetch(request.url, { method: 'POST', headers, body: request.body });
  const text = await answer.text();
  if (!answer.ok) {
    throw new Error(`${service} ${params.Action} answered ${answer.status}: ${text}`);
  }
  return text;
}

/** The text of the first `<name>` element of an AWS XML answer. */
export function xmlText(xml: string, name: string): string {
  const value = new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)?.[1];
  if (value === undefined) {
    throw new Error(`no <${name}> in ${xml.slice(0, 300)}`);
  }
  return value;
}

/** An IAM role anyone in the account may assume, its ARN answered. */
export async function createRole(endpoint: string, keys: AwsKeys, roleName: string): Promise<string> {
  const trust = {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: { AWS: '*' }, Action: 'sts:AssumeRole' }],
  };
  const xml = await queryCall(endpoint, 'iam', keys, {
    Action: 'CreateRole',
    RoleName: roleName,
    AssumeRolePolicyDocument: JSON.stringify(trust),
  });
  return xmlText(xml, 'Arn');
}

/** Temporary credentials of a session of the role, named `sessionName`. */
export async function assumeRole(
  endpoint: string,
  keys: AwsKeys,
  roleArn: string,
  sessionName: string,
): Promise<AwsKeys & { arn: string }> {
  const xml = await queryCall(endpoint, 'sts', keys, {
    Action: 'AssumeRole',
    RoleArn: roleArn,
    RoleSessionName: sessionName,
  });
  return {
    accessKeyId: xmlText(xml, 'AccessKeyId'),
    secretAccessKey: xmlText(xml, 'SecretAccessKey'),
    sessionToken: xmlText(xml, 'SessionToken'),
    arn: xmlText(xml, 'Arn'),
  };
}

/** An IAM user with an access key of its own. */
export async function createUserWithKey(
  endpoint: string,
  keys: AwsKeys,
  userName: string,
): Promise<AwsKeys & { arn: string }> {
  const arn = xmlText(
    await queryCall(endpoint, 'iam', keys, { Action: 'CreateUser', UserName: userName }),
    'Arn',
  );
  const xml = await queryCall(endpoint, 'iam', keys, { Action: 'CreateAccessKey', UserName: userName });
  return { accessKeyId: xmlText(xml, 'AccessKeyId'), secretAccessKey: xmlText(xml, 'SecretAccessKey'), arn };
}

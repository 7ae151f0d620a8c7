/**
 * Legacy AWS IAM login, off unless ODC_AWS_IAM_AUTH_ENABLED. The client never sends AWS
 * credentials: it sends an STS GetCallerIdentity request it presigned (SigV4, in the query or in an
 * Authorization header), which proves who it is to STS for a few minutes and can do nothing else.
 * ODC checks its shape, sends it to STS, reads the ARN STS answers, checks it against
 * ODC_AWS_ALLOWED_ROLES and derives the ODC user name.
 *
 * The order, and when STS is called:
 * 1. the input is checked without any I/O (shape, raw credentials, https STS endpoint, Action,
 *    X-Amz-Expires, signature present, headers): a refusal here sends nothing;
 * 2. an empty allowlist refuses everyone, still without calling STS;
 * 3. otherwise STS is always called: the role is only known from its answer (the access key id in
 *    the request says nothing trustworthy), so identity is proven before authorization is decided;
 * 4. the principal must be allowed (assumed roles by name or ARN, IAM users only by full ARN, root
 *    never: see aws-principal.ts), then must yield a user name.
 *
 * Only allowlisted headers are forwarded (`x-amz-*`, an AWS4 `authorization`, a form `content-type`;
 * `host` comes from the URL), so cookies and ODC's own Authorization never reach STS. Every header
 * the signature covers must be one of them: a token presigned for another audience (an EKS token
 * signs `x-k8s-aws-id`, Vault signs `x-vault-aws-iam-server-id`) is refused rather than replayed.
 * Redirects are never followed. No error message carries the URL, the signature, the security token
 * or a header value.
 */
import { request, type Dispatcher } from 'undici';
import type { AuthConfig } from '../auth.config';
import { AwsLoginError, AwsLoginReason, StsUnavailableError } from './aws-login.errors';
import {
  isAllowed,
  parseAllowedPrincipals,
  parseCallerArn,
  usernameOf,
  type AllowedPrincipal,
} from './aws-principal';

/** What the client sends: the presigned request, exactly as it would send it to STS itself. */
export interface PresignedCallerIdentity {
  url: string;
  /** Default GET. */
  method?: 'GET' | 'POST';
  /** The headers it signed (header-signed form: `authorization`, `x-amz-date`, …). */
  headers?: Record<string, string>;
  /** POST only: `Action=GetCallerIdentity&Version=2011-06-15`, form-encoded. */
  body?: string;
}

/** Who STS says the caller is, once allowed. */
export interface AwsIdentity {
  arn: string;
  account: string;
  roleName?: string;
  sessionName?: string;
  /** `[a-z0-9._-]`, at most 64 characters. */
  username: string;
}

/** The presigned request as it will be sent, after every check. */
export interface CheckedRequest {
  url: URL;
  method: 'GET' | 'POST';
  /** Only forwardable headers, names in lower case, without `host`. */
  headers: Record<string, string>;
  body?: string;
}

export const STS_TIMEOUT_MS = 5000;
/** The longest a presigned request may stay valid: 15 minutes (as EKS accepts). */
export const MAX_PRESIGN_EXPIRES_SECONDS = 900;

const MAX_URL_LENGTH = 8192;
const MAX_BODY_LENGTH = 8192;
const MAX_HEADERS = 32;
const MAX_HEADER_VALUE_LENGTH = 8192;
const MAX_STS_ANSWER_BYTES = 64 * 1024;
const STS_API_VERSION = '2011-06-15';
const SIGV4_ALGORITHM = 'AWS4-HMAC-SHA256';
const FORM_CONTENT_TYPE = /^application\/x-www-form-urlencoded\s*(?:;\s*charset=utf-8\s*)?$/i;
const INPUT_FIELDS = new Set(['url', 'method', 'headers', 'body']);

/** Every query/form parameter a presigned GetCallerIdentity may carry, in its exact spelling. */
const SIGNING_PARAMS = [
  'X-Amz-Algorithm',
  'X-Amz-Credential',
  'X-Amz-Date',
  'X-Amz-Expires',
  'X-Amz-SignedHeaders',
  'X-Amz-Signature',
  'X-Amz-Security-Token',
];
const PARAMS = new Map(['Action', 'Version', ...SIGNING_PARAMS].map((name) => [name.toLowerCase(), name]));

/** `<access key id>/<yyyymmdd>/<region>/sts/aws4_request` */
const CREDENTIAL_SCOPE = /^[A-Z0-9]{16,128}\/\d{8}\/[a-z0-9-]{1,32}\/sts\/aws4_request$/;
const SIGNED_HEADERS = /^[a-z0-9-]+(?:;[a-z0-9-]+)*$/;
const SIGNATURE = /^[0-9a-f]{64}$/;
const AMZ_DATE = /^\d{8}T\d{6}Z$/;
const AUTHORIZATION =
  /^AWS4-HMAC-SHA256 Credential=([^,\s]+),\s*SignedHeaders=([^,\s]+),\s*Signature=([^,\s]+)$/;
const HEADER_VALUE = /^[\t\x20-\x7e]*$/;

/** STS endpoints: global, regional, and the China regions under their own domain. */
const STS_HOSTS = [
  /^sts\.amazonaws\.com$/,
  /^sts\.[a-z]{2}(?:-[a-z]+)+-\d{1,2}\.amazonaws\.com$/,
  /^sts\.cn-[a-z]+-\d{1,2}\.amazonaws\.com\.cn$/,
];

/** STS error codes that mean "try later", not "you are not who you say". */
const STS_BUSY_CODES = new Set([
  'Throttling',
  'ThrottlingException',
  'RequestLimitExceeded',
  'ServiceUnavailable',
]);

/**
 * A field, header or parameter named like an AWS secret (`aws_secret_access_key`, `secretAccessKey`,
 * `aws_access_key_id`, `sessionToken`, `credentials`…). `X-Amz-Credential` (the public scope) and
 * `X-Amz-Security-Token` (a signed part of a presigned request) are not.
 */
function looksLikeCredential(name: string): boolean {
  const key = name.toLowerCase().replace(/[^a-z0-9]/g, '');
  return (
    /secret|password|sessiontoken|accesskey/.test(key) || ['credentials', 'awscredentials'].includes(key)
  );
}

function invalid(message: string): AwsLoginError {
  return new AwsLoginError(AwsLoginReason.InvalidRequest, message);
}

function rawCredentials(): AwsLoginError {
  return new AwsLoginError(
    AwsLoginReason.RawCredentials,
    'AWS credentials are never accepted: send a presigned STS GetCallerIdentity request instead',
  );
}

/** A client-chosen name, repeated in a message only when it is short and plainly an identifier. */
function shown(name: string): string {
  return /^[A-Za-z0-9_.-]{1,40}$/.test(name) ? `'${name}'` : '(unprintable name)';
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isAwsStsHost(hostname: string): boolean {
  return STS_HOSTS.some((pattern) => pattern.test(hostname));
}

/** Whether `url` targets the configured endpoint (true) or an AWS STS host over https (false). */
function checkEndpoint(url: URL, configured: URL | undefined): boolean {
  if (url.username !== '' || url.password !== '') {
    throw invalid('The presigned URL must not carry a user name or password');
  }
  const isConfigured =
    configured !== undefined && url.protocol === configured.protocol && url.host === configured.host;
  if (isConfigured) {
    return true;
  }
  if (url.protocol !== 'https:') {
    throw new AwsLoginError(AwsLoginReason.NotStsEndpoint, 'The presigned URL must use https');
  }
  if (url.port !== '' || !isAwsStsHost(url.hostname)) {
    throw new AwsLoginError(
      AwsLoginReason.NotStsEndpoint,
      'The presigned URL must target an AWS STS endpoint (sts.amazonaws.com or sts.<region>.amazonaws.com[.cn])',
    );
  }
  return false;
}

/** The query and (POST) form parameters, by exact name; unknown, misspelled or repeated ones refused. */
function collectParams(url: URL, body: string | undefined): Map<string, string> {
  const pairs = [...url.searchParams, ...(body !== undefined ? [...new URLSearchParams(body)] : [])];
  if (pairs.some(([name]) => looksLikeCredential(name))) {
    throw rawCredentials();
  }
  const actions = pairs.filter(([name]) => name.toLowerCase() === 'action');
  if (actions.length !== 1 || actions[0]?.[0] !== 'Action' || actions[0][1] !== 'GetCallerIdentity') {
    throw new AwsLoginError(AwsLoginReason.WrongAction, 'Exactly one Action=GetCallerIdentity is accepted');
  }
  const params = new Map<string, string>();
  for (const [name, value] of pairs) {
    const known = PARAMS.get(name.toLowerCase());
    if (known === undefined) {
      throw invalid(`Unexpected parameter ${shown(name)} in a GetCallerIdentity request`);
    }
    if (name !== known) {
      throw invalid(`Parameter ${shown(name)} must be spelled ${known}`);
    }
    if (params.has(known)) {
      throw invalid(`Parameter ${known} appears more than once`);
    }
    params.set(known, value);
  }
  const version = params.get('Version');
  if (version !== undefined && version !== STS_API_VERSION) {
    throw invalid(`Version must be ${STS_API_VERSION}`);
  }
  return params;
}

function checkExpires(params: Map<string, string>, required: boolean): void {
  const expires = params.get('X-Amz-Expires');
  if (expires === undefined && !required) {
    return;
  }
  const seconds = expires !== undefined && /^\d{1,6}$/.test(expires) ? Number(expires) : NaN;
  if (!(seconds >= 1 && seconds <= MAX_PRESIGN_EXPIRES_SECONDS)) {
    throw new AwsLoginError(
      AwsLoginReason.ExpiresTooLong,
      `X-Amz-Expires must be present and at most ${MAX_PRESIGN_EXPIRES_SECONDS} seconds`,
    );
  }
}

function notPresigned(message: string): AwsLoginError {
  return new AwsLoginError(AwsLoginReason.NotPresigned, message);
}

/** Which headers the signature covers, after checking the signature's form (never its value). */
function signedHeaderNames(params: Map<string, string>, headers: Map<string, string>): string[] {
  const authorization = headers.get('authorization');
  const querySigned = params.has('X-Amz-Signature');
  if (querySigned && authorization !== undefined) {
    throw invalid('Sign in the query or in the Authorization header, not both');
  }
  if (querySigned) {
    if (params.get('X-Amz-Algorithm') !== SIGV4_ALGORITHM) {
      throw notPresigned(`X-Amz-Algorithm must be ${SIGV4_ALGORITHM}`);
    }
    const credential = params.get('X-Amz-Credential') ?? '';
    const date = params.get('X-Amz-Date') ?? '';
    const signedHeaders = params.get('X-Amz-SignedHeaders') ?? '';
    if (
      !CREDENTIAL_SCOPE.test(credential) ||
      !AMZ_DATE.test(date) ||
      !SIGNED_HEADERS.test(signedHeaders) ||
      !SIGNATURE.test(params.get('X-Amz-Signature') ?? '')
    ) {
      throw notPresigned(
        'A presigned URL needs X-Amz-Credential (scoped to sts), X-Amz-Date, X-Amz-SignedHeaders and X-Amz-Signature',
      );
    }
    checkExpires(params, true);
    return signedHeaders.split(';');
  }
  if (authorization !== undefined) {
    const match = AUTHORIZATION.exec(authorization);
    const [, credential = '', signedHeaders = '', signature = ''] = match ?? [];
    if (
      !match ||
      !CREDENTIAL_SCOPE.test(credential) ||
      !SIGNED_HEADERS.test(signedHeaders) ||
      !SIGNATURE.test(signature)
    ) {
      throw notPresigned('The Authorization header must be an AWS4-HMAC-SHA256 signature scoped to sts');
    }
    if (SIGNING_PARAMS.some((name) => params.has(name))) {
      throw invalid('A header-signed request carries no X-Amz-* query parameters');
    }
    if (!AMZ_DATE.test(headers.get('x-amz-date') ?? '')) {
      throw notPresigned('A header-signed request needs its x-amz-date header');
    }
    return signedHeaders.split(';');
  }
  throw notPresigned('The request is not signed: presign it with SigV4 (X-Amz-Signature) first');
}

function isForwardable(name: string, method: 'GET' | 'POST'): boolean {
  return (
    name.startsWith('x-amz-') || name === 'authorization' || (name === 'content-type' && method === 'POST')
  );
}

/** The client's headers, lower-cased; credentials refused, duplicates refused. */
function readHeaders(raw: unknown): Map<string, string> {
  const headers = new Map<string, string>();
  if (raw === undefined) {
    return headers;
  }
  if (!isPlainObject(raw)) {
    throw invalid('headers must be an object of strings');
  }
  const entries = Object.entries(raw);
  if (entries.length > MAX_HEADERS) {
    throw invalid(`At most ${MAX_HEADERS} headers`);
  }
  for (const [rawName, value] of entries) {
    if (looksLikeCredential(rawName)) {
      throw rawCredentials();
    }
    const name = rawName.toLowerCase();
    if (typeof value !== 'string' || value.length > MAX_HEADER_VALUE_LENGTH) {
      throw invalid(`Header ${shown(rawName)} must be a string`);
    }
    if (headers.has(name)) {
      throw invalid(`Header ${shown(rawName)} appears more than once`);
    }
    headers.set(name, value);
  }
  return headers;
}

/**
 * Everything that can be checked before sending: throws an AwsLoginError (never with the
 * signature, token or header values in it), or returns the request to send, and only that.
 * `configuredEndpoint` is ODC_AWS_STS_ENDPOINT: the one non-AWS host allowed, and the only way to
 * use http.
 */
export function checkPresignedRequest(input: unknown, configuredEndpoint?: URL): CheckedRequest {
  if (!isPlainObject(input)) {
    throw invalid('Expected an object { url, method?, headers?, body? }');
  }
  for (const key of Object.keys(input)) {
    if (looksLikeCredential(key)) {
      throw rawCredentials();
    }
    if (!INPUT_FIELDS.has(key)) {
      throw invalid(`Unexpected field ${shown(key)}`);
    }
  }
  const { url: rawUrl, method = 'GET', headers: rawHeaders, body } = input;
  if (method !== 'GET' && method !== 'POST') {
    throw invalid('method must be GET or POST');
  }
  if (body !== undefined && (typeof body !== 'string' || body.length > MAX_BODY_LENGTH)) {
    throw invalid(`body must be a string of at most ${MAX_BODY_LENGTH} characters`);
  }
  if (method === 'GET' && body !== undefined && body !== '') {
    throw invalid('A GET request has no body');
  }
  const headers = readHeaders(rawHeaders);
  if (typeof rawUrl !== 'string' || rawUrl.length > MAX_URL_LENGTH) {
    throw invalid(`url must be a string of at most ${MAX_URL_LENGTH} characters`);
  }
  if (rawUrl.includes('#')) {
    throw invalid('The presigned URL must not have a fragment');
  }
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    throw invalid('url is not a URL');
  }
  const isConfigured = checkEndpoint(url, configuredEndpoint);
  const expectedPath = isConfigured && configuredEndpoint ? configuredEndpoint.pathname : '/';
  if (url.pathname !== expectedPath) {
    throw invalid(`The presigned URL's path must be ${expectedPath}`);
  }

  const formBody = method === 'POST' && body !== undefined && body !== '' ? body : undefined;
  if (formBody !== undefined && !FORM_CONTENT_TYPE.test(headers.get('content-type') ?? '')) {
    throw invalid('A POST body must be application/x-www-form-urlencoded');
  }
  const params = collectParams(url, formBody);
  checkExpires(params, false);
  const signed = signedHeaderNames(params, headers);

  const host = headers.get('host');
  if (host !== undefined && host.toLowerCase() !== url.host) {
    throw invalid("The host header must be the URL's host");
  }
  const forwarded: Record<string, string> = {};
  for (const [name, value] of headers) {
    if (isForwardable(name, method)) {
      if (!HEADER_VALUE.test(value)) {
        throw invalid(`Header ${shown(name)} has characters a header cannot carry`);
      }
      forwarded[name] = value;
    }
  }
  for (const name of signed) {
    if (name !== 'host' && forwarded[name] === undefined) {
      throw invalid(
        `The signature covers header ${shown(name)}, which ODC does not forward (only x-amz-*, authorization, content-type)`,
      );
    }
  }
  return { url, method, headers: forwarded, ...(formBody !== undefined ? { body: formBody } : {}) };
}

interface CallerIdentity {
  arn: string;
  userId: string;
  account: string;
}

function decodeXml(text: string): string {
  return text
    .replace(/&#x([0-9a-f]+);/gi, (_, hex: string) => String.fromCodePoint(parseInt(hex, 16)))
    .replace(/&#(\d+);/g, (_, dec: string) => String.fromCodePoint(Number(dec)))
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');
}

/** The text of the one `<name>` element in `xml`; undefined when absent or repeated. */
function xmlElement(xml: string, name: string): string | undefined {
  const matches = [...xml.matchAll(new RegExp(`<${name}(?:\\s[^>]*)?>([\\s\\S]*?)</${name}>`, 'g'))];
  return matches.length === 1 ? decodeXml((matches[0]?.[1] ?? '').trim()) : undefined;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function stringAt(value: unknown, ...path: string[]): string | undefined {
  let current = value;
  for (const key of path) {
    current = isPlainObject(current) ? current[key] : undefined;
  }
  return typeof current === 'string' ? current : undefined;
}

/** GetCallerIdentity's answer: XML (the query protocol's default), or JSON when it was asked for. */
function parseCallerIdentity(text: string, contentType: string): CallerIdentity | undefined {
  let arn: string | undefined;
  let userId: string | undefined;
  let account: string | undefined;
  if (contentType.includes('json')) {
    const json = parseJson(text);
    const wrapped = isPlainObject(json) && 'GetCallerIdentityResponse' in json;
    const path = wrapped ? ['GetCallerIdentityResponse', 'GetCallerIdentityResult'] : [];
    arn = stringAt(json, ...path, 'Arn');
    userId = stringAt(json, ...path, 'UserId');
    account = stringAt(json, ...path, 'Account');
  } else {
    const result = xmlElement(text, 'GetCallerIdentityResult');
    if (result === undefined || !/<GetCallerIdentityResponse[\s>]/.test(text)) {
      return undefined;
    }
    arn = xmlElement(result, 'Arn');
    userId = xmlElement(result, 'UserId');
    account = xmlElement(result, 'Account');
  }
  return arn && userId && account ? { arn, userId, account } : undefined;
}

/** The error code of an STS error answer (`SignatureDoesNotMatch`…), if it is a plain code. */
function parseErrorCode(text: string, contentType: string): string | undefined {
  let code: string | undefined;
  if (contentType.includes('json')) {
    const json = parseJson(text);
    code =
      stringAt(json, 'Error', 'Code') ?? stringAt(json, 'code') ?? stringAt(json, '__type')?.split('#').pop();
  } else {
    code = xmlElement(text, 'Code');
  }
  return code !== undefined && /^[A-Za-z][A-Za-z0-9.]{0,63}$/.test(code) ? code : undefined;
}

/** At most `limit` bytes of an answer; a larger one is not STS's. */
async function readText(body: Dispatcher.ResponseData['body'], limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
    size += buffer.length;
    if (size > limit) {
      body.destroy();
      throw Object.assign(new Error('answer too large'), { code: 'ANSWER_TOO_LARGE' });
    }
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** A network failure as an error that names its kind, never the URL it was sending. */
function unreachable(error: unknown): StsUnavailableError {
  const code =
    isPlainObject(error) || error instanceof Error ? (error as { code?: unknown }).code : undefined;
  const name = error instanceof Error ? error.name : undefined;
  const causeCode = [code, name].find(
    (candidate): candidate is string => typeof candidate === 'string' && /^[A-Za-z_]{1,64}$/.test(candidate),
  );
  return new StsUnavailableError(`STS could not be reached${causeCode ? ` (${causeCode})` : ''}`, {
    ...(causeCode ? { causeCode } : {}),
  });
}

/**
 * Verifies legacy AWS IAM logins. Build it only when ODC_AWS_IAM_AUTH_ENABLED (it refuses every
 * login with reason `disabled` otherwise). Throws at construction when ODC_AWS_ALLOWED_ROLES has
 * an entry it cannot use.
 */
export class AwsLoginVerifier {
  private readonly allowed: readonly AllowedPrincipal[];
  private readonly endpoint?: URL;

  constructor(
    private readonly config: AuthConfig,
    /** Tests only: where requests go (default: undici's global dispatcher). */
    private readonly dispatcher?: Dispatcher,
    private readonly timeoutMs: number = STS_TIMEOUT_MS,
  ) {
    this.allowed = parseAllowedPrincipals(config.ODC_AWS_ALLOWED_ROLES);
    this.endpoint = config.ODC_AWS_STS_ENDPOINT ? new URL(config.ODC_AWS_STS_ENDPOINT) : undefined;
  }

  /**
   * Who the presigned request proves the caller to be, if that principal may log in. Throws
   * AwsLoginError (the caller's request or identity is refused) or StsUnavailableError (STS could
   * not answer: a 502/503, not a 401).
   */
  async verify(input: PresignedCallerIdentity): Promise<AwsIdentity> {
    if (!this.config.ODC_AWS_IAM_AUTH_ENABLED) {
      throw new AwsLoginError(AwsLoginReason.Disabled, 'AWS IAM login is not enabled');
    }
    const checked = checkPresignedRequest(input, this.endpoint);
    if (this.allowed.length === 0) {
      throw new AwsLoginError(AwsLoginReason.NotAnAllowedRole, 'No AWS role may log in to ODC');
    }
    const caller = await this.askSts(checked);
    const principal = parseCallerArn(caller.arn);
    if (!principal || principal.account !== caller.account) {
      throw new StsUnavailableError('STS answered with an ARN ODC cannot read');
    }
    if (!isAllowed(principal, this.allowed)) {
      const what =
        principal.kind === 'assumed-role'
          ? `role ${principal.roleName} in account ${principal.account}`
          : `${principal.kind === 'other' ? 'principal' : principal.kind} ${principal.arn}`;
      throw new AwsLoginError(AwsLoginReason.NotAnAllowedRole, `The AWS ${what} may not log in to ODC`);
    }
    const username = usernameOf(principal);
    if (username === undefined) {
      throw new AwsLoginError(
        AwsLoginReason.NoUsername,
        principal.kind === 'assumed-role'
          ? 'No ODC user name in the role session name: assume the role with --role-session-name <your user name or email>'
          : 'No ODC user name can be derived from this AWS principal',
      );
    }
    return {
      arn: principal.arn,
      account: principal.account,
      ...(principal.kind === 'assumed-role'
        ? { roleName: principal.roleName, sessionName: principal.sessionName }
        : {}),
      username,
    };
  }

  private async askSts(checked: CheckedRequest): Promise<CallerIdentity> {
    const options = {
      method: checked.method,
      headers: checked.headers,
      ...(checked.body !== undefined ? { body: checked.body } : {}),
      ...(this.dispatcher ? { dispatcher: this.dispatcher } : {}),
      headersTimeout: this.timeoutMs,
      bodyTimeout: this.timeoutMs,
      signal: AbortSignal.timeout(this.timeoutMs),
      // undici's request() follows no redirect by itself; 0 also disarms a redirect interceptor
      // composed into the dispatcher. (Not in undici 8's types, still honoured at run time.)
      maxRedirections: 0,
    };
    let status: number;
    let contentType: string;
    let text: string;
    try {
      const response = await request(checked.url.href, options);
      status = response.statusCode;
      const header = response.headers['content-type'];
      contentType = (Array.isArray(header) ? header.join(',') : (header ?? '')).toLowerCase();
      text = await readText(response.body, MAX_STS_ANSWER_BYTES);
    } catch (error) {
      throw unreachable(error);
    }
    if (status === 200) {
      const identity = parseCallerIdentity(text, contentType);
      if (!identity) {
        throw new StsUnavailableError('STS answered 200 with a body that is not a GetCallerIdentity result', {
          status,
        });
      }
      return identity;
    }
    const stsCode = parseErrorCode(text, contentType);
    if ([400, 401, 403].includes(status) && !(stsCode && STS_BUSY_CODES.has(stsCode))) {
      throw new AwsLoginError(
        AwsLoginReason.RejectedBySts,
        `STS refused the presigned request${stsCode ? ` (${stsCode})` : ''}`,
        stsCode ? { stsCode } : {},
      );
    }
    const what = status >= 300 && status < 400 ? ' (a redirect, not followed)' : '';
    throw new StsUnavailableError(`STS answered ${status}${what}${stsCode ? ` (${stsCode})` : ''}`, {
      status,
      ...(stsCode ? { stsCode } : {}),
    });
  }
}

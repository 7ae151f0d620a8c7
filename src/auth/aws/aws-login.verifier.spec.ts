import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { Agent, interceptors, type Dispatcher } from 'undici';
import { loadAppConfig } from '../../app/config';
import { AwsLoginError, AwsLoginReason, StsUnavailableError } from './aws-login.errors';
import { AwsLoginVerifier, checkPresignedRequest, type PresignedCallerIdentity } from './aws-login.verifier';

const ACCOUNT = '123456789012';
const STS_NS = 'https://sts.amazonaws.com/doc/2011-06-15/';

interface FakeCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

interface FakePrincipal extends FakeCredentials {
  arn: string;
  userId: string;
}

/** Fake credentials, and who STS says they belong to. */
const ALICE: FakePrincipal = {
  accessKeyId: 'ASIAALICEEXAMPLE0001',
  secretAccessKey: 'aliceSecretKeyDoNotLeak/0000000000000000',
  sessionToken: 'alice-session-token/DoNotLeak+00==',
  arn: `arn:aws:sts::${ACCOUNT}:assumed-role/GpuUsers/Alice.Smith@example.com`,
  userId: 'AROAGPUUSERSEXAMPLE:Alice.Smith@example.com',
};
const ADMIN: FakePrincipal = {
  accessKeyId: 'ASIAADMINEXAMPLE0002',
  secretAccessKey: 'adminSecretKeyDoNotLeak/000000000000000',
  sessionToken: 'admin-session-token',
  arn: `arn:aws:sts::${ACCOUNT}:assumed-role/GpuAdmins/bob`,
  userId: 'AROAGPUADMINSEXAMPLE:bob',
};
const OUTSIDER: FakePrincipal = {
  accessKeyId: 'ASIAOUTSIDEREXAMPLE3',
  secretAccessKey: 'outsiderSecretKeyDoNotLeak/000000000000',
  sessionToken: 'outsider-session-token',
  arn: `arn:aws:sts::${ACCOUNT}:assumed-role/Billing/mallory`,
  userId: 'AROABILLINGEXAMPLE:mallory',
};
const IAM_USER: FakePrincipal = {
  accessKeyId: 'AKIACAROLEXAMPLE0004',
  secretAccessKey: 'carolSecretKeyDoNotLeak/000000000000000',
  arn: `arn:aws:iam::${ACCOUNT}:user/ops/carol`,
  userId: 'AIDACAROLEXAMPLE',
};
const SDK_SESSION: FakePrincipal = {
  accessKeyId: 'ASIABOTOEXAMPLE00005',
  secretAccessKey: 'botoSecretKeyDoNotLeak/0000000000000000',
  sessionToken: 'boto-session-token',
  arn: `arn:aws:sts::${ACCOUNT}:assumed-role/GpuUsers/botocore-session-1700000000`,
  userId: 'AROAGPUUSERSEXAMPLE:botocore-session-1700000000',
};
const PRINCIPALS = [ALICE, ADMIN, OUTSIDER, IAM_USER, SDK_SESSION];
const API_KEY_BEARER = 'Bearer odc_apikey_DoNotForward';

const signerFor = (credentials: FakeCredentials, region: string) =>
  new SignatureV4({ credentials, region, service: 'sts', sha256: Hash.bind(null, 'sha256') });

function amzDate(value: string): Date {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!m) {
    return new Date(NaN);
  }
  return new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!));
}

function xmlError(code: string, message: string): string {
  return `<ErrorResponse xmlns="${STS_NS}">
  <Error>
    <Type>Sender</Type>
    <Code>${code}</Code>
    <Message>${message}</Message>
  </Error>
  <RequestId>6b4f6c51-0000-4000-8000-000000000000</RequestId>
</ErrorResponse>
`;
}

function xmlIdentity(principal: FakePrincipal): string {
  return `<GetCallerIdentityResponse xmlns="${STS_NS}">
  <GetCallerIdentityResult>
    <Arn>${principal.arn}</Arn>
    <UserId>${principal.userId}</UserId>
    <Account>${ACCOUNT}</Account>
  </GetCallerIdentityResult>
  <ResponseMetadata>
    <RequestId>01234567-89ab-cdef-0123-456789abcdef</RequestId>
  </ResponseMetadata>
</GetCallerIdentityResponse>
`;
}

interface Received {
  method: string;
  path: string;
  params: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: string;
}

type Override = (req: Received, res: ServerResponse) => boolean;

/**
 * STS on 127.0.0.1: checks the SigV4 signature of what it receives (query-presigned or
 * header-signed) against the fake credentials, as STS does, and answers in STS's XML.
 */
class FakeSts {
  readonly received: Received[] = [];
  /** Replaces the normal answer for one test when it returns true. */
  override?: Override;
  answerJson = false;
  private server!: Server;

  get origin(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  get host(): string {
    return new URL(this.origin).host;
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const url = new URL(req.url ?? '/', this.origin);
        const body = Buffer.concat(chunks).toString('utf8');
        const received: Received = {
          method: req.method ?? '',
          path: url.pathname,
          params: new URLSearchParams([...url.searchParams, ...new URLSearchParams(body)]),
          headers: req.headers,
          body,
        };
        this.received.push(received);
        if (this.override?.(received, res)) {
          return;
        }
        void this.answer(received, url).then(({ status, body: text }) => {
          res.writeHead(status, { 'content-type': this.answerJson ? 'application/json' : 'text/xml' });
          res.end(text);
        });
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async answer(req: Received, url: URL): Promise<{ status: number; body: string }> {
    if (req.params.get('Action') !== 'GetCallerIdentity') {
      return { status: 400, body: xmlError('InvalidAction', 'Could not find operation') };
    }
    const authorization = req.headers.authorization;
    const credential =
      req.params.get('X-Amz-Credential') ?? /Credential=([^,]+)/.exec(authorization ?? '')?.[1];
    const [accessKeyId = '', , region = ''] = (credential ?? '').split('/');
    const principal = PRINCIPALS.find((p) => p.accessKeyId === accessKeyId);
    if (!principal) {
      return {
        status: 403,
        body: xmlError('InvalidClientTokenId', 'The security token included in the request is invalid.'),
      };
    }
    const signer = signerFor(
      {
        ...principal,
        sessionToken:
          req.params.get('X-Amz-Security-Token') ??
          (req.headers['x-amz-security-token'] as string | undefined),
      },
      region,
    );
    let valid: boolean;
    let signedAt: Date;
    let validFor: number;
    if (req.params.has('X-Amz-Signature')) {
      const query = Object.fromEntries([...url.searchParams].filter(([name]) => name !== 'X-Amz-Signature'));
      const signedHeaders = (req.params.get('X-Amz-SignedHeaders') ?? '').split(';');
      signedAt = amzDate(req.params.get('X-Amz-Date') ?? '');
      validFor = Number(req.params.get('X-Amz-Expires'));
      const again = await signer.presign(
        {
          method: req.method,
          protocol: 'http:',
          hostname: url.hostname,
          port: Number(url.port),
          path: url.pathname,
          query,
          headers: Object.fromEntries(signedHeaders.map((name) => [name, String(req.headers[name])])),
        },
        { expiresIn: validFor, signingDate: signedAt },
      );
      valid = again.query?.['X-Amz-Signature'] === req.params.get('X-Amz-Signature');
    } else {
      const signedHeaders = /SignedHeaders=([^,]+)/.exec(authorization ?? '')?.[1]?.split(';') ?? [];
      signedAt = amzDate(String(req.headers['x-amz-date']));
      validFor = 15 * 60;
      const again = await signer.sign(
        {
          method: req.method,
          protocol: 'http:',
          hostname: url.hostname,
          port: Number(url.port),
          path: url.pathname,
          query: Object.fromEntries(url.searchParams),
          headers: Object.fromEntries(signedHeaders.map((name) => [name, String(req.headers[name])])),
          body: req.body,
        },
        { signingDate: signedAt },
      );
      valid = again.headers.authorization === authorization;
    }
    if (!valid) {
      // Real STS does not repeat the signature; this fake does, to prove ODC never relays STS's message.
      const provided = req.params.get('X-Amz-Signature') ?? authorization;
      return {
        status: 403,
        body: xmlError(
          'SignatureDoesNotMatch',
          `The request signature we calculated does not match the signature you provided (${provided}).`,
        ),
      };
    }
    if (Date.now() > signedAt.getTime() + validFor * 1000) {
      return {
        status: 403,
        body: xmlError('ExpiredToken', 'The security token included in the request is expired'),
      };
    }
    if (this.answerJson) {
      return {
        status: 200,
        body: JSON.stringify({
          GetCallerIdentityResponse: {
            GetCallerIdentityResult: { Arn: principal.arn, UserId: principal.userId, Account: ACCOUNT },
            ResponseMetadata: { RequestId: '01234567-89ab-cdef-0123-456789abcdef' },
          },
        }),
      };
    }
    return { status: 200, body: xmlIdentity(principal) };
  }
}

interface PresignOptions {
  principal?: FakeCredentials;
  /** Where the URL points, and what is signed as its host. Default: the fake STS. */
  origin?: string;
  query?: Record<string, string>;
  expiresIn?: number;
  signingDate?: Date;
  /** Extra signed headers (`host` is always signed). */
  headers?: Record<string, string>;
  region?: string;
}

/** A presigned GetCallerIdentity URL, built as a client (or mintEksToken) builds it. */
async function presignUrl(options: PresignOptions = {}): Promise<string> {
  const origin = new URL(options.origin ?? sts.origin);
  const presigned = await signerFor(options.principal ?? ALICE, options.region ?? 'us-east-1').presign(
    {
      method: 'GET',
      protocol: origin.protocol,
      hostname: origin.hostname,
      ...(origin.port ? { port: Number(origin.port) } : {}),
      path: '/',
      query: options.query ?? { Action: 'GetCallerIdentity', Version: '2011-06-15' },
      headers: { host: origin.host, ...options.headers },
    },
    { expiresIn: options.expiresIn ?? 60, signingDate: options.signingDate ?? new Date() },
  );
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(presigned.query ?? {})) {
    for (const item of Array.isArray(value) ? value : [value]) {
      if (item !== null) {
        query.append(key, item);
      }
    }
  }
  return `${origin.protocol}//${origin.host}/?${query.toString()}`;
}

async function presigned(options: PresignOptions = {}): Promise<PresignedCallerIdentity> {
  return { url: await presignUrl(options) };
}

/** The header-signed POST form, as the AWS SDK sends GetCallerIdentity itself. */
async function headerSigned(principal: FakeCredentials = ALICE): Promise<PresignedCallerIdentity> {
  const origin = new URL(sts.origin);
  const body = 'Action=GetCallerIdentity&Version=2011-06-15';
  const signed = await signerFor(principal, 'us-east-1').sign(
    {
      method: 'POST',
      protocol: origin.protocol,
      hostname: origin.hostname,
      port: Number(origin.port),
      path: '/',
      query: {},
      headers: { host: origin.host, 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
      body,
    },
    { signingDate: new Date() },
  );
  return { url: `${sts.origin}/`, method: 'POST', headers: signed.headers, body };
}

const sts = new FakeSts();
/** Every request any verifier dispatched, wherever it went. */
const dispatched: string[] = [];
let dispatcher: Dispatcher;
let agent: Agent;

beforeAll(async () => {
  await sts.start();
  agent = new Agent();
  // A redirect interceptor that WOULD follow (up to 3): the verifier must disarm it per request.
  dispatcher = agent.compose(interceptors.redirect({ maxRedirections: 3 }), (dispatch) => (opts, handler) => {
    dispatched.push(`${String(opts.origin)}${opts.path}`);
    return dispatch(opts, handler);
  });
});

afterAll(async () => {
  await agent.close();
  await sts.stop();
});

beforeEach(() => {
  sts.received.length = 0;
  sts.override = undefined;
  sts.answerJson = false;
  dispatched.length = 0;
});

function verifier(
  env: { allowed?: string; endpoint?: string; enabled?: string } = {},
  timeoutMs?: number,
): AwsLoginVerifier {
  const config = loadAppConfig({
    NODE_ENV: 'test',
    ODC_AWS_IAM_AUTH_ENABLED: env.enabled ?? 'true',
    ODC_AWS_ALLOWED_ROLES: env.allowed ?? 'GpuUsers',
    ODC_AWS_STS_ENDPOINT: env.endpoint ?? sts.origin,
  });
  return new AwsLoginVerifier(config, dispatcher, timeoutMs);
}

/** The error verify() throws (a resolved promise fails the test). */
async function failure(promise: Promise<unknown>): Promise<AwsLoginError | StsUnavailableError> {
  const outcome = await promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  if (!('error' in outcome)) {
    throw new Error(`expected a failure, got ${JSON.stringify(outcome.value)}`);
  }
  expect(outcome.error instanceof AwsLoginError || outcome.error instanceof StsUnavailableError).toBe(true);
  return outcome.error as AwsLoginError | StsUnavailableError;
}

async function refusedBeforeSending(input: unknown, reason: AwsLoginReason, v = verifier()): Promise<void> {
  const error = await failure(v.verify(input as PresignedCallerIdentity));
  expect(error).toBeInstanceOf(AwsLoginError);
  expect(error.reason).toBe(reason);
  expect(dispatched).toEqual([]);
  expect(sts.received).toEqual([]);
}

function signatureOf(url: string): string {
  return new URL(url).searchParams.get('X-Amz-Signature')!;
}

describe('AwsLoginVerifier: proven identities', () => {
  it('returns the identity of an allowed assumed role, named after its session (email domain stripped)', async () => {
    const url = await presignUrl();
    await expect(verifier().verify({ url })).resolves.toEqual({
      arn: ALICE.arn,
      account: ACCOUNT,
      roleName: 'GpuUsers',
      sessionName: 'Alice.Smith@example.com',
      username: 'alice.smith',
    });
    expect(sts.received).toHaveLength(1);
    const [seen] = sts.received;
    expect(seen?.method).toBe('GET');
    expect(seen?.params.getAll('Action')).toEqual(['GetCallerIdentity']);
    expect(seen?.params.get('X-Amz-Signature')).toBe(signatureOf(url));
    expect(seen?.params.get('X-Amz-Security-Token')).toBe(ALICE.sessionToken);
  });

  it("works over undici's global dispatcher too (what production uses)", async () => {
    const config = loadAppConfig({
      ODC_AWS_IAM_AUTH_ENABLED: 'true',
      ODC_AWS_ALLOWED_ROLES: 'GpuUsers',
      ODC_AWS_STS_ENDPOINT: sts.origin,
    });
    await expect(new AwsLoginVerifier(config).verify(await presigned())).resolves.toMatchObject({
      username: 'alice.smith',
    });
    expect(dispatched).toEqual([]);
    expect(sts.received).toHaveLength(1);
  });

  it('allows a role by its ARN with a path, and not the same name in another account', async () => {
    const byArn = verifier({ allowed: `arn:aws:iam::${ACCOUNT}:role/platform/admins/GpuAdmins` });
    await expect(byArn.verify(await presigned({ principal: ADMIN }))).resolves.toMatchObject({
      roleName: 'GpuAdmins',
      username: 'bob',
    });
    const elsewhere = verifier({ allowed: 'arn:aws:iam::999999999999:role/platform/admins/GpuAdmins' });
    const error = await failure(elsewhere.verify(await presigned({ principal: ADMIN })));
    expect(error.reason).toBe(AwsLoginReason.NotAnAllowedRole);
  });

  it('allows a role by its bare name', async () => {
    await expect(
      verifier({ allowed: 'Other, gpuadmins' }).verify(await presigned({ principal: ADMIN })),
    ).resolves.toMatchObject({ arn: ADMIN.arn });
  });

  it('accepts the header-signed POST form, forwarding the signed headers and body', async () => {
    await expect(verifier().verify(await headerSigned())).resolves.toMatchObject({ username: 'alice.smith' });
    const [seen] = sts.received;
    expect(seen?.method).toBe('POST');
    expect(seen?.body).toBe('Action=GetCallerIdentity&Version=2011-06-15');
    expect(seen?.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 /);
  });

  it('reads a JSON answer too', async () => {
    sts.answerJson = true;
    await expect(verifier().verify(await presigned())).resolves.toMatchObject({ username: 'alice.smith' });
  });

  it('forwards neither cookies nor other unlisted headers', async () => {
    const input = await presigned();
    input.headers = { Cookie: 'odc_session=abc', 'X-Forwarded-For': '10.0.0.1', 'User-Agent': 'gpu-dev' };
    await expect(verifier().verify(input)).resolves.toMatchObject({ username: 'alice.smith' });
    expect(sts.received[0]?.headers.cookie).toBeUndefined();
    expect(sts.received[0]?.headers['x-forwarded-for']).toBeUndefined();
    expect(sts.received[0]?.headers.authorization).toBeUndefined();
  });
});

describe('AwsLoginVerifier: identities that may not log in', () => {
  it('refuses a role not in the list, after STS has proven it', async () => {
    const error = await failure(verifier().verify(await presigned({ principal: OUTSIDER })));
    expect(error).toBeInstanceOf(AwsLoginError);
    expect(error.reason).toBe(AwsLoginReason.NotAnAllowedRole);
    expect(sts.received).toHaveLength(1);
  });

  it('refuses an IAM user unless its full ARN is listed', async () => {
    const byName = await failure(
      verifier({ allowed: 'carol,ops,GpuUsers' }).verify(await presigned({ principal: IAM_USER })),
    );
    expect(byName.reason).toBe(AwsLoginReason.NotAnAllowedRole);
    await expect(
      verifier({ allowed: `arn:aws:iam::${ACCOUNT}:user/ops/carol` }).verify(
        await presigned({ principal: IAM_USER }),
      ),
    ).resolves.toEqual({ arn: IAM_USER.arn, account: ACCOUNT, username: 'carol' });
  });

  it('refuses everyone with an empty list, without asking STS', async () => {
    await refusedBeforeSending(await presigned(), AwsLoginReason.NotAnAllowedRole, verifier({ allowed: '' }));
  });

  it('refuses a session name that names no one', async () => {
    const error = await failure(verifier().verify(await presigned({ principal: SDK_SESSION })));
    expect(error.reason).toBe(AwsLoginReason.NoUsername);
  });

  it('refuses everything while the feature is off', async () => {
    await refusedBeforeSending(await presigned(), AwsLoginReason.Disabled, verifier({ enabled: 'false' }));
  });

  it('will not start with an allowlist entry it cannot use', () => {
    expect(() => verifier({ allowed: `arn:aws:iam::${ACCOUNT}:root` })).toThrow(/root/);
  });
});

describe('AwsLoginVerifier: STS refuses or fails', () => {
  it('maps a bad signature (403 SignatureDoesNotMatch) to rejected_by_sts', async () => {
    const url = await presignUrl({ principal: { ...ALICE, secretAccessKey: 'not-alices-secret' } });
    const error = await failure(verifier().verify({ url }));
    expect(error).toBeInstanceOf(AwsLoginError);
    expect(error.reason).toBe(AwsLoginReason.RejectedBySts);
    expect(error.details).toMatchObject({ stsCode: 'SignatureDoesNotMatch' });
    expect(sts.received).toHaveLength(1);
  });

  it('maps an expired presigned request to rejected_by_sts', async () => {
    const url = await presignUrl({ signingDate: new Date(Date.now() - 20 * 60 * 1000), expiresIn: 60 });
    const error = await failure(verifier().verify({ url }));
    expect(error.reason).toBe(AwsLoginReason.RejectedBySts);
    expect(error.details).toMatchObject({ stsCode: 'ExpiredToken' });
  });

  it('maps unknown credentials to rejected_by_sts', async () => {
    const url = await presignUrl({
      principal: { accessKeyId: 'ASIAUNKNOWNEXAMPLE00', secretAccessKey: 'x' },
    });
    const error = await failure(verifier().verify({ url }));
    expect(error.details).toMatchObject({ reason: 'rejected_by_sts', stsCode: 'InvalidClientTokenId' });
  });

  it('answers sts_unavailable, a distinct error, when STS is down', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const endpoint = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const error = await failure(verifier({ endpoint }).verify(await presigned({ origin: endpoint })));
    expect(error).toBeInstanceOf(StsUnavailableError);
    expect(error).not.toBeInstanceOf(AwsLoginError);
    expect(error.reason).toBe(AwsLoginReason.StsUnavailable);
    expect(error.details).toMatchObject({ causeCode: 'ECONNREFUSED' });
  });

  it.each([
    ['a 500', 500, xmlError('InternalFailure', 'oops')],
    ['throttling', 400, xmlError('Throttling', 'Rate exceeded')],
    ['a 200 that is not an identity', 200, '<html>captive portal</html>'],
    [
      'an identity from another account than its ARN',
      200,
      xmlIdentity(ALICE).replace(`<Account>${ACCOUNT}`, '<Account>999999999999'),
    ],
    ['two ARNs', 200, xmlIdentity(ALICE).replace('<UserId>', `<Arn>${ADMIN.arn}</Arn><UserId>`)],
  ])('answers sts_unavailable for %s', async (_what, status, body) => {
    sts.override = (_req, res) => {
      res.writeHead(status, { 'content-type': 'text/xml' }).end(body);
      return true;
    };
    const error = await failure(verifier().verify(await presigned()));
    expect(error).toBeInstanceOf(StsUnavailableError);
  });

  it('answers sts_unavailable when STS does not answer in time', async () => {
    sts.override = () => true; // never answers
    const error = await failure(verifier({}, 300).verify(await presigned()));
    expect(error).toBeInstanceOf(StsUnavailableError);
  });

  it('does not follow a redirect', async () => {
    sts.override = (req, res) => {
      if (req.path === '/followed') {
        res.writeHead(200, { 'content-type': 'text/xml' }).end(xmlIdentity(ADMIN));
      } else {
        res.writeHead(302, { location: `${sts.origin}/followed?Action=GetCallerIdentity` }).end();
      }
      return true;
    };
    const error = await failure(verifier({ allowed: 'GpuUsers,GpuAdmins' }).verify(await presigned()));
    expect(error).toBeInstanceOf(StsUnavailableError);
    expect(error.details).toMatchObject({ status: 302 });
    expect(sts.received.map((r) => r.path)).toEqual(['/']);
  });
});

describe('AwsLoginVerifier: refused before anything is sent', () => {
  it('refuses another host', async () => {
    const url = await presignUrl({ origin: 'https://evil.example.com' });
    expect(new URL(url).searchParams.get('Action')).toBe('GetCallerIdentity');
    await refusedBeforeSending({ url }, AwsLoginReason.NotStsEndpoint);
  });

  it.each([
    'https://sts.amazonaws.com.evil.example.com/',
    'https://sts.us-east-1.amazonaws.com:8443/',
    'https://sts.us-east-1.amazonaws.com.cn/',
    'https://evil.sts.amazonaws.com/',
    'https://s3.amazonaws.com/',
  ])('refuses %s', async (origin) => {
    await refusedBeforeSending({ url: await presignUrl({ origin }) }, AwsLoginReason.NotStsEndpoint);
  });

  it('refuses http to a real AWS host, and https to the http fake', async () => {
    await refusedBeforeSending(
      { url: await presignUrl({ origin: 'http://sts.us-east-1.amazonaws.com' }) },
      AwsLoginReason.NotStsEndpoint,
    );
    const url = (await presignUrl()).replace('http://', 'https://');
    await refusedBeforeSending({ url }, AwsLoginReason.NotStsEndpoint);
  });

  it('refuses another Action, and extra Actions', async () => {
    const assumeRole = await presignUrl({
      query: {
        Action: 'AssumeRole',
        Version: '2011-06-15',
        RoleArn: `arn:aws:iam::${ACCOUNT}:role/GpuAdmins`,
      },
    });
    await refusedBeforeSending({ url: assumeRole }, AwsLoginReason.WrongAction);
    const url = await presignUrl();
    await refusedBeforeSending({ url: `${url}&Action=AssumeRole` }, AwsLoginReason.WrongAction);
    await refusedBeforeSending({ url: `${url}&action=AssumeRole` }, AwsLoginReason.WrongAction);
    await refusedBeforeSending({ url: url.replace('Action=', 'action=') }, AwsLoginReason.WrongAction);
  });

  it('refuses X-Amz-Expires over 900 seconds, or missing', async () => {
    await refusedBeforeSending({ url: await presignUrl({ expiresIn: 3600 }) }, AwsLoginReason.ExpiresTooLong);
    const url = new URL(await presignUrl());
    url.searchParams.delete('X-Amz-Expires');
    await refusedBeforeSending({ url: url.href }, AwsLoginReason.ExpiresTooLong);
  });

  it('accepts X-Amz-Expires of exactly 900 seconds', async () => {
    await expect(verifier().verify(await presigned({ expiresIn: 900 }))).resolves.toMatchObject({
      username: 'alice.smith',
    });
  });

  it('refuses raw AWS credentials, wherever they are put', async () => {
    const { url } = await presigned();
    const inputs: unknown[] = [
      { url, aws_access_key_id: ALICE.accessKeyId, aws_secret_access_key: ALICE.secretAccessKey },
      { url, secretAccessKey: ALICE.secretAccessKey },
      { url, credentials: { accessKeyId: ALICE.accessKeyId } },
      { url, sessionToken: ALICE.sessionToken },
      { url, headers: { 'X-Aws-Secret-Access-Key': ALICE.secretAccessKey } },
      { url: `${url}&aws_secret_access_key=${encodeURIComponent(ALICE.secretAccessKey)}` },
      {
        url: `${sts.origin}/`,
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: `Action=GetCallerIdentity&AWSSecretAccessKey=${encodeURIComponent(ALICE.secretAccessKey)}`,
      },
    ];
    for (const input of inputs) {
      await refusedBeforeSending(input, AwsLoginReason.RawCredentials);
    }
  });

  it('refuses an unsigned request and a bearer token instead of a signature', async () => {
    const unsigned = `${sts.origin}/?Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Expires=60`;
    await refusedBeforeSending({ url: unsigned }, AwsLoginReason.NotPresigned);
    await refusedBeforeSending(
      { url: unsigned, headers: { Authorization: API_KEY_BEARER } },
      AwsLoginReason.NotPresigned,
    );
    const url = await presignUrl();
    await refusedBeforeSending(
      { url, headers: { Authorization: API_KEY_BEARER } },
      AwsLoginReason.InvalidRequest,
    );
  });

  it('refuses userinfo, fragments, other paths, unknown fields and parameters', async () => {
    const url = await presignUrl();
    for (const input of [
      { url: url.replace('http://', 'http://user:pass@') },
      { url: `${url}#frag` },
      { url: url.replace('/?', '/other?') },
      { url, extra: 1 },
      { url: `${url}&RoleArn=x` },
      { url: `${url}&Version=2011-06-15` },
      { url, method: 'DELETE' },
      { url, body: 'Action=GetCallerIdentity' },
      { url, headers: { host: 'evil.example.com' } },
      { url, headers: { 'x-amz-foo': 'a\r\nInjected: b' } },
      'just a string',
      null,
    ]) {
      await refusedBeforeSending(input, AwsLoginReason.InvalidRequest);
    }
  });

  it('refuses a token presigned for someone else (an EKS token signs x-k8s-aws-id)', async () => {
    const url = await presignUrl({ headers: { 'x-k8s-aws-id': 'gpu-east' } });
    await refusedBeforeSending({ url }, AwsLoginReason.InvalidRequest);
    await refusedBeforeSending(
      { url, headers: { 'x-k8s-aws-id': 'gpu-east' } },
      AwsLoginReason.InvalidRequest,
    );
  });

  it('accepts a real AWS STS host (checked only; nothing is sent)', async () => {
    for (const origin of [
      'https://sts.amazonaws.com',
      'https://sts.eu-west-1.amazonaws.com',
      'https://sts.us-gov-west-1.amazonaws.com',
      'https://sts.cn-north-1.amazonaws.com.cn',
    ]) {
      const checked = checkPresignedRequest({ url: await presignUrl({ origin }) });
      expect(checked.url.origin).toBe(origin);
      expect(checked.headers).toEqual({});
    }
  });
});

describe('AwsLoginVerifier: secrets stay out of errors', () => {
  it('never puts the signature, the security token or a header value in an error', async () => {
    const url = await presignUrl();
    const signature = signatureOf(url);
    const secrets = [
      signature,
      ALICE.sessionToken!,
      ALICE.secretAccessKey,
      'odc_apikey_DoNotForward',
      'odc_session=abc',
    ];
    const badSignatureUrl = await presignUrl({ principal: { ...ALICE, secretAccessKey: 'wrong' } });
    secrets.push(signatureOf(badSignatureUrl));
    const cases: Array<[AwsLoginVerifier, unknown]> = [
      [verifier(), { url: url.replace(sts.origin, 'https://evil.example.com') }],
      [verifier(), { url: `${url}&Action=AssumeRole` }],
      [verifier(), { url: url.replace('X-Amz-Expires=60', 'X-Amz-Expires=3600') }],
      [verifier(), { url: url.replace(sts.origin, 'http://sts.amazonaws.com') }],
      [verifier(), { url, aws_secret_access_key: ALICE.secretAccessKey }],
      [verifier(), { url, headers: { Authorization: API_KEY_BEARER, Cookie: 'odc_session=abc' } }],
      [verifier(), { url: `${url}#${signature}` }],
      [verifier(), { url: badSignatureUrl }],
      [verifier({ allowed: 'Nobody' }), { url }],
      [verifier({ endpoint: 'http://127.0.0.1:1' }), { url: url.replace(sts.origin, 'http://127.0.0.1:1') }],
    ];
    for (const [v, input] of cases) {
      const error = await failure(v.verify(input as PresignedCallerIdentity));
      const text = [error.message, error.stack, JSON.stringify(error), inspect(error, { depth: 10 })].join(
        '\n',
      );
      for (const secret of secrets) {
        expect(text).not.toContain(secret);
      }
    }
    // the bad signature reached the fake STS, which repeated it in its message: not relayed
    expect(sts.received.some((r) => r.params.get('X-Amz-Signature') === signatureOf(badSignatureUrl))).toBe(
      true,
    );
  });
});

import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

const STS_NS = 'https://sts.amazonaws.com/doc/2011-06-15/';
export const FAKE_AWS_ACCOUNT = '123456789012';

/** Fake AWS credentials, and who STS says they belong to. */
export interface FakeAwsPrincipal {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  arn: string;
}

/** A session of `role` named `session`; `n` tells the access key ids apart. */
export function assumedRole(role: string, session: string, n: number): FakeAwsPrincipal {
  const id = String(n).padStart(9, '0');
  return {
    accessKeyId: `ASIAEXAMPLE${id}`,
    secretAccessKey: `${role}-${session}-secret-DoNotLeak/${id}`,
    sessionToken: `${role}-${session}-session-token-DoNotLeak+${id}==`,
    arn: `arn:aws:sts::${FAKE_AWS_ACCOUNT}:assumed-role/${role}/${session}`,
  };
}

const signerFor = (principal: Pick<FakeAwsPrincipal, 'accessKeyId' | 'secretAccessKey' | 'sessionToken'>) =>
  new SignatureV4({
    credentials: principal,
    region: 'us-east-1',
    service: 'sts',
    sha256: Hash.bind(null, 'sha256'),
  });

function xml(body: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n${body}\n`;
}

/**
 * STS on 127.0.0.1 for end-to-end tests: checks the SigV4 signature of a query-presigned
 * GetCallerIdentity against the principals it knows (as STS does) and answers in STS's XML.
 * `down` makes it answer 503, as STS does when it cannot serve.
 */
export class FakeSts {
  down = false;
  /** Every query string received (tests check what reached STS). */
  readonly received: string[] = [];
  private server?: Server;

  constructor(private readonly principals: FakeAwsPrincipal[]) {}

  get origin(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', this.origin);
      this.received.push(url.search);
      void this.answer(url).then(({ status, body }) => {
        res.writeHead(status, { 'content-type': 'text/xml' }).end(xml(body));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }

  /** A presigned GetCallerIdentity URL for this STS, built as a client builds it. */
  async presign(principal: FakeAwsPrincipal, expiresIn = 60): Promise<string> {
    const origin = new URL(this.origin);
    const presigned = await signerFor(principal).presign(
      {
        method: 'GET',
        protocol: origin.protocol,
        hostname: origin.hostname,
        port: Number(origin.port),
        path: '/',
        query: { Action: 'GetCallerIdentity', Version: '2011-06-15' },
        headers: { host: origin.host },
      },
      { expiresIn },
    );
    const query = new URLSearchParams(presigned.query as Record<string, string>);
    return `${this.origin}/?${query.toString()}`;
  }

  private async answer(url: URL): Promise<{ status: number; body: string }> {
    if (this.down) {
      return { status: 503, body: this.error('ServiceUnavailable', 'Service unavailable') };
    }
    const params = url.searchParams;
    const [accessKeyId] = (params.get('X-Amz-Credential') ?? '').split('/');
    const principal = this.principals.find((p) => p.accessKeyId === accessKeyId);
    if (!principal) {
      return { status: 403, body: this.error('InvalidClientTokenId', 'The security token is invalid.') };
    }
    const signedAt = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(params.get('X-Amz-Date') ?? '');
    const again = await signerFor(principal).presign(
      {
        method: 'GET',
        protocol: 'http:',
        hostname: url.hostname,
        port: Number(url.port),
        path: url.pathname,
        query: Object.fromEntries([...params].filter(([name]) => name !== 'X-Amz-Signature')),
        headers: { host: url.host },
      },
      {
        expiresIn: Number(params.get('X-Amz-Expires')),
        signingDate: signedAt
          ? new Date(
              Date.UTC(
                +signedAt[1]!,
                +signedAt[2]! - 1,
                +signedAt[3]!,
                +signedAt[4]!,
                +signedAt[5]!,
                +signedAt[6]!,
              ),
            )
          : new Date(NaN),
      },
    );
    if (again.query?.['X-Amz-Signature'] !== params.get('X-Amz-Signature')) {
      return { status: 403, body: this.error('SignatureDoesNotMatch', 'The signature does not match.') };
    }
    return {
      status: 200,
      body: `<GetCallerIdentityResponse xmlns="${STS_NS}">
  <GetCallerIdentityResult>
    <Arn>${principal.arn}</Arn>
    <UserId>AROAEXAMPLE:${principal.arn.split('/').pop()}</UserId>
    <Account>${FAKE_AWS_ACCOUNT}</Account>
  </GetCallerIdentityResult>
</GetCallerIdentityResponse>`,
    };
  }

  private error(code: string, message: string): string {
    return `<ErrorResponse xmlns="${STS_NS}"><Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error></ErrorResponse>`;
  }
}

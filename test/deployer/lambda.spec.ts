import { DescribeClusterCommand, EKSClient } from '@aws-sdk/client-eks';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type {
  APIGatewayProxyEvent,
  APIGatewayProxyEventV2,
  APIGatewayProxyResult,
  APIGatewayProxyStructuredResultV2,
  Context,
} from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import request from 'supertest';
import {
  createDeployerLambda,
  loadLambdaConfig,
  type ApiGatewayResult,
  type DeployerLambda,
} from '../../src/app/deployer-lambda';
import { handler } from '../../src/lambda';
import { EKS_TOKEN_PREFIX } from '../../src/deployer/lambda/kube-credentials';
import type { TestApp } from '../support/app';
import { createCertificateAuthority } from '../support/certificates';
import { eventually } from '../support/eventually';
import {
  FAST_TIMINGS,
  h100Pool,
  itSimulatorOnly,
  startKubeTarget,
  type KubeClients,
  type KubeTarget,
} from '../support/simulator';
import {
  DEPLOYER_TOKEN,
  NAMESPACE,
  reservationSpec,
  startDeployer,
  type DeployerUnderTest,
} from './fixtures';

const TOKEN = DEPLOYER_TOKEN;

/** One HTTP request, as the coordinator would send it. */
interface Call {
  method: 'GET' | 'POST' | 'DELETE';
  path: string;
  query?: Record<string, string>;
  /** JSON-encoded, then base64 (API Gateway does that for bodies it treats as binary). */
  json?: unknown;
  /** Sent as is, base64-encoded. */
  raw?: string;
  /** The bearer token; null: no authorization header. */
  token?: string | null;
  headers?: Record<string, string>;
}

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
  json(): Record<string, unknown>;
}

function headersOf(call: Call): Record<string, string> {
  const token = call.token === undefined ? TOKEN : call.token;
  return {
    host: 'abc123.execute-api.us-east-1.amazonaws.com',
    'user-agent': 'odc-coordinator',
    ...(token === null ? {} : { authorization: `Bearer ${token}` }),
    ...(call.json !== undefined || call.raw !== undefined ? { 'content-type': 'application/json' } : {}),
    ...call.headers,
  };
}

function bodyOf(call: Call): string | undefined {
  const text = call.json !== undefined ? JSON.stringify(call.json) : call.raw;
  return text === undefined ? undefined : Buffer.from(text, 'utf8').toString('base64');
}

/** A REST API proxy integration on `/{proxy+}`, payload format 1.0. */
function restApiEvent(call: Call, options: { multiValueQuery?: boolean } = {}): APIGatewayProxyEvent {
  const headers = headersOf(call);
  const body = bodyOf(call);
  return {
    resource: '/{proxy+}',
    path: call.path,
    httpMethod: call.method,
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
    queryStringParameters: call.query ?? null,
    multiValueQueryStringParameters:
      call.query && options.multiValueQuery !== false
        ? Object.fromEntries(Object.entries(call.query).map(([k, v]) => [k, [v]]))
        : null,
    pathParameters: { proxy: call.path.slice(1) },
    stageVariables: null,
    body: body ?? null,
    isBase64Encoded: body !== undefined,
    requestContext: {
      accountId: '123456789012',
      apiId: 'abc123',
      authorizer: undefined,
      protocol: 'HTTP/1.1',
      httpMethod: call.method,
      identity: {
        accessKey: null,
        accountId: null,
        apiKey: null,
        apiKeyId: null,
        caller: null,
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp: '10.1.2.3',
        user: null,
        userAgent: 'odc-coordinator',
        userArn: null,
      },
      path: `/prod${call.path}`,
      stage: 'prod',
      requestId: 'rest-api-request-id',
      requestTimeEpoch: Date.now(),
      resourceId: 'res123',
      resourcePath: '/{proxy+}',
    },
  };
}

/** An HTTP API route `ANY /{proxy+}` on the `$default` stage, payload format 2.0. */
function httpApiEvent(call: Call): APIGatewayProxyEventV2 {
  const body = bodyOf(call);
  const rawQueryString = new URLSearchParams(call.query ?? {}).toString();
  return {
    version: '2.0',
    routeKey: 'ANY /{proxy+}',
    rawPath: call.path,
    rawQueryString,
    headers: headersOf(call),
    ...(call.query ? { queryStringParameters: call.query } : {}),
    pathParameters: { proxy: call.path.slice(1) },
    ...(body !== undefined ? { body } : {}),
    isBase64Encoded: body !== undefined,
    requestContext: {
      accountId: '123456789012',
      apiId: 'abc123',
      domainName: 'abc123.execute-api.us-east-1.amazonaws.com',
      domainPrefix: 'abc123',
      http: {
        method: call.method,
        path: call.path,
        protocol: 'HTTP/1.1',
        sourceIp: '10.1.2.3',
        userAgent: 'odc-coordinator',
      },
      requestId: 'http-api-request-id',
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
  const awsRequestId = `00000000-0000-4000-8000-${String(invocation).padStart(12, '0')}`;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: 'odc-deployer',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:odc-deployer',
    memoryLimitInMB: '1024',
    awsRequestId,
    logGroupName: '/aws/lambda/odc-deployer',
    logStreamName: '2026/03/01/[$LATEST]abc',
    getRemainingTimeInMillis: () => 30_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** The result as an HTTP answer; v1 results carry multi-value headers, v2 results plain ones. */
function answerOf(result: ApiGatewayResult, payload: 'v1' | 'v2'): Answer {
  let headers: Record<string, string>;
  if (payload === 'v1') {
    const v1 = result as APIGatewayProxyResult;
    expect(v1.headers).toBeUndefined();
    headers = Object.fromEntries(
      Object.entries(v1.multiValueHeaders ?? {}).map(([k, v]) => [k.toLowerCase(), v.join(',')]),
    );
  } else {
    const v2 = result as APIGatewayProxyStructuredResultV2;
    headers = Object.fromEntries(
      Object.entries(v2.headers ?? {}).map(([k, v]) => [k.toLowerCase(), String(v)]),
    );
  }
  expect(result.isBase64Encoded).toBe(false);
  const body = result.body ?? '';
  return {
    status: result.statusCode ?? 200,
    headers,
    body,
    json: () => JSON.parse(body) as Record<string, unknown>,
  };
}

const withoutRequestId = ({ requestId: _id, ...rest }: Record<string, unknown>) => rest;

/** A Kubernetes with nothing made in it: a simulated cluster of one H100 node, or the real API server. */
const emptyTarget = () => startKubeTarget({ nodePools: [h100Pool(1)], timings: FAST_TIMINGS }, []);

describe('deployer Lambda behind API Gateway, against the cluster', () => {
  let deployer: DeployerUnderTest;
  let k: KubeClients;
  let standalone: TestApp;
  let lambda: DeployerLambda;
  const http = () => request(standalone.runtime.deployer!.getHttpServer());
  const authed = (req: request.Test) => req.set('authorization', `Bearer ${TOKEN}`);

  beforeAll(async () => {
    // The deployer over HTTP, to compare answers with; the Lambda drives the same cluster and namespace.
    deployer = await startDeployer();
    ({ k, app: standalone } = deployer);
    const env = {
      ODC_KUBECONFIG_BASE64: deployer.target.kubeconfigBase64,
      ODC_DEPLOYER_NAMESPACES: NAMESPACE,
      ODC_DEPLOYER_TOKEN: TOKEN,
    };
    lambda = createDeployerLambda(() => {
      const config = loadLambdaConfig({ NODE_ENV: 'test', ...env });
      return { config, logger: standalone.logger };
    });
  });

  afterAll(async () => {
    await lambda.close();
    await deployer.close();
  });

  describe.each([
    ['REST API (payload v1)', 'v1' as const, (call: Call) => restApiEvent(call)],
    ['HTTP API (payload v2)', 'v2' as const, (call: Call) => httpApiEvent(call)],
  ])('%s', (_name, payload, toEvent) => {
    const invoke = async (call: Call) => answerOf(await lambda(toEvent(call), lambdaContext()), payload);
    const externalId = `res-lambda-${payload}`;

    it('create (base64 body) → 201, again → 200; status by path; delete → 204, twice', async () => {
      const created = await invoke({
        method: 'POST',
        path: '/api/v1/deployments',
        json: reservationSpec(externalId),
      });
      expect(created.status).toBe(201);
      expect(created.headers['content-type']).toMatch(/^application\/json/);
      expect((created.json().objects as { action: string }[]).map((o) => o.action)).toEqual(
        Array(6).fill('created'),
      );
      const deployment = await k.apps.readNamespacedDeployment({ namespace: NAMESPACE, name: externalId });
      expect(deployment.metadata!.labels).toMatchObject({ 'odc.dev/external-id': externalId });

      const again = await invoke({
        method: 'POST',
        path: '/api/v1/deployments',
        json: reservationSpec(externalId),
      });
      expect(again.status).toBe(200);
      // Nothing is made twice. (An object a controller touched between the read and the re-apply,
      // such as the Deployment's revision annotation, reads `configured`: a race seen under load.)
      expect((again.json().objects as { action: string }[]).map((o) => o.action)).not.toContain('created');

      const statusPath = `/api/v1/deployments/${externalId}/status`;
      const status = await eventually(
        () => invoke({ method: 'GET', path: statusPath }),
        (answer) => answer.json().ready_replicas === 1,
      );
      expect(status.status).toBe(200);
      expect(status.json()).toMatchObject({
        external_id: externalId,
        exists: true,
        pods: [{ phase: 'Running' }],
      });
      expect(status.json()).toEqual((await authed(http().get(statusPath)).expect(200)).body);

      for (let i = 0; i < 2; i += 1) {
        const deleted = await invoke({ method: 'DELETE', path: `/api/v1/deployments/${externalId}` });
        expect(deleted.status).toBe(204);
        expect(deleted.body).toBe('');
      }
      await eventually(
        () =>
          k.apps.listNamespacedDeployment({
            namespace: NAMESPACE,
            labelSelector: `odc.dev/external-id=${externalId}`,
          }),
        (list) => list.items.length === 0,
      );
    });

    itSimulatorOnly('logs')('logs with a query, as over HTTP', async () => {
      const logged = `${externalId}-logs`;
      expect(
        (await invoke({ method: 'POST', path: '/api/v1/deployments', json: reservationSpec(logged) })).status,
      ).toBe(201);
      // Running and ready: its log says so, and stays as it is.
      await eventually(
        () => invoke({ method: 'GET', path: `/api/v1/deployments/${logged}/status` }),
        (answer) => answer.json().ready_replicas === 1,
      );
      const logsPath = `/api/v1/deployments/${logged}/logs`;
      const tail = await invoke({ method: 'GET', path: logsPath, query: { tailLines: '2' } });
      expect(tail.status).toBe(200);
      expect(tail.headers['content-type']).toMatch(/^text\/plain/);
      expect(tail.body.trim().split('\n')).toHaveLength(2);
      expect(tail.body).toBe((await authed(http().get(`${logsPath}?tailLines=2`)).expect(200)).text);
      const one = await invoke({ method: 'GET', path: logsPath, query: { tailLines: '1' } });
      expect(one.body.trim().split('\n')).toEqual(tail.body.trim().split('\n').slice(1));
      expect((await invoke({ method: 'DELETE', path: `/api/v1/deployments/${logged}` })).status).toBe(204);
    });

    it('answers deep bodies and a repeated query parameter with a 4xx and a code, applying nothing', async () => {
      const deep = (depth: number) => '{"a":'.repeat(depth) + '"x"' + '}'.repeat(depth);
      const spec = JSON.stringify(reservationSpec(`res-deep-${payload}`));
      const calls: [path: string, raw: string][] = [
        ...[40, 20_000].map((depth): [string, string] => [
          '/api/v1/deployments',
          spec.replace('{"authorized_keys":"ssh-ed25519 AAAA alice"}', deep(depth)),
        ]),
        ['/api/v1/volumes', `{"name":"v-deep","size":"1Gi","labels":${deep(20_000)}}`],
        ['/api/v1/deployments/res-none/file-transfers/upload', `{"image":"x","env":[${deep(20_000)}]}`],
      ];
      for (const [path, raw] of calls) {
        const answer = await invoke({ method: 'POST', path, raw });
        expect([answer.status, typeof answer.json().code]).toEqual([400, 'string']);
      }
      const services = await k.core.listNamespacedService({ namespace: NAMESPACE });
      expect(services.items.map((svc) => svc.metadata!.name)).not.toContain(`res-deep-${payload}`);

      const event = toEvent({ method: 'GET', path: '/api/v1/deployments' });
      const repeated =
        payload === 'v1'
          ? { ...event, multiValueQueryStringParameters: { external_id: ['res-a,res-b', 'res-c'] } }
          : { ...event, rawQueryString: 'external_id=res-a,res-b&external_id=res-c' };
      const answer = answerOf(await lambda(repeated, lambdaContext()), payload);
      expect(answer.status).toBe(400);
      expect(answer.json()).toMatchObject({ code: 'validation_failed', fields: [{ field: 'external_id' }] });
    });

    it('401 without the bearer token, carrying the Lambda request id (or the caller’s)', async () => {
      const context = lambdaContext();
      const refused = answerOf(
        await lambda(toEvent({ method: 'GET', path: '/api/v1/health', token: null }), context),
        payload,
      );
      expect(refused.status).toBe(401);
      expect(refused.json()).toEqual({
        code: 'unauthorized',
        message: 'A valid bearer token is required',
        requestId: context.awsRequestId,
      });
      expect(refused.headers['x-request-id']).toBe(context.awsRequestId);
      const wrong = await invoke({ method: 'GET', path: '/api/v1/health', token: 'wrong' });
      expect(wrong.status).toBe(401);
      const overHttp = await http().get('/api/v1/health').expect(401);
      expect(withoutRequestId(refused.json())).toEqual(
        withoutRequestId(overHttp.body as Record<string, unknown>),
      );

      const traced = await invoke({
        method: 'GET',
        path: '/api/v1/health',
        token: null,
        headers: { 'X-Request-Id': 'coordinator-trace-1' },
      });
      expect(traced.json().requestId).toBe('coordinator-trace-1');
      // Probes need no token, as on the listener.
      expect((await invoke({ method: 'GET', path: '/livez', token: null })).status).toBe(200);
    });

    it('422 POLICY_VIOLATION for a host-network pod, the same answer as over HTTP', async () => {
      const spec = reservationSpec(`${externalId}-bad`);
      (spec.deployment!.spec as { template: { spec: { hostNetwork?: boolean } } }).template.spec.hostNetwork =
        true;
      const answer = await invoke({ method: 'POST', path: '/api/v1/deployments', json: spec });
      expect(answer.status).toBe(422);
      expect(answer.json()).toMatchObject({
        code: 'POLICY_VIOLATION',
        details: {
          violations: [
            { path: 'deployment.spec.template.spec.hostNetwork', rule: 'hostNetwork is not allowed' },
          ],
        },
      });
      const overHttp = await authed(http().post('/api/v1/deployments')).send(spec).expect(422);
      expect(withoutRequestId(answer.json())).toEqual(
        withoutRequestId(overHttp.body as Record<string, unknown>),
      );
    });

    it('400 for a body that is not JSON, and 404 for an unknown route, as over HTTP', async () => {
      const malformed = await invoke({ method: 'POST', path: '/api/v1/deployments', raw: '{"metadata": ' });
      expect(malformed.status).toBe(400);
      const overHttp = await authed(http().post('/api/v1/deployments'))
        .set('content-type', 'application/json')
        .send('{"metadata": ')
        .expect(400);
      expect(withoutRequestId(malformed.json())).toEqual(
        withoutRequestId(overHttp.body as Record<string, unknown>),
      );
      expect(malformed.json().code).toBe('malformed_json');

      const unknown = await invoke({ method: 'GET', path: '/api/v1/nothing-here' });
      expect(unknown.status).toBe(404);
      const unknownOverHttp = await authed(http().get('/api/v1/nothing-here')).expect(404);
      expect(withoutRequestId(unknown.json())).toEqual(
        withoutRequestId(unknownOverHttp.body as Record<string, unknown>),
      );
    });
  });

  it('REST API: a hand-written event with queryStringParameters alone keeps its query', async () => {
    const externalId = 'res-lambda-query';
    const call = (c: Call, multiValueQuery = true) =>
      lambda(restApiEvent(c, { multiValueQuery }), lambdaContext()).then((r) => answerOf(r, 'v1'));
    for (const id of [externalId, `${externalId}-other`]) {
      expect(
        (await call({ method: 'POST', path: '/api/v1/deployments', json: reservationSpec(id) })).status,
      ).toBe(201);
    }
    const listed = await call(
      { method: 'GET', path: '/api/v1/deployments', query: { external_id: externalId } },
      false,
    );
    expect(listed.status).toBe(200);
    expect((JSON.parse(listed.body) as { external_id: string }[]).map((d) => d.external_id)).toEqual([
      externalId,
    ]);
    for (const id of [externalId, `${externalId}-other`]) {
      expect((await call({ method: 'DELETE', path: `/api/v1/deployments/${id}` })).status).toBe(204);
    }
  });

  itSimulatorOnly('logs')(
    'REST API: a hand-written event with queryStringParameters alone keeps its query (logs)',
    async () => {
      const externalId = 'res-lambda-query-logs';
      const call = (c: Call, multiValueQuery = true) =>
        lambda(restApiEvent(c, { multiValueQuery }), lambdaContext()).then((r) => answerOf(r, 'v1'));
      expect(
        (await call({ method: 'POST', path: '/api/v1/deployments', json: reservationSpec(externalId) }))
          .status,
      ).toBe(201);
      const logsPath = `/api/v1/deployments/${externalId}/logs`;
      const full = await eventually(
        () => call({ method: 'GET', path: logsPath }),
        (answer) => answer.status === 200 && answer.body.trim().split('\n').length > 1,
      );
      const tail = await call({ method: 'GET', path: logsPath, query: { tailLines: '1' } }, false);
      expect(tail.body.trim().split('\n')).toEqual(full.body.trim().split('\n').slice(-1));
      expect((await call({ method: 'DELETE', path: `/api/v1/deployments/${externalId}` })).status).toBe(204);
    },
  );

  it('logs each Lambda change in one line under its request id (reads, the coordinator’s polling, at debug), and never the bearer token', () => {
    // nestjs-pino keeps one request logger per process (a Lambda has one app): both apps log there.
    const lines = standalone.logs.lines;
    expect(lines.map((line) => line.msg)).toContain(
      'deployer Lambda ready; Kubernetes from ODC_KUBECONFIG_BASE64',
    );
    const fromLambda = lines.filter((line) =>
      String((line.req as { id?: unknown } | undefined)?.id).startsWith('00000000-0000-4000-8000-'),
    );
    expect(fromLambda.length).toBeGreaterThan(5);
    for (const line of fromLambda) {
      const { id, method } = line.req as { id: string; method: string };
      expect(line.msg).toMatch(new RegExp(`^${method} /\\S* \\d{3} \\d+ ms req=${id}$`));
      expect(method).not.toBe('GET');
    }
    expect(JSON.stringify(lines)).not.toContain(TOKEN);
  });
});

describe('deployer Lambda: where its Kubernetes credentials come from', () => {
  const secrets = mockClient(SecretsManagerClient);
  const eks = mockClient(EKSClient);
  let target: KubeTarget;
  const invoke = async (target: DeployerLambda, call: Call) =>
    answerOf(await target(httpApiEvent(call), lambdaContext()), 'v2');
  const quietLogger = () => pino({ level: 'silent' });

  beforeAll(async () => {
    target = await emptyTarget();
  });

  afterEach(() => {
    secrets.reset();
    eks.reset();
  });

  afterAll(async () => {
    secrets.restore();
    eks.restore();
    await target.close();
  });

  it('KUBECONFIG_SECRET: the kubeconfig from Secrets Manager, read once per container', async () => {
    secrets
      .on(GetSecretValueCommand, { SecretId: 'odc/deployer-kubeconfig' })
      .resolves({ SecretString: target.kubeconfig.exportConfig() });
    const { gitVersion } = await target.k.version.getCode();
    const fromSecret = createDeployerLambda(() => ({
      config: loadLambdaConfig({
        NODE_ENV: 'test',
        KUBECONFIG_SECRET: 'odc/deployer-kubeconfig',
        AWS_REGION: 'us-east-1',
        ODC_DEPLOYER_TOKEN: TOKEN,
      }),
      logger: quietLogger(),
    }));
    try {
      for (let i = 0; i < 2; i += 1) {
        const health = await invoke(fromSecret, { method: 'GET', path: '/api/v1/health' });
        expect(health.status).toBe(200);
        expect(health.json()).toMatchObject({ kubernetes: { reachable: true, version: gitVersion } });
      }
      expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    } finally {
      await fromSecret.close();
    }
  });

  it('ODC_EKS_CLUSTER_NAME: DescribeCluster’s endpoint and CA, an IAM token the API server receives', async () => {
    const ca = await createCertificateAuthority('eks-test-ca');
    const serving = await ca.issue({ cn: 'kube-apiserver', server: true });
    const seen: string[] = [];
    const apiServer: Server = createServer({ cert: serving.cert, key: serving.key }, (req, res) => {
      const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
      seen.push(token);
      res.setHeader('content-type', 'application/json');
      if (req.url !== '/version' || !token.startsWith(EKS_TOKEN_PREFIX)) {
        res.statusCode = 401;
        res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 401 }));
        return;
      }
      res.end(JSON.stringify({ major: '1', minor: '31', gitVersion: 'v1.31.4-eks-fake' }));
    });
    await new Promise<void>((resolve) => apiServer.listen(0, '127.0.0.1', resolve));
    const endpoint = `https://127.0.0.1:${(apiServer.address() as AddressInfo).port}`;
    eks.on(DescribeClusterCommand, { name: 'gpu-east' }).resolves({
      cluster: { endpoint, certificateAuthority: { data: Buffer.from(ca.cert).toString('base64') } },
    });
    const viaEks = createDeployerLambda(() => ({
      config: loadLambdaConfig({
        NODE_ENV: 'test',
        ODC_EKS_CLUSTER_NAME: 'gpu-east',
        AWS_REGION: 'us-east-1',
        ODC_DEPLOYER_TOKEN: TOKEN,
      }),
      logger: quietLogger(),
      aws: { credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'not-a-real-secret' } },
    }));
    try {
      const health = await invoke(viaEks, { method: 'GET', path: '/api/v1/health' });
      expect(health.status).toBe(200);
      expect(health.json()).toMatchObject({ kubernetes: { reachable: true, version: 'v1.31.4-eks-fake' } });
      expect(seen).toHaveLength(1);
      const url = new URL(Buffer.from(seen[0]!.slice(EKS_TOKEN_PREFIX.length), 'base64url').toString('utf8'));
      expect(url.host).toBe('sts.us-east-1.amazonaws.com');
      expect(url.searchParams.get('Action')).toBe('GetCallerIdentity');
      expect(url.searchParams.get('X-Amz-Expires')).toBe('60');
      expect(url.searchParams.get('X-Amz-Credential')).toMatch(
        /^AKIDEXAMPLE\/\d{8}\/us-east-1\/sts\/aws4_request$/,
      );
      expect(url.searchParams.get('X-Amz-SignedHeaders')).toBe('host;x-k8s-aws-id');
      expect(eks.commandCalls(DescribeClusterCommand)).toHaveLength(1);
    } finally {
      await viaEks.close();
      await new Promise<void>((resolve) => apiServer.close(() => resolve()));
    }
  });
});

describe('deployer Lambda: start-up', () => {
  let target: KubeTarget;

  beforeAll(async () => {
    target = await emptyTarget();
  });

  afterAll(async () => {
    await target.close();
  });

  it('builds the app on the first invocation only, and retries a start that failed', async () => {
    let setups = 0;
    const lambda = createDeployerLambda(() => {
      setups += 1;
      if (setups === 1) {
        throw new Error('simulated cold-start failure');
      }
      return {
        config: loadLambdaConfig({
          NODE_ENV: 'test',
          ODC_KUBECONFIG_BASE64: target.kubeconfigBase64,
          ODC_DEPLOYER_TOKEN: TOKEN,
        }),
        logger: pino({ level: 'silent' }),
      };
    });
    const livez = () => lambda(httpApiEvent({ method: 'GET', path: '/livez' }), lambdaContext());
    try {
      await expect(livez()).rejects.toThrow('simulated cold-start failure');
      for (let i = 0; i < 3; i += 1) {
        expect((await livez()).statusCode).toBe(200);
      }
      expect(setups).toBe(2);
    } finally {
      await lambda.close();
    }
  });

  it('the exported handler reads its configuration from the environment', async () => {
    const env = {
      ODC_KUBECONFIG_BASE64: target.kubeconfigBase64,
      ODC_DEPLOYER_TOKEN: TOKEN,
      ODC_LOG_LEVEL: 'silent',
    };
    const saved = Object.fromEntries(Object.keys(env).map((key) => [key, process.env[key]]));
    Object.assign(process.env, env);
    try {
      const health = answerOf(
        await handler(restApiEvent({ method: 'GET', path: '/api/v1/health' }), lambdaContext()),
        'v1',
      );
      expect(health.status).toBe(200);
      expect(health.json()).toMatchObject({
        status: 'ok',
        namespaces: ['default'],
        kubernetes: { reachable: true },
      });
    } finally {
      await handler.close();
      for (const [key, value] of Object.entries(saved)) {
        if (value === undefined) {
          delete process.env[key];
        } else {
          process.env[key] = value;
        }
      }
    }
  });
});

import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import pino from 'pino';
import { randomUUID } from 'node:crypto';
import { API_KEY_SCOPES } from '../../src/auth/api-keys/api-key.entity';
import { createDeployerLambda, loadLambdaConfig } from '../../src/app/deployer-lambda';
import { MAX_BODY_DEPTH } from '../../src/infra/http/input-screening';
import {
  DEPLOYER_TOKEN,
  kubeconfigBase64,
  NAMESPACE,
  reservationSpec,
  startDeployer,
  type DeployerUnderTest,
} from '../deployer/fixtures';
import { startTestApp, type TestApp } from '../support/app';
import { keyFor } from '../support/users';

/** JSON text nested `depth` levels inside `field` of an otherwise ordinary body. */
function deepJson(depth: number, around: Record<string, unknown> = {}, field = 'extra'): string {
  const deep = `${'{"a":'.repeat(depth - 1)}[1]${'}'.repeat(depth - 1)}`;
  const rest = JSON.stringify(around).slice(1, -1);
  return `{${rest}${rest ? ',' : ''}${JSON.stringify(field)}:${deep}}`;
}

const problem = (field: string, text: string) => ({
  field,
  problems: expect.arrayContaining([expect.stringContaining(text)]) as unknown,
});

describe('input screening on the coordinator', () => {
  let app: TestApp;
  let key: string;

  beforeAll(async () => {
    app = await startTestApp({ roles: 'coordinator' });
    key = await keyFor(app, 'screen-admin', [...API_KEY_SCOPES], { admin: true });
  });

  afterAll(() => app.close());

  const send = (method: 'post' | 'put' | 'get', path: string) =>
    app.http()[method](path).set('authorization', `Bearer ${key}`);

  describe('nesting depth', () => {
    it.each([
      ['put', '/api/v1/me/ssh-keys', 'keys'],
      ['post', '/api/v1/keys', 'scopes'],
      ['post', '/api/v1/reservations', 'node_labels'],
      ['post', '/api/v1/disks', 'name'],
    ] as const)(
      'answers %s %s 5,000 levels deep with 400 body_too_deep, not 500',
      async (method, path, field) => {
        const res = await send(method, path)
          .set('content-type', 'application/json')
          .send(deepJson(5_000, {}, field));
        expect(res.status).toBe(400);
        expect(res.body).toEqual({
          code: 'body_too_deep',
          message: `Request body nests deeper than ${MAX_BODY_DEPTH} levels`,
          requestId: res.headers['x-request-id'],
        });
      },
    );

    it('takes a body nested to the limit to validation, and refuses one level more', async () => {
      const body = { name: 'deep', scopes: ['disks:read'] };
      const atLimit = await send('post', '/api/v1/keys')
        .set('content-type', 'application/json')
        .send(deepJson(MAX_BODY_DEPTH - 1, body));
      expect(atLimit.status).toBe(400);
      expect(atLimit.body.code).toBe('validation_failed'); // `extra` is not a field of the DTO
      const over = await send('post', '/api/v1/keys')
        .set('content-type', 'application/json')
        .send(deepJson(MAX_BODY_DEPTH, body));
      expect(over.status).toBe(400);
      expect(over.body.code).toBe('body_too_deep');
    });
  });

  describe('NUL characters', () => {
    it.each([
      ['an API key name', '/api/v1/keys', { name: 'a\u0000b', scopes: ['disks:read'] }, 'name'],
      ['an SSH key', '/api/v1/me/ssh-keys', { keys: ['ssh-ed25519 AAAA\u0000'] }, 'keys.0'],
      [
        'audit usage metadata',
        '/api/v1/audit/usage',
        { bedrock_request_id: 'req-1', tokens_used: 1, metadata: { note: 'a\u0000b' } },
        'metadata.note',
      ],
      [
        'audit usage model',
        '/api/v1/audit/usage',
        { bedrock_request_id: 'req-2', tokens_used: 1, model: '\u0000' },
        'model',
      ],
    ])('in %s: 400 validation_failed naming the field', async (_what, path, body, field) => {
      const res = await send(path.endsWith('ssh-keys') ? 'put' : 'post', path).send(body);
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({
        code: 'validation_failed',
        fields: [{ field, problems: [`${field} must not contain NUL (U+0000) characters`] }],
      });
    });

    it.each([
      ['/api/v1/audit?user=%00', 'user'],
      ['/api/v1/audit?resource_id=a%00b', 'resource_id'],
      ['/api/v1/keys?%00=1', '\\u0000'],
      ['/api/v1/disks/work%00', 'path'],
      ['/api/v1/keys/%00/rotate', 'path'],
    ])('in the query or path (%s): 400 naming it', async (url, field) => {
      const res = await send(url.includes('rotate') ? 'post' : 'get', url);
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ code: 'validation_failed', fields: [{ field }] });
    });
  });

  describe('names with control or format characters', () => {
    const uuid = randomUUID();
    const scopes = ['disks:read'];
    it.each([
      {
        method: 'post',
        path: '/api/v1/keys',
        field: 'name',
        cp: 'U+202E',
        body: { name: 'evil\u202etxt', scopes },
      },
      {
        method: 'post',
        path: '/api/v1/keys',
        field: 'name',
        cp: 'U+200B',
        body: { name: 'zero\u200bwidth', scopes },
      },
      {
        method: 'post',
        path: '/api/v1/keys',
        field: 'name',
        cp: 'U+0007',
        body: { name: 'bell\u0007', scopes },
      },
      {
        method: 'post',
        path: '/api/v1/auth/aws-login',
        field: 'key_name',
        cp: 'U+202E',
        body: { url: 'https://sts.amazonaws.com/', key_name: 'a\u202eb' },
      },
      {
        method: 'post',
        path: '/api/v1/reservations',
        field: 'name',
        cp: 'U+200B',
        body: { gpu_type: 'h100', gpu_count: 1, hours: 1, name: 'a\u200bb' },
      },
      { method: 'post', path: '/api/v1/disks', field: 'name', cp: 'U+202E', body: { name: 'a\u202eb' } },
      {
        method: 'post',
        path: '/api/v1/disks/adopt',
        field: 'name',
        cp: 'U+200B',
        body: { owner: 'alice', name: 'a\u200bb', volume_id: 'vol-0123456789abcdef0' },
      },
      {
        method: 'post',
        path: '/api/v1/disks/work/rename',
        field: 'new_name',
        cp: 'U+202E',
        body: { new_name: 'a\u202eb' },
      },
      {
        method: 'post',
        path: '/api/v1/disks/work/restore',
        field: 'new_name',
        cp: 'U+200B',
        body: { snapshot_id: uuid, new_name: '\u200b' },
      },
      {
        method: 'post',
        path: '/api/v1/clusters',
        field: 'name',
        cp: 'U+202E',
        body: { name: 'a\u202eb', deployer_url: 'http://127.0.0.1:9' },
      },
      {
        method: 'put',
        path: `/api/v1/clusters/${uuid}`,
        field: 'name',
        cp: 'U+200B',
        body: { name: 'a\u200bb' },
      },
    ] as const)('$method $path: 400 naming $field ($cp)', async ({ method, path, field, cp, body }) => {
      const res = await send(method, path).send(body);
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('validation_failed');
      expect(res.body.fields).toEqual(
        expect.arrayContaining([
          problem(field, `${field} must not contain control or format characters (found ${cp})`),
        ]),
      );
    });

    it('takes ordinary Unicode in a key name', async () => {
      const res = await send('post', '/api/v1/keys').send({ name: 'café ☕ 日本', scopes: ['disks:read'] });
      expect(res.status).toBe(201);
      expect(res.body.name).toBe('café ☕ 日本');
    });
  });
});

describe('input screening on the deployer', () => {
  let deployer: DeployerUnderTest;

  beforeAll(async () => {
    deployer = await startDeployer();
  });

  afterAll(() => deployer.close());

  it('answers a deployment spec 5,000 levels deep with 400 body_too_deep', async () => {
    const spec = reservationSpec('deep');
    const res = await deployer
      .authed(deployer.api().post('/api/v1/deployments'))
      .set('content-type', 'application/json')
      .send(deepJson(5_000, spec as unknown as Record<string, unknown>, 'ingress'));
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'body_too_deep', requestId: res.headers['x-request-id'] });
  });

  it('still applies a real spec (manifests nest well within the limit)', async () => {
    await deployer
      .authed(deployer.api().post('/api/v1/deployments'))
      .send(reservationSpec('real'))
      .expect(201);
  });

  it('refuses a NUL anywhere in a spec, naming its path', async () => {
    const spec = reservationSpec('nul');
    spec.config_maps![0]!.data = { authorized_keys: 'ssh-ed25519 AAAA\u0000' };
    const res = await deployer.authed(deployer.api().post('/api/v1/deployments')).send(spec);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({
      code: 'validation_failed',
      fields: [{ field: 'config_maps.0.data.authorized_keys' }],
    });
  });

  it.each([
    ['/api/v1/deployments?external_id=a&external_id=b', 'external_id'],
    [`/api/v1/volumes?namespace=${NAMESPACE}&namespace=${NAMESPACE}`, 'namespace'],
  ])('refuses a named query parameter given twice (%s)', async (url, field) => {
    const res = await deployer.authed(deployer.api().get(url));
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({
      code: 'validation_failed',
      fields: [{ field, problems: [expect.stringContaining('must be given once')] }],
    });
  });

  it('screens bodies behind API Gateway too (the Lambda entry)', async () => {
    const lambda = createDeployerLambda(() => ({
      config: loadLambdaConfig({
        NODE_ENV: 'test',
        ODC_KUBECONFIG_BASE64: kubeconfigBase64(deployer.cluster.url),
        ODC_DEPLOYER_NAMESPACES: NAMESPACE,
        ODC_DEPLOYER_TOKEN: DEPLOYER_TOKEN,
      }),
      logger: pino({ level: 'silent' }),
    }));
    const invoke = async (body: string) => {
      const event = {
        version: '2.0',
        routeKey: 'ANY /{proxy+}',
        rawPath: '/api/v1/deployments',
        rawQueryString: '',
        headers: {
          host: 'abc123.execute-api.us-east-1.amazonaws.com',
          authorization: `Bearer ${DEPLOYER_TOKEN}`,
          'content-type': 'application/json',
        },
        body: Buffer.from(body).toString('base64'),
        isBase64Encoded: true,
        requestContext: {
          http: { method: 'POST', path: '/api/v1/deployments', protocol: 'HTTP/1.1', sourceIp: '10.1.2.3' },
          requestId: 'screen',
          routeKey: 'ANY /{proxy+}',
          stage: '$default',
          timeEpoch: Date.now(),
        },
      } as unknown as APIGatewayProxyEventV2;
      const context = { awsRequestId: randomUUID() } as Context;
      const result = (await lambda(event, context)) as APIGatewayProxyStructuredResultV2;
      return { status: result.statusCode, body: JSON.parse(result.body ?? '{}') as Record<string, unknown> };
    };
    try {
      const spec = reservationSpec('lambda') as unknown as Record<string, unknown>;
      expect(await invoke(deepJson(5_000, spec, 'ingress'))).toMatchObject({
        status: 400,
        body: { code: 'body_too_deep' },
      });
      expect(await invoke(JSON.stringify({ ...spec, metadata: { external_id: 'a\u0000' } }))).toMatchObject({
        status: 400,
        body: { code: 'validation_failed', fields: [{ field: 'metadata.external_id' }] },
      });
    } finally {
      await lambda.close();
    }
  });
});

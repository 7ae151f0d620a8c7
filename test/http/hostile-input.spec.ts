import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { projectRoot } from '../../src/app/version';
import { API_KEY_SCOPES } from '../../src/auth/api-keys/api-key.entity';
import {
  DEPLOYER_TOKEN,
  NAMESPACE,
  reservationSpec,
  startDeployer,
  type DeployerUnderTest,
} from '../deployer/fixtures';
import { startTestApp, type CapturedLogs, type TestApp } from '../support/app';
import { eventually } from '../support/eventually';
import { keyFor } from '../support/users';
import { pathsOf, type Json } from '../support/json-paths';

/**
 * Hostile requests to every operation of both OpenAPI documents (openapi.json for the coordinator,
 * openapi.deployer.json for the deployer), as an admin with every scope: bodies built from each
 * request schema then garbled (deep nesting, NUL, huge numbers, wrong types, arrays for objects and
 * objects for arrays, `__proto__` keys, odd Unicode, very long strings, UTF-16 and form encodings),
 * odd and repeated query parameters, path parameters that name nothing or are not even valid
 * escapes. Whatever is sent, the answer is never a 5xx, and a 4xx always carries a code.
 *
 * Per operation: a deterministic sweep (each body field replaced by each of WRONG_TYPES), then
 * FUZZ_RUNS (default 40) random requests. Each run prints its seed; FUZZ_SEED=<seed> replays the
 * same requests (the ids of the objects made at the start aside).
 */

/** JSON text that JSON.stringify cannot write (1e400, 5,000 levels, `__proto__` keys), spliced in as is. */
class Raw {
  constructor(readonly text: string) {}
}

type Value = Json | Raw | Value[] | { [key: string]: Value };

/** Serialises a generated body; recursion is fine here, generated trees are a few levels deep. */
function serialize(value: Value): string {
  if (value instanceof Raw) {
    return value.text;
  }
  if (Array.isArray(value)) {
    return `[${value.map(serialize).join(',')}]`;
  }
  if (value !== null && typeof value === 'object') {
    return `{${Object.entries(value)
      .map(([key, item]) => `${JSON.stringify(key)}:${serialize(item)}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

// --- OpenAPI --------------------------------------------------------------------------------------

interface Schema {
  $ref?: string;
  type?: string;
  enum?: Json[];
  example?: Json;
  default?: Json;
  format?: string;
  minimum?: number;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  allOf?: Schema[];
  additionalProperties?: boolean | Schema;
}

interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header';
  schema?: Schema;
}

interface Operation {
  operationId: string;
  parameters?: Parameter[];
  requestBody?: { content: Record<string, { schema: Schema }> };
}

interface Document {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema> };
}

interface Route {
  method: string;
  path: string;
  operation: Operation;
}

function loadDocument(file: string): Document {
  return JSON.parse(readFileSync(join(projectRoot(), file), 'utf8')) as Document;
}

function routesOf(document: Document): Route[] {
  return Object.entries(document.paths).flatMap(([path, operations]) =>
    Object.entries(operations).map(([method, operation]) => ({ method, path, operation })),
  );
}

/** A plausible value for a schema (its example, first enum value, default…), to garble from. */
function sampleOf(document: Document, schema: Schema, depth = 0): Json {
  if (schema.$ref) {
    return sampleOf(document, document.components.schemas[schema.$ref.split('/').pop()!]!, depth);
  }
  if (schema.allOf) {
    return sampleOf(document, schema.allOf[0]!, depth);
  }
  if (schema.example !== undefined) {
    return schema.example;
  }
  if (schema.enum) {
    return schema.enum[0]!;
  }
  if (schema.default !== undefined) {
    return schema.default;
  }
  switch (schema.type ?? 'object') {
    case 'string':
      return schema.format === 'date-time' ? new Date().toISOString() : 'x';
    case 'number':
    case 'integer':
      return schema.minimum ?? 1;
    case 'boolean':
      return true;
    case 'array':
      return schema.items && depth < 6 ? [sampleOf(document, schema.items, depth + 1)] : [];
    default:
      return depth < 6
        ? Object.fromEntries(
            Object.entries(schema.properties ?? {}).map(([key, property]) => [
              key,
              sampleOf(document, property, depth + 1),
            ]),
          )
        : {};
  }
}

// --- Hostile values -------------------------------------------------------------------------------

function nested(depth: number, kind: 'array' | 'object' | 'mixed'): Raw {
  const open = { array: '[', object: '{"a":', mixed: '[{"a":' }[kind];
  const close = { array: ']', object: '}', mixed: '}]' }[kind];
  return new Raw(`${open.repeat(depth)}1${close.repeat(depth)}`);
}

const ODD_STRINGS = [
  'a\u0000b',
  '\u0000',
  'evil\u202etxt.exe',
  'zero\u200bwidth',
  '\ufeffbom',
  '\u001b[31mred',
  'line\nbreak',
  '\ud800',
  '\udfff',
  'e\u0301',
  '😀',
  'İı',
  '\u0085',
  '../..',
  '%00',
  '',
  ' ',
  'null',
  'true',
  '-1',
  '1e400',
  '00000000-0000-0000-0000-000000000000',
  "' OR 1=1 --",
  '${jndi:x}',
  'x'.repeat(300),
  'y'.repeat(70_000),
];

const oddString = fc.oneof(
  fc.constantFrom(...ODD_STRINGS),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
);

const hostileValue: fc.Arbitrary<Value> = fc.oneof(
  fc
    .record({
      // Either side of the HTTP layer's bound (64): below it a body must reach validation unharmed.
      depth: fc.constantFrom(30, 60, 65, 300, 5_000, 20_000),
      kind: fc.constantFrom('array' as const, 'object' as const, 'mixed' as const),
    })
    .map(({ depth, kind }) => nested(depth, kind)),
  fc
    .constantFrom(
      '1e400',
      '-1e400',
      '1e-400',
      '123456789012345678901234567890',
      '9007199254740993',
      '-0',
      '1E+2',
      '{"__proto__":{"admin":true}}',
      '{"constructor":{"prototype":{"admin":true}}}',
      '{"a":1,"a":2}',
    )
    .map((text) => new Raw(text)),
  oddString,
  fc.constantFrom<Json>(
    null,
    true,
    false,
    0,
    -1,
    1.5,
    2 ** 31,
    2 ** 53,
    -(2 ** 63),
    Number.MAX_VALUE,
    Number.MIN_VALUE,
    [],
    {},
    [null],
    [[]],
    [{}],
    { a: 'b' },
  ),
  fc.double(),
  fc.integer(),
  fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<Json>,
);

type Mutation =
  | { kind: 'replace'; at: number; value: Value }
  | { kind: 'wrap'; at: number }
  | { kind: 'delete'; at: number }
  | { kind: 'add'; at: number; key: string; value: Value };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({ kind: fc.constant('replace' as const), at: fc.nat(), value: hostileValue }),
  },
  fc.record({ kind: fc.constant('wrap' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant('add' as const),
    at: fc.nat(),
    key: fc.oneof(oddString, fc.constantFrom('__proto__', 'constructor', 'extra')),
    value: hostileValue,
  }),
);

/** The sample with the mutations applied; one aimed below a node an earlier one replaced is skipped. */
function garble(sample: Json, mutations: Mutation[]): Value {
  const paths = pathsOf(sample);
  let root: Value = structuredClone(sample);
  for (const change of mutations) {
    const path = paths[change.at % paths.length]!;
    let parent: Value = null;
    let node: Value = root;
    let reachable = true;
    for (const key of path) {
      if (node === null || typeof node !== 'object' || node instanceof Raw) {
        reachable = false;
        break;
      }
      parent = node;
      node = (node as Record<string | number, Value>)[key] ?? null; // a key an earlier change removed
    }
    if (!reachable) {
      continue;
    }
    const set = (value: Value | undefined) => {
      if (path.length === 0) {
        root = value ?? null;
      } else if (value === undefined) {
        if (Array.isArray(parent)) {
          parent.splice(path.at(-1) as number, 1);
        } else {
          delete (parent as Record<string, Value>)[path.at(-1)!];
        }
      } else {
        (parent as Record<string | number, Value>)[path.at(-1)!] = value;
      }
    };
    switch (change.kind) {
      case 'replace':
        set(change.value);
        break;
      case 'wrap':
        set([node]);
        break;
      case 'delete':
        set(undefined);
        break;
      case 'add':
        if (node !== null && typeof node === 'object' && !(node instanceof Raw) && !Array.isArray(node)) {
          (node as Record<string, Value>)[change.key] = change.value;
        }
        break;
    }
  }
  return root;
}

// --- Requests -------------------------------------------------------------------------------------

/** Percent-encodes UTF-8 bytes (lone surrogates become U+FFFD, where encodeURIComponent throws). */
function encode(text: string): string {
  return [...Buffer.from(text, 'utf8')]
    .map((byte) => {
      const char = String.fromCharCode(byte);
      return /[A-Za-z0-9_.~-]/.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
    })
    .join('');
}

/** Already-encoded URL text a client should not send: bad escapes, an encoded surrogate, NUL… */
const RAW_ESCAPES = ['%', '%zz', '%E0%A4%A', '%ED%A0%80', '%C0%80', '%00', '%2e%2e', '%2F', '%25', '%FF'];

/** What a path segment is filled with: known and plausible values, and hostile ones (encoded). */
function pathValue(known: string[]): fc.Arbitrary<string> {
  return fc.oneof(
    ...(known.length > 0 ? [{ weight: 3, arbitrary: fc.constantFrom(...known.map(encode)) }] : []),
    fc.uuid(),
    fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?$/),
    fc.constantFrom(...RAW_ESCAPES),
    oddString.filter((text) => text.length < 1_000).map(encode),
  );
}

/** A sample as a query value: a scalar as text, a list by its first item. */
function queryText(sample: Json): string {
  if (Array.isArray(sample)) {
    return sample.length > 0 ? queryText(sample[0]!) : '';
  }
  return typeof sample === 'object' || sample === null ? 'x' : String(sample);
}

/** A query value, or several of the same name (`?a=1&a=2`), already encoded. */
function queryValue(sample: Json): fc.Arbitrary<string[]> {
  const one = fc.oneof(
    { weight: 4, arbitrary: fc.constant(encode(queryText(sample))) },
    fc.constantFrom(...RAW_ESCAPES),
    oddString.filter((text) => text.length < 1_000).map(encode),
    fc.constantFrom('1e400', '-1', '0', '99999999999999999999', 'NaN', 'Infinity', 'true', '[object]'),
  );
  return fc.oneof(
    { weight: 3, arbitrary: one.map((value) => [value]) },
    fc.array(one, { minLength: 2, maxLength: 3 }),
  );
}

interface HostileRequest {
  url: string;
  headers: Record<string, string>;
  contentType: string | undefined;
  body: Value | undefined;
  encoding: 'utf8' | 'utf16le' | 'form';
}

function requestFor(target: Target, route: Route): fc.Arbitrary<HostileRequest> {
  const { document } = target;
  const parameters = route.operation.parameters ?? [];
  const segments = parameters.filter((p) => p.in === 'path');
  const queries = parameters.filter((p) => p.in === 'query');
  const bodySchema = route.operation.requestBody?.content['application/json']?.schema;
  const bodySample = bodySchema
    ? (target.bodies[`${route.method.toUpperCase()} ${route.path}`] ?? sampleOf(document, bodySchema))
    : undefined;
  return fc
    .record({
      path: fc.tuple(...segments.map((p) => pathValue(target.params[p.name] ?? []))),
      query: fc.tuple(
        ...queries.map((p) =>
          fc.option(queryValue(p.schema ? sampleOf(document, p.schema) : 'x'), { freq: 2 }),
        ),
      ),
      // Mostly none: an unknown parameter is refused before anything else is looked at.
      extraQuery: fc.oneof(
        { weight: 4, arbitrary: fc.constant(null) },
        fc.tuple(fc.constantFrom('__proto__', 'a[b]', 'constructor', 'unknown', '%00'), queryValue('x')),
      ),
      idempotencyKey: fc.option(fc.constantFrom('key-1', 'x'.repeat(300), 'é', ' ', 'a b')),
      mutations: fc.array(mutation, { maxLength: 3 }),
      encoding: fc.constantFrom('utf8', 'utf8', 'utf8', 'utf8', 'utf16le', 'form', 'text'),
    })
    .map(({ path, query, extraQuery, idempotencyKey, mutations, encoding }) => {
      let i = 0;
      const filled = route.path.replace(/\{[^}]+\}/g, () => path[i++]!);
      const pairs = queries.flatMap((p, index) =>
        (query[index] ?? []).map((value) => `${encode(p.name)}=${value}`),
      );
      if (extraQuery) {
        pairs.push(...extraQuery[1].map((value) => `${extraQuery[0]}=${value}`));
      }
      const headers: Record<string, string> = {};
      if (idempotencyKey !== null && parameters.some((p) => p.name === 'Idempotency-Key')) {
        headers['idempotency-key'] = idempotencyKey;
      }
      const body = bodySample === undefined ? undefined : garble(bodySample, mutations);
      return {
        url: pairs.length > 0 ? `${filled}?${pairs.join('&')}` : filled,
        headers,
        body,
        encoding: encoding === 'text' ? 'utf8' : encoding,
        contentType:
          body === undefined
            ? undefined
            : {
                utf8: 'application/json',
                utf16le: 'application/json; charset=utf-16le',
                form: 'application/x-www-form-urlencoded',
                text: 'text/plain',
              }[encoding],
      };
    });
}

function payloadOf(hostile: HostileRequest): string | Buffer | undefined {
  if (hostile.body === undefined) {
    return undefined;
  }
  if (hostile.encoding === 'form') {
    const fields =
      hostile.body !== null && typeof hostile.body === 'object' && !(hostile.body instanceof Raw)
        ? Object.entries(hostile.body)
        : [['body', hostile.body] as const];
    return fields
      .map(([key, value]) => `${encode(key)}=${encode(typeof value === 'string' ? value : serialize(value))}`)
      .join('&');
  }
  const text = serialize(hostile.body);
  return hostile.encoding === 'utf16le' ? Buffer.from(text, 'utf16le') : text;
}

function describeRequest(route: Route, hostile: HostileRequest): string {
  const body = hostile.body === undefined ? '' : serialize(hostile.body);
  const shown = body.length > 400 ? `${body.slice(0, 400)}… (${body.length} chars)` : body;
  return `${route.method.toUpperCase()} ${hostile.url.slice(0, 400)} [${hostile.contentType ?? '-'}] ${shown}`;
}

async function send(
  server: Parameters<typeof request>[0],
  route: Route,
  hostile: HostileRequest,
  token: string,
) {
  const method = route.method as 'get' | 'post' | 'put' | 'patch' | 'delete';
  let req = request(server)[method](hostile.url).set('authorization', `Bearer ${token}`).set(hostile.headers);
  const payload = payloadOf(hostile);
  if (payload !== undefined) {
    // As is: superagent would otherwise JSON-encode a Buffer (the UTF-16 bodies).
    req = req
      .set('content-type', hostile.contentType!)
      .serialize((data: unknown) => data as string)
      .send(payload);
  }
  return req.redirects(0);
}

interface Target {
  name: string;
  document: Document;
  server: () => Parameters<typeof request>[0];
  token: string;
  /** Where a 500's stack is looked for. */
  logs: CapturedLogs[];
  /** Values of path parameters that name something that exists. */
  params: Record<string, string[]>;
  /** Bodies to garble instead of the schema's sample, by `METHOD /path`. */
  bodies: Record<string, Json>;
}

/**
 * The stack of the error a request's 500 logged, first lines only. Every app's log is searched:
 * with two apps in one process, the request logger writes to the first app's stream.
 */
function stackOf(logs: CapturedLogs[], requestId: string): string | undefined {
  const line = logs
    .flatMap((log) => log.lines)
    .find(
      (l) =>
        ((l.req as { id?: unknown } | undefined)?.id ?? l.requestId) === requestId && l.err !== undefined,
    );
  return (line?.err as { stack?: string } | undefined)?.stack?.split('\n').slice(0, 8).join(' | ');
}

/** Values every field of a body is replaced by in turn, whatever the random runs draw. */
const WRONG_TYPES: Json[] = [null, '', -1, [], {}, ['x'], { a: 'b' }];

/**
 * Each request of a route's sweep: its sample body (when it has one) with one field replaced by
 * each of WRONG_TYPES, sent without query; deterministic, so no field misses its turn.
 */
function sweepOf(target: Target, route: Route, base: HostileRequest): HostileRequest[] {
  const schema = route.operation.requestBody?.content['application/json']?.schema;
  if (!schema) {
    return [];
  }
  const sample =
    target.bodies[`${route.method.toUpperCase()} ${route.path}`] ?? sampleOf(target.document, schema);
  return pathsOf(sample).flatMap((_, at) =>
    WRONG_TYPES.map((value) => ({
      ...base,
      url: base.url.split('?')[0]!,
      body: garble(sample, [{ kind: 'replace', at, value }]),
      encoding: 'utf8' as const,
      contentType: 'application/json',
    })),
  );
}

/** Fuzzes every route of a target; one line per route that answered a 5xx or a 4xx without a code. */
async function fuzz(target: Target, seed: number, numRuns: number): Promise<string[]> {
  const failures: string[] = [];
  for (const route of routesOf(target.document)) {
    const name = `${route.method.toUpperCase()} ${route.path}`;
    /** Throws for a 5xx, or a 4xx without a code. */
    const check = async (hostile: HostileRequest) => {
      const res = await send(target.server(), route, hostile, target.token);
      const code = (res.body as { code?: unknown } | undefined)?.code;
      if (res.status >= 500 || (res.status >= 400 && typeof code !== 'string')) {
        const stack = stackOf(target.logs, String(res.headers['x-request-id']));
        throw new Error(
          `${res.status} ${JSON.stringify(res.body).slice(0, 300)}${stack ? ` (${stack})` : ''}`,
        );
      }
    };
    const arbitrary = requestFor(target, route);
    for (const hostile of sweepOf(target, route, fc.sample(arbitrary, { seed, numRuns: 1 })[0]!)) {
      await check(hostile).catch((error: unknown) => {
        failures.push(
          `${target.name} ${name} (sweep): ${describeRequest(route, hostile)} → ${(error as Error).message}`,
        );
      });
    }
    const result = await fc.check(fc.asyncProperty(arbitrary, check), { seed, numRuns, endOnFailure: true });
    if (result.failed) {
      const hostile = result.counterexample?.[0];
      failures.push(
        `${target.name} ${name} (FUZZ_SEED=${seed}, path ${result.counterexamplePath}): ` +
          `${hostile ? describeRequest(route, hostile) : '?'} → ${String((result.errorInstance as Error)?.message)}`,
      );
    }
  }
  return failures;
}

describe('HTTP: hostile input never gets a 5xx', () => {
  const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
  const numRuns = Number(process.env.FUZZ_RUNS ?? 40);
  let app: TestApp;
  let deployer: DeployerUnderTest;
  let adminKey: string;

  beforeAll(async () => {
    console.info(`hostile-input seed ${seed} (replay: FUZZ_SEED=${seed})`);
    deployer = await startDeployer({
      env: { ODC_DEPLOYER_KUBE_QPS: '10000', ODC_DEPLOYER_KUBE_BURST: '10000' },
    });
    app = await startTestApp({
      roles: 'coordinator',
      env: { ODC_RATE_LIMIT_API_PER_MINUTE: '1000000', ODC_RATE_LIMIT_LOGIN_PER_MINUTE: '1000000' },
    });
    adminKey = await keyFor(app, 'fuzz-admin', [...API_KEY_SCOPES], { admin: true });
  });

  afterAll(async () => {
    await app?.close();
    await deployer?.close();
  });

  it('on any route of either listener', async () => {
    const admin = (req: request.Test) => req.set('authorization', `Bearer ${adminKey}`);
    const deployerUrl = deployer.app.runtime.listeners.find((l) => l.name === 'deployer')!.url;
    // Something to find behind the path parameters: a cluster with capacity, a queued reservation,
    // a disk, a spare key; on the deployer, a deployment (with its claim) and a file transfer.
    const cluster = await admin(app.http().post('/api/v1/clusters'))
      .send({
        name: 'fuzz',
        deployer_url: deployerUrl,
        token: DEPLOYER_TOKEN,
        profile: {
          namespace: NAMESPACE,
          gpu_types: [
            {
              name: 'h100',
              node_selector: { 'nvidia.com/gpu.product': 'NVIDIA-H100-80GB-HBM3' },
              gpus_per_node: 8,
            },
          ],
        },
      })
      .expect(201);
    await eventually(
      () => admin(app.http().get(`/api/v1/clusters/${cluster.body.id}/capacity`)),
      (res) => JSON.stringify(res.body).includes('h100'),
    );
    const reservation = await admin(app.http().post('/api/v1/reservations'))
      .send({ gpu_type: 'h100', gpu_count: 1, hours: 1 })
      .expect(202);
    await admin(app.http().post('/api/v1/disks')).send({ name: 'work' }).expect(201);
    const spare = await admin(app.http().post('/api/v1/keys'))
      .send({ name: 'spare', scopes: ['disks:read'] })
      .expect(201);
    await deployer
      .authed(deployer.api().post('/api/v1/deployments'))
      .send(reservationSpec('fuzz-a'))
      .expect(201);
    const transfer = await deployer
      .authed(deployer.api().post('/api/v1/deployments/fuzz-a/file-transfers/upload'))
      .send({ image: 'amazon/aws-cli:2.22.0', args: ['s3', 'ls'] });

    const started = Date.now();
    const failures = [
      ...(await fuzz(
        {
          name: 'coordinator',
          document: loadDocument('openapi.json'),
          server: () => app.core().getHttpServer(),
          token: adminKey,
          logs: [app.logs, deployer.app.logs],
          params: {
            id: [cluster.body.id, reservation.body.id, spare.body.id],
            name: ['work'],
            username: ['fuzz-admin'],
          },
          bodies: {
            'POST /api/v1/clusters': { name: 'fuzz-2', deployer_url: deployerUrl, token: DEPLOYER_TOKEN },
            'POST /api/v1/reservations': { gpu_type: 'h100', gpu_count: 1, hours: 1, name: 'train' },
          },
        },
        seed,
        numRuns,
      )),
      ...(await fuzz(
        {
          name: 'deployer',
          document: loadDocument('openapi.deployer.json'),
          server: () => deployer.app.runtime.deployer!.getHttpServer(),
          token: DEPLOYER_TOKEN,
          logs: [app.logs, deployer.app.logs],
          params: {
            externalId: ['fuzz-a'],
            name: ['fuzz-a-scratch'],
            direction: ['upload', 'download'],
            id: [String(transfer.body.id)],
          },
          bodies: {
            'POST /api/v1/deployments': reservationSpec('fuzz-b') as unknown as Json,
            'POST /api/v1/volumes': { name: 'fuzz-v', namespace: NAMESPACE, size: '1Gi' },
            'POST /api/v1/snapshots': { name: 'fuzz-s', namespace: NAMESPACE, volume: 'fuzz-a-scratch' },
          },
        },
        seed,
        numRuns,
      )),
    ];
    console.info(`hostile-input: seed ${seed}, ${numRuns} runs per route in ${Date.now() - started} ms`);
    expect(failures).toEqual([]);
  }, 300_000);
});

import type { INestApplication } from '@nestjs/common';
import {
  DocumentBuilder,
  SwaggerModule,
  type ExampleObject,
  type OpenAPIObject,
  type OperationObject,
  type ReferenceObject,
  type ResponseObject,
  type SchemaObject,
  type SecuritySchemeObject,
} from '@nestjs/swagger';
import { API_ERRORS_EXTENSION, type DocumentedError } from '../infra/http/api-errors';
import { ErrorResponse } from '../infra/http/error-response';
import { CommonErrorCode } from '../infra/errors/app-error';
import { SPEC_VERSION } from '../deployer/contract';
import { ERROR_EXAMPLES } from './error-examples';
import { DEPLOYER_LISTENER_ERROR_STATUSES, ERROR_STATUSES } from './error-registry';
import { APP_VERSION } from './version';

interface DocumentOptions {
  title: string;
  description: string;
  /** The codes its application answers with, and their statuses (a registry of error-registry.ts). */
  errors: Readonly<Record<string, number>>;
  bearer: SecuritySchemeObject;
  /** Every tag its operations use, in the order Swagger UI shows them, with what each holds. */
  tags: readonly (readonly [name: string, description: string])[];
}

function buildDocument(app: INestApplication, options: DocumentOptions): OpenAPIObject {
  const builder = new DocumentBuilder()
    .setTitle(options.title)
    .setDescription(
      `${options.description} Every error response has \`code\`, \`message\` and \`requestId\`.`,
    )
    .setVersion(APP_VERSION)
    .addBearerAuth(options.bearer);
  options.tags.forEach(([name, description]) => builder.addTag(name, description));
  const document = SwaggerModule.createDocument(app, builder.build(), {
    operationIdFactory: (_controllerKey, methodKey) => methodKey,
    extraModels: [ErrorResponse],
  });
  assertTagsListed(document, options.tags);
  documentErrors(document, options.errors);
  describeRequestSchemas(document);
  listErrorCodes(document, options.errors);
  return document;
}

const OPERATION_METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;

function operationsOf(document: OpenAPIObject): OperationObject[] {
  return Object.values(document.paths).flatMap((path) =>
    OPERATION_METHODS.flatMap((method) => (path[method] ? [path[method]] : [])),
  );
}

/** A tag left out of the list would be shown after the listed ones, wherever it belongs. */
function assertTagsListed(document: OpenAPIObject, tags: DocumentOptions['tags']): void {
  const listed = new Set(tags.map(([name]) => name));
  const unlisted = operationsOf(document)
    .flatMap((operation) => operation.tags ?? [])
    .filter((tag) => !listed.has(tag));
  if (unlisted.length > 0) {
    throw new Error(`tags used but not listed in src/app/openapi.ts: ${[...new Set(unlisted)].join(', ')}`);
  }
}

/** `ErrorCode` is every code of the application's registry, in its order. */
function listErrorCodes(document: OpenAPIObject, errors: Readonly<Record<string, number>>): void {
  const schema = document.components?.schemas?.ErrorCode as SchemaObject | undefined;
  if (!schema) {
    throw new Error('the ErrorResponse schema names no ErrorCode enum');
  }
  schema.enum = Object.keys(errors);
}

const ERROR_RESPONSE = { $ref: '#/components/schemas/ErrorResponse' };

/** What each error status means, for the responses whose operation says nothing more. */
const STATUS_DESCRIPTIONS: Readonly<Record<number, string>> = {
  400: 'Invalid input (malformed JSON, a NUL character, unknown or invalid fields or parameters)',
  401: 'Not authenticated: no credential, or one this server does not take (the code says which)',
  403: 'Authenticated, but not allowed',
  404: 'Not found (or not yours)',
  405: 'Not a method of this path',
  409: 'The current state stops it',
  413: 'The body is too large',
  415: 'Not a JSON body',
  422: 'Understood, but it cannot be done as asked',
  429: 'Rate limited; see Retry-After',
  500: 'A bug: quote the request id',
  502: 'A dependency failed',
  503: 'A dependency is away; the same call may work later',
};

/** Made up, as a real one is (a UUID, or the caller's own X-Request-Id). */
const EXAMPLE_REQUEST_ID = '6f1c2a4e-8b7d-4e3a-9c15-2d4b7a9e0f31';

/**
 * Every route can answer 400: bodies are parsed and screened (malformed JSON, a NUL character,
 * nesting too deep) and parameters and bodies validated (unknown or invalid fields) before any
 * handler runs (src/infra/http). Said here for every operation rather than on each.
 */
function inputErrorsOf(operation: OperationObject): DocumentedError[] {
  return [
    { code: CommonErrorCode.ValidationFailed },
    ...(operation.requestBody ? [{ code: CommonErrorCode.MalformedJson }] : []),
  ];
}

type Examples = Record<string, ExampleObject | ReferenceObject>;

/**
 * Each operation's error codes (`@ApiErrors`, src/infra/http/api-errors.ts) become one response
 * per status, an `ErrorResponse` with a named example per code: the operation's own wording, else
 * the registry's example (error-examples.ts), written once under `components.examples` and
 * referred to. A code its application does not answer with (not in `errors`, or a deployer's in the
 * coordinator's document) is a mistake, and the build says so.
 */
function documentErrors(document: OpenAPIObject, errors: Readonly<Record<string, number>>): void {
  const shared: Examples = {};
  for (const operation of operationsOf(document)) {
    const extended = operation as OperationObject & { [API_ERRORS_EXTENSION]?: DocumentedError[] };
    const documented = [...inputErrorsOf(operation), ...(extended[API_ERRORS_EXTENSION] ?? [])];
    delete extended[API_ERRORS_EXTENSION];
    for (const [status, examples] of examplesByStatus(documented, errors, operation.operationId, shared)) {
      const declared = operation.responses[status] as ResponseObject | undefined;
      operation.responses[status] = {
        description: declared?.description ?? STATUS_DESCRIPTIONS[status] ?? 'Error',
        content: { 'application/json': { schema: ERROR_RESPONSE, examples } },
      };
    }
  }
  document.components = { ...document.components, examples: sortedByKey(shared) };
}

/**
 * Examples grouped by status, in the order documented, one per distinct wording of a code; the
 * registry's wording is added to `shared` and referred to.
 */
function examplesByStatus(
  documented: readonly DocumentedError[],
  errors: Readonly<Record<string, number>>,
  operationId: string | undefined,
  shared: Examples,
): Map<number, Examples> {
  const byStatus = new Map<number, Examples>();
  const seen = new Set<string>();
  for (const error of documented) {
    const status = errors[error.code];
    if (status === undefined) {
      throw new Error(`${operationId}: @ApiErrors names ${error.code}, which this application never answers`);
    }
    const value = exampleBody(error);
    const key = JSON.stringify(value);
    if (seen.has(key)) {
      continue;
    }
    seen.add(key);
    const examples = byStatus.get(status) ?? {};
    byStatus.set(status, examples);
    const taken = Object.keys(examples).filter((name) => name.split(' ')[0] === error.code).length;
    const name = taken === 0 ? error.code : `${error.code} (${taken + 1})`;
    if (key === JSON.stringify(exampleBody({ code: error.code }))) {
      shared[error.code] = { value };
      examples[name] = { $ref: `#/components/examples/${error.code}` };
    } else {
      examples[name] = { value };
    }
  }
  return byStatus;
}

function sortedByKey<T>(record: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => a.localeCompare(b)));
}

function exampleBody(error: DocumentedError): Record<string, unknown> {
  // The operation's own wording comes whole; else the registry's, with what the operation adds.
  const example: { message: string; fields?: unknown; details?: unknown } = ERROR_EXAMPLES[error.code];
  const own = error.message !== undefined;
  const fields = own ? error.fields : (error.fields ?? example.fields);
  const details = own ? error.details : (error.details ?? example.details);
  return {
    code: error.code,
    message: error.message ?? example.message,
    requestId: EXAMPLE_REQUEST_ID,
    ...(fields ? { fields } : {}),
    ...(details ? { details } : {}),
  };
}

/**
 * Request bodies checked by hand rather than by the ValidationPipe: the deployment spec's metadata
 * (parseDeploymentSpec), which lets unknown properties through and does not take null for absent.
 */
const HAND_CHECKED_SCHEMAS = new Set(['DeploymentMetadataDto']);

/**
 * What the global ValidationPipe does to every request body, said in each schema a body reaches
 * (unless the schema says otherwise itself: a Kubernetes manifest, a map of labels): unknown
 * properties are refused (forbidNonWhitelisted), nested objects' too (`additionalProperties:
 * false`); and an optional property may be null, which `@IsOptional()` takes for absent
 * (`nullable: true`; UpdateClusterDto's PEMs and token are removed by it).
 */
function describeRequestSchemas(document: OpenAPIObject): void {
  const schemas = document.components?.schemas ?? {};
  const seen = new Set<string>();
  const describe = (name: string, schema: SchemaObject): void => {
    if (schema.type !== 'object' || HAND_CHECKED_SCHEMAS.has(name)) {
      return;
    }
    schema.additionalProperties ??= false;
    for (const [property, value] of Object.entries(schema.properties ?? {})) {
      if (schema.required?.includes(property) || (value as SchemaObject).nullable !== undefined) {
        continue;
      }
      const ref = (value as ReferenceObject).$ref;
      schema.properties![property] = ref
        ? { allOf: [{ $ref: ref }], nullable: true }
        : { ...value, nullable: true };
    }
  };
  const visit = (node: unknown): void => {
    if (typeof node !== 'object' || node === null) {
      return;
    }
    const ref = (node as ReferenceObject).$ref;
    if (typeof ref === 'string') {
      const name = ref.split('/').pop()!;
      const schema = schemas[name] as SchemaObject | undefined;
      if (schema && !seen.has(name)) {
        seen.add(name);
        visit(schema);
        describe(name, schema);
      }
      return;
    }
    Object.values(node).forEach(visit);
  };
  operationsOf(document).forEach((operation) => visit(operation.requestBody));
}

/** The order a newcomer reads in: a user's day first, then the admins' tools, then the plumbing. */
const API_TAGS = [
  [
    'reservations',
    'Ask for GPUs and follow a reservation from the queue to a running machine; extend, share or cancel it. ' +
      'Start here: POST /api/v1/reservations, then GET /api/v1/reservations/{id} until it is active.',
  ],
  ['availability', 'What is free now, per GPU type and per cluster: look before you reserve.'],
  [
    'disks',
    'Named persistent disks: a reservation that names one gets it at /home/dev, and a snapshot of it at its end.',
  ],
  [
    'me',
    'You: who your credential says you are, your SSH keys (what reservations let in) and your API keys.',
  ],
  ['clusters', 'Admins: the Kubernetes clusters reservations run on, each reached through its deployer.'],
  ['audit', 'Admins: the append-only audit log and its keyed chain; recording model usage.'],
  ['users', 'Admins: which external identities (an OpenID Provider’s, a JWT issuer’s) are which user.'],
  [
    'login',
    'Getting a credential: the ways to log in here, OIDC in a browser or for the CLI, legacy AWS IAM. ' +
      'No API key needed.',
  ],
  ['health', 'Probes for Kubernetes and load balancers. No API key needed.'],
] as const;

export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  return buildDocument(app, {
    title: 'ODC — Open Developer Cloud',
    description: 'Reserve GPU development environments across many Kubernetes clusters.',
    errors: ERROR_STATUSES,
    bearer: {
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'odc_<prefix>_<secret>',
      description:
        'An ODC API key, `odc_…`: from `gpu-dev login`, POST /api/v1/keys, or an admin ' +
        '(docs/identity.md). A JWT from an issuer of ODC_JWT_ISSUERS is taken too. In Swagger UI: ' +
        'Authorize, and paste the key alone (no "Bearer").',
    },
    tags: API_TAGS,
  });
}

export function buildDeployerOpenApiDocument(app: INestApplication): OpenAPIObject {
  return buildDocument(app, {
    title: 'ODC deployer',
    description:
      'The per-cluster executor: applies the full manifests the coordinator sends, under a strict policy, ' +
      `and reports status, capacity, volumes and snapshots. Contract (spec_version) ${SPEC_VERSION}.`,
    errors: DEPLOYER_LISTENER_ERROR_STATUSES,
    bearer: {
      type: 'http',
      scheme: 'bearer',
      // Not a JWT: the opaque shared secret the coordinator holds for this cluster.
      bearerFormat: undefined,
      description: 'The deployer’s token, ODC_DEPLOYER_TOKEN (the cluster’s `token` at the coordinator).',
    },
    tags: [
      [
        'deployments',
        'A reservation’s objects on this cluster: apply, read, delete; its logs; the capacity.',
      ],
      ['volumes', 'Persistent disks: claims and snapshots that outlive deployments.'],
      ['file transfers', 'Copying files into or out of a deployment’s volume.'],
      ['health', 'Probes for Kubernetes. No token needed.'],
    ],
  });
}

/** The deployer's document at /openapi.json and /openapi.yaml on its listener (no UI there). */
export function serveDeployerOpenApi(app: INestApplication): void {
  SwaggerModule.setup('openapi', app, buildDeployerOpenApiDocument(app), {
    ui: false,
    jsonDocumentUrl: 'openapi.json',
    yamlDocumentUrl: 'openapi.yaml',
  });
}

/** Swagger UI at /docs (assets served locally) and the document at /openapi.json. */
export function serveOpenApi(app: INestApplication): void {
  // Built on the first request for it, not at start: every coordinator starts faster (about 70 ms
  // of CPU), and most replicas never serve it.
  SwaggerModule.setup('docs', app, () => buildOpenApiDocument(app), {
    jsonDocumentUrl: 'openapi.json',
    yamlDocumentUrl: 'openapi.yaml',
    customSiteTitle: 'ODC API',
    // An API key pasted into Authorize survives a reload of the page (kept in the browser's storage).
    swaggerOptions: { persistAuthorization: true },
  });
}

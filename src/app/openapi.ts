import type { INestApplication } from '@nestjs/common';
import {
  DocumentBuilder,
  SwaggerModule,
  type OpenAPIObject,
  type ReferenceObject,
  type SchemaObject,
} from '@nestjs/swagger';
import { ErrorResponse } from '../infra/http/error-response';
import { SPEC_VERSION } from '../deployer/contract';
import { DEPLOYER_LISTENER_ERROR_STATUSES, ERROR_STATUSES } from './error-registry';
import { APP_VERSION } from './version';

function buildDocument(
  app: INestApplication,
  title: string,
  description: string,
  errors: Readonly<Record<string, number>>,
): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle(title)
    .setDescription(`${description} Every error response has \`code\`, \`message\` and \`requestId\`.`)
    .setVersion(APP_VERSION)
    .addBearerAuth()
    .build();
  const document = SwaggerModule.createDocument(app, config, {
    operationIdFactory: (_controllerKey, methodKey) => methodKey,
    extraModels: [ErrorResponse],
  });
  documentBadRequests(document);
  describeRequestSchemas(document);
  listErrorCodes(document, errors);
  return document;
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

/**
 * Every route can answer 400: bodies are parsed and screened (malformed JSON, a NUL character,
 * nesting too deep) and parameters and bodies validated (unknown or invalid fields) before any
 * handler runs (src/infra/http). Said once here for every operation rather than on each.
 */
function documentBadRequests(document: OpenAPIObject): void {
  for (const path of Object.values(document.paths)) {
    for (const method of ['get', 'put', 'post', 'delete', 'patch'] as const) {
      const operation = path[method];
      if (operation && !operation.responses['400']) {
        operation.responses['400'] = {
          description:
            'Invalid input (malformed JSON, a NUL character, unknown or invalid fields or parameters)',
          content: { 'application/json': { schema: ERROR_RESPONSE } },
        };
      }
    }
  }
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
  for (const path of Object.values(document.paths)) {
    for (const operation of [path.get, path.put, path.post, path.delete, path.patch]) {
      visit(operation?.requestBody);
    }
  }
}

export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  return buildDocument(
    app,
    'ODC — Open Developer Cloud',
    'Reserve GPU development environments across many Kubernetes clusters.',
    ERROR_STATUSES,
  );
}

export function buildDeployerOpenApiDocument(app: INestApplication): OpenAPIObject {
  return buildDocument(
    app,
    'ODC deployer',
    'The per-cluster executor: applies the full manifests the coordinator sends, under a strict policy, ' +
      `and reports status, capacity, volumes and snapshots. Contract (spec_version) ${SPEC_VERSION}.`,
    DEPLOYER_LISTENER_ERROR_STATUSES,
  );
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
  SwaggerModule.setup('docs', app, buildOpenApiDocument(app), {
    jsonDocumentUrl: 'openapi.json',
    yamlDocumentUrl: 'openapi.yaml',
    customSiteTitle: 'ODC API',
  });
}

import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import { ErrorResponse } from '../infra/http/error-response';
import { SPEC_VERSION } from '../deployer/contract';
import { APP_VERSION } from './version';

function buildDocument(app: INestApplication, title: string, description: string): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle(title)
    .setDescription(`${description} Every error response has \`code\`, \`message\` and \`requestId\`.`)
    .setVersion(APP_VERSION)
    .addBearerAuth()
    .build();
  return SwaggerModule.createDocument(app, config, {
    operationIdFactory: (_controllerKey, methodKey) => methodKey,
    extraModels: [ErrorResponse],
  });
}

export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  return buildDocument(
    app,
    'ODC — Open Developer Cloud',
    'Reserve GPU development environments across many Kubernetes clusters.',
  );
}

export function buildDeployerOpenApiDocument(app: INestApplication): OpenAPIObject {
  return buildDocument(
    app,
    'ODC deployer',
    'The per-cluster executor: applies the full manifests the coordinator sends, under a strict policy, ' +
      `and reports status, capacity, volumes and snapshots. Contract (spec_version) ${SPEC_VERSION}.`,
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

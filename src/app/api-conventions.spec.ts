import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from './version';

/** Just what these checks read of the committed OpenAPI document. */
interface Schema {
  $ref?: string;
  type?: string;
  properties?: Record<string, Schema>;
  items?: Schema;
}

interface Document {
  paths: Record<
    string,
    Record<string, { responses?: Record<string, { content?: Record<string, { schema?: Schema }> }> }>
  >;
  components: { schemas: Record<string, Schema> };
}

const document = JSON.parse(readFileSync(join(projectRoot(), 'openapi.json'), 'utf8')) as Document;

function resolved(schema: Schema): Schema {
  return schema.$ref ? document.components.schemas[schema.$ref.split('/').pop()!]! : schema;
}

/** Every JSON answer of the API: "GET /api/v1/disks 200" and its schema. */
function answers(): [string, Schema][] {
  return Object.entries(document.paths)
    .filter(([path]) => path.startsWith('/api/v1/'))
    .flatMap(([path, operations]) =>
      Object.entries(operations).flatMap(([method, operation]) =>
        Object.entries(operation.responses ?? {})
          .filter(([status]) => status.startsWith('2'))
          .flatMap(([status, response]) => {
            const schema = response.content?.['application/json']?.schema;
            return schema ? [[`${method.toUpperCase()} ${path} ${status}`, schema] as [string, Schema]] : [];
          }),
      ),
    );
}

/** The rules of docs/api-conventions.md that the document shows, for every endpoint at once. */
describe('the API conventions (docs/api-conventions.md), in openapi.json', () => {
  it('answers every list as an object with its items, never a bare array', () => {
    const arrays = answers()
      .filter(([, schema]) => resolved(schema).type === 'array')
      .map(([answer]) => answer);
    expect(arrays).toEqual([]);
    for (const [answer, schema] of answers().filter(([, s]) => /(List|Page)Dto$/.test(s.$ref ?? ''))) {
      expect({ answer, items: resolved(schema).properties?.items?.type }).toEqual({ answer, items: 'array' });
    }
  });

  it('names every field in snake_case, but the error answer’s requestId', () => {
    const others = Object.entries(document.components.schemas).flatMap(([name, schema]) =>
      Object.keys(schema.properties ?? {})
        .filter((field) => !/^[a-z][a-z0-9_]*$/.test(field))
        .map((field) => `${name}.${field}`),
    );
    expect(others).toEqual(['ErrorResponse.requestId']);
  });
});

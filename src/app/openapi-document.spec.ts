import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEPLOYER_LISTENER_ERROR_STATUSES, ERROR_STATUSES } from './error-registry';
import { projectRoot } from './version';

interface Example {
  value: { code: string; message: string; requestId: string };
}

/** An example, or a reference to one of `components.examples` (the registry's wording of a code). */
type ExampleOrRef = Example | { $ref: string };

interface Operation {
  operationId: string;
  summary?: string;
  description?: string;
  tags?: string[];
  requestBody?: {
    content: Record<string, { examples?: Record<string, { value: Record<string, unknown> }> }>;
  };
  responses: Record<
    string,
    { content?: Record<string, { schema?: { $ref?: string }; examples?: Record<string, ExampleOrRef> }> }
  >;
}

interface Document {
  tags?: { name: string; description?: string }[];
  paths: Record<string, Record<string, Operation>>;
  components: {
    securitySchemes: Record<string, { bearerFormat?: string }>;
    examples?: Record<string, Example>;
  };
}

/** The committed documents: `npm run openapi:check` (and test/http/openapi.spec.ts) hold them to the code. */
const DOCUMENTS: { file: string; errors: Readonly<Record<string, number>> }[] = [
  { file: 'openapi.json', errors: ERROR_STATUSES },
  { file: 'openapi.deployer.json', errors: DEPLOYER_LISTENER_ERROR_STATUSES },
];

function load(file: string): Document {
  return JSON.parse(readFileSync(join(projectRoot(), file), 'utf8')) as Document;
}

function operationsOf(document: Document): (Operation & { route: string })[] {
  return Object.entries(document.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, operation]) => ({
      ...operation,
      route: `${method.toUpperCase()} ${path}`,
    })),
  );
}

describe.each(DOCUMENTS)('the OpenAPI document $file', ({ file, errors }) => {
  const document = load(file);
  const operations = operationsOf(document);
  const resolve = (example: ExampleOrRef): Example => {
    if (!('$ref' in example)) {
      return example;
    }
    const name = example.$ref.replace('#/components/examples/', '');
    const shared = document.components.examples?.[name];
    if (!shared) {
      throw new Error(`${file}: ${example.$ref} is not in components.examples`);
    }
    return shared;
  };

  it('names every operation once, with a verb and a noun a client generator can use', () => {
    const ids = operations.map((operation) => operation.operationId);
    expect(ids.filter((id, index) => ids.indexOf(id) !== index)).toEqual([]);
    for (const id of ids) {
      expect(id).toMatch(/^[a-z][A-Za-z]+$/);
    }
  });

  it('says what every operation does: a summary, and a description of when to use it', () => {
    for (const { route, summary, description } of operations) {
      expect({ route, summary: summary?.length, description: description?.length }).toEqual({
        route,
        summary: expect.any(Number),
        description: expect.any(Number),
      });
    }
  });

  it('shows each error status with examples of its real codes, each registered with that status', () => {
    for (const operation of operations) {
      for (const [status, response] of Object.entries(operation.responses)) {
        if (Number(status) < 400) {
          continue;
        }
        const json = response.content?.['application/json'];
        expect({ route: operation.route, status, schema: json?.schema?.$ref }).toEqual({
          route: operation.route,
          status,
          schema: '#/components/schemas/ErrorResponse',
        });
        const examples = Object.values(json?.examples ?? {}).map(resolve);
        expect({ route: operation.route, status, examples: examples.length }).not.toEqual({
          route: operation.route,
          status,
          examples: 0,
        });
        for (const { value } of examples) {
          expect({ route: operation.route, code: value.code, status: errors[value.code] }).toEqual({
            route: operation.route,
            code: value.code,
            status: Number(status),
          });
          expect(value.message.length).toBeGreaterThan(0);
          expect(value.requestId.length).toBeGreaterThan(0);
        }
      }
    }
  });

  it('lists, with a description, every tag its operations use', () => {
    const listed = (document.tags ?? []).map((tag) => tag.name);
    const used = new Set(operations.flatMap((operation) => operation.tags ?? []));
    expect([...used].filter((tag) => !listed.includes(tag))).toEqual([]);
    for (const tag of document.tags ?? []) {
      expect(tag.description?.length).toBeGreaterThan(0);
    }
  });

  it('does not call its bearer credential a JWT', () => {
    expect(document.components.securitySchemes.bearer?.bearerFormat).not.toBe('JWT');
  });
});

describe('the coordinator’s OpenAPI document', () => {
  const document = load('openapi.json');

  it('shows its tags in the order a user reads them: their own work, then the admins’, then login and health', () => {
    expect(document.tags?.map((tag) => tag.name)).toEqual([
      'reservations',
      'availability',
      'disks',
      'me',
      'clusters',
      'audit',
      'users',
      'login',
      'health',
    ]);
  });

  it('takes an ODC API key as its bearer credential', () => {
    expect(document.components.securitySchemes.bearer?.bearerFormat).toMatch(/^odc_/);
  });

  it("offers first, as POST /api/v1/reservations' body, one that needs nothing the user must make first", () => {
    const examples =
      document.paths['/api/v1/reservations']!.post!.requestBody!.content['application/json']!.examples!;
    const first = Object.values(examples)[0]!.value;
    // A disk must exist already (422 unknown_disk), and node labels are a cluster's own.
    expect(first).not.toHaveProperty('disk');
    expect(first).not.toHaveProperty('node_labels');
    expect(first).toMatchObject({ gpu_type: 'h100', gpu_count: 1 });
  });
});

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../src/app/version';
import { API_KEY_SCOPES } from '../../src/auth/api-keys/api-key.entity';
import { startTestApp, type TestApp } from '../support/app';
import { seedFleet } from '../support/fleet';
import { keyFor } from '../support/users';

type Operation = { responses: Record<string, unknown>; requestBody?: unknown };
type Document = {
  paths: Record<string, Record<string, Operation>>;
  components: {
    schemas: Record<string, { additionalProperties?: unknown; properties?: Record<string, unknown> }>;
  };
};

function committed(file: string): Document {
  return JSON.parse(readFileSync(join(projectRoot(), file), 'utf8')) as Document;
}

function operations(document: Document): [string, Operation][] {
  return Object.entries(document.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, operation]): [string, Operation] => [
      `${method} ${path}`,
      operation,
    ]),
  );
}

/**
 * What schemathesis (scripts/peers/schemathesis.ts) found against the coordinator, each pinned
 * here so it stays fixed without the peer tier.
 */
describe('schemathesis findings', () => {
  let app: TestApp;
  let admin: string;
  let alice: string;
  const as = (key: string) => ({ authorization: `Bearer ${key}` });

  beforeAll(async () => {
    app = await startTestApp({ roles: 'coordinator' });
    await seedFleet(app, 'east', [{ name: 'h-0', gpuType: 'h100', gpus: 8 }]);
    admin = await keyFor(app, 'root', [...API_KEY_SCOPES], { admin: true });
    alice = await keyFor(app, 'alice', ['reservations:read', 'reservations:write', 'disks:read']);
  });

  afterAll(() => app.close());

  it('answers a method a path does not take with 405 and the methods it takes in Allow', async () => {
    for (const method of ['trace', 'patch', 'delete', 'options'] as const) {
      const res = await app.http()[method]('/healthz').expect(405);
      expect(res.headers.allow).toBe('GET, HEAD');
      expect(res.body).toMatchObject({ code: 'method_not_allowed', requestId: expect.any(String) });
    }
    await app
      .http()
      .put('/api/v1/reservations/5d1ac4b4-7d5e-4b9b-9f0b-2f6c1f0ad7c1')
      .expect(405)
      .expect('allow', 'GET, HEAD');
    await app.http().patch('/api/v1/keys').expect(405).expect('allow', 'GET, HEAD, POST');
  });

  it('still answers 404 for a path no route has', async () => {
    const res = await app.http().trace('/api/v1/nothing-here').expect(404);
    expect(res.headers.allow).toBeUndefined();
  });

  it('refuses a request without the body its route takes (it was a silent no-op update)', async () => {
    const [cluster] = (await app.http().get('/api/v1/clusters').set(as(admin)).expect(200)).body.items as {
      id: string;
    }[];
    const res = await app.http().put(`/api/v1/clusters/${cluster!.id}`).set(as(admin)).expect(400);
    expect(res.body).toMatchObject({ code: 'validation_failed', fields: [{ field: 'body' }] });
    // An empty JSON object is a body: it changes nothing, as documented.
    await app.http().put(`/api/v1/clusters/${cluster!.id}`).set(as(admin)).send({}).expect(200);
  });

  it('verifies the audit chain against a checkpoint only when one is given', async () => {
    const res = await app.http().post('/api/v1/audit/verify').set(as(admin)).send({}).expect(400);
    expect(res.body.fields).toEqual([{ field: 'checkpoint', problems: expect.any(Array) }]);
  });

  it('refuses a checkpoint row count no JSON number holds exactly', async () => {
    const checkpoint = {
      rows: 2 ** 53,
      last_id: '1',
      head: '0'.repeat(64),
      at: '2026-01-01T00:00:00Z',
      key_id: '0'.repeat(16),
      signature: '0'.repeat(64),
    };
    const res = await app.http().post('/api/v1/audit/verify').set(as(admin)).send({ checkpoint }).expect(400);
    expect(res.body.fields).toEqual([{ field: 'checkpoint.rows', problems: expect.any(Array) }]);
  });

  it('takes every RFC 3339 date-time it documents, years before 100 too', async () => {
    await app
      .http()
      .get('/api/v1/audit')
      .query({ since: '0052-10-07T03:01:16+01:27', until: '2026-01-01T00:00:00.5z' })
      .set(as(admin))
      .expect(200);
    await app.http().get('/api/v1/audit').query({ since: '2023-02-29T00:00:00Z' }).set(as(admin)).expect(400);
  });

  it('takes a null disk for no disk (it was a 500)', async () => {
    const res = await app
      .http()
      .post('/api/v1/reservations')
      .set(as(alice))
      .send({ gpu_type: 'h100', gpu_count: 1, hours: 1, disk: null })
      .expect(202);
    expect(res.body.disk).toBeUndefined();
  });

  it('refuses a deployer URL whose host does not parse with 422 invalid_connection (it was a 500)', async () => {
    // A host outside ASCII or with a bracket fails the schema's own pattern first.
    const cases: [string, number, string][] = [
      ['http://a.1', 422, 'invalid_connection'],
      ['http://gpu:99999', 422, 'invalid_connection'],
      ['http://\u{65b82}ú(', 400, 'validation_failed'],
      ['https://deployer[', 400, 'validation_failed'],
    ];
    for (const [deployerUrl, status, code] of cases) {
      const res = await app
        .http()
        .post('/api/v1/clusters')
        .set(as(admin))
        .send({ name: 'unparsable', deployer_url: deployerUrl })
        .expect(status);
      expect(res.body.code).toBe(code);
    }
  });

  describe('the committed documents', () => {
    const coordinator = committed('openapi.json');
    const deployer = committed('openapi.deployer.json');

    it('document 400 on every operation: input is parsed, screened and validated before any handler', () => {
      for (const document of [coordinator, deployer]) {
        const without = operations(document).filter(([, operation]) => !operation.responses['400']);
        expect(without.map(([name]) => name)).toEqual([]);
      }
    });

    it('document the deployer guard’s 401 on every route behind it', () => {
      const guarded = operations(deployer).filter(([name]) => name.includes(' /api/v1/'));
      expect(guarded.filter(([, operation]) => !operation.responses['401']).map(([name]) => name)).toEqual(
        [],
      );
    });

    it('close request bodies (unknown properties are refused) and let optional fields be null', () => {
      const { CreateReservationDto, ClusterProfile } = coordinator.components.schemas;
      expect(CreateReservationDto!.additionalProperties).toBe(false);
      expect(ClusterProfile!.additionalProperties).toBe(false);
      expect(CreateReservationDto!.properties?.disk).toMatchObject({ nullable: true });
      // The deployment spec's metadata is checked by hand and lets more through.
      expect(deployer.components.schemas.DeploymentMetadataDto!.additionalProperties).toBeUndefined();
    });
  });
});

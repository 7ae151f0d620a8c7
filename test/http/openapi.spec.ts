import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../src/app/version';
import { startTestApp, type TestApp } from '../support/app';

describe('OpenAPI document', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp({ roles: 'coordinator' });
  });

  afterAll(() => app.close());

  it('is served at /openapi.json exactly as committed (run `npm run openapi:sync` after API changes)', async () => {
    const served = await app.http().get('/openapi.json').expect(200);
    const committed = JSON.parse(readFileSync(join(projectRoot(), 'openapi.json'), 'utf8')) as unknown;
    expect(served.body).toEqual(committed);
  });

  it('names its operations (src/app/openapi-document.spec.ts checks them all) and documents the error shape', async () => {
    const { body } = await app.http().get('/openapi.json').expect(200);
    expect(body.paths['/readyz'].get.operationId).toBe('getReadiness');
    expect(body.components.schemas.ErrorResponse.required).toEqual(['code', 'message', 'requestId']);
  });
});

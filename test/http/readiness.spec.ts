import { startTestApp, type TestApp } from '../support/app';
import { createTestDatabase, type TestDatabase } from '../support/database';

describe('readiness', () => {
  let database: TestDatabase;
  let app: TestApp;

  beforeAll(async () => {
    // An empty database and migrations skipped: the replica is alive but must not take traffic.
    database = await createTestDatabase({ empty: true });
    app = await startTestApp({ roles: 'coordinator', database, env: { ODC_DB_SKIP_MIGRATIONS: 'true' } });
  });

  afterAll(async () => {
    await app.close();
    await database.drop();
  });

  it('is alive', async () => {
    await app.http().get('/healthz').expect(200);
  });

  it('is not ready while migrations are pending, and says which check failed', async () => {
    const res = await app.http().get('/readyz').expect(503);
    expect(res.body).toMatchObject({
      code: 'not_ready',
      message: 'Not ready: migrations (migrations are pending)',
      requestId: expect.any(String),
      details: {
        checks: {
          database: { status: 'up' },
          migrations: { status: 'down', message: 'migrations are pending' },
          queue: { status: 'up' },
        },
      },
    });
  });
});

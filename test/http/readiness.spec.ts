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

  it('is alive at /livez and /healthz', async () => {
    await app.http().get('/livez').expect(200, { status: 'ok' });
    await app.http().get('/healthz').expect(200, { status: 'ok' });
  });

  it('is not ready while migrations are pending, and names the failing check without internals', async () => {
    const res = await app.http().get('/readyz').expect(503);
    expect(res.body).toMatchObject({
      code: 'not_ready',
      message: 'Not ready: migrations',
      requestId: expect.any(String),
      details: {
        checks: {
          database: { status: 'up' },
          migrations: { status: 'down' },
          queue: { status: 'up' },
        },
      },
    });
    expect(JSON.stringify(res.body)).not.toContain('pending');
    expect(app.logs.lines.some((line) => JSON.stringify(line).includes('migrations are pending'))).toBe(true);
  });
});

describe('readiness when the database goes away', () => {
  it('reports database and queue down, and the app still shuts down cleanly', async () => {
    const database = await createTestDatabase();
    const app = await startTestApp({ roles: 'coordinator', database });
    await app.http().get('/readyz').expect(200);
    await database.drop(); // terminates every connection and removes the database

    const res = await app.http().get('/readyz').expect(503);
    expect(res.body.code).toBe('not_ready');
    expect(res.body.details.checks.database).toEqual({ status: 'down' });
    expect(res.body.details.checks.queue).toEqual({ status: 'down' });
    expect(JSON.stringify(res.body)).not.toMatch(/127\.0\.0\.1|ECONNREFUSED|does not exist/);
    await app.http().get('/healthz').expect(200);
    await app.close();
  });
});

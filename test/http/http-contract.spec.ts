import { startTestApp, type TestApp } from '../support/app';
import { ProbeModule } from '../support/probe.module';

describe('HTTP contract of the coordinator', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp({
      roles: 'coordinator',
      imports: [ProbeModule],
      env: { ODC_HTTP_BODY_LIMIT: '1kb' },
    });
  });

  afterAll(() => app.close());

  it('answers liveness and readiness with each check', async () => {
    await app.http().get('/healthz').expect(200, { status: 'ok' });
    const ready = await app.http().get('/readyz').expect(200);
    expect(ready.body.details).toMatchObject({
      database: { status: 'up' },
      migrations: { status: 'up' },
      queue: { status: 'up' },
    });
  });

  it('turns malformed JSON into 400 malformed_json with the request id', async () => {
    const res = await app
      .http()
      .post('/probe/echo')
      .set('content-type', 'application/json')
      .send('{"gpu_count": ')
      .expect(400);
    expect(res.body).toEqual({
      code: 'malformed_json',
      message: 'Request body is not valid JSON',
      requestId: res.headers['x-request-id'],
    });
  });

  it('lists each offending field, nested ones with their path', async () => {
    const res = await app
      .http()
      .post('/probe/echo')
      .send({ gpu_count: 9, disk: { name: 3 }, extra: true })
      .expect(400);
    expect(res.body.code).toBe('validation_failed');
    expect(res.body.fields).toEqual(
      expect.arrayContaining([
        { field: 'gpu_count', problems: ['gpu_count must not be greater than 8'] },
        { field: 'disk.name', problems: ['name must be a string'] },
        { field: 'extra', problems: ['property extra should not exist'] },
      ]),
    );
  });

  it('accepts a valid body', async () => {
    await app
      .http()
      .post('/probe/echo')
      .send({ gpu_count: 4, disk: { name: 'work' } })
      .expect(201, { gpu_count: 4, disk: { name: 'work' } });
  });

  it('answers 413 for a body over the limit', async () => {
    const res = await app
      .http()
      .post('/probe/echo')
      .send({ gpu_count: 1, disk: { name: 'x'.repeat(2048) } })
      .expect(413);
    expect(res.body).toMatchObject({ code: 'payload_too_large', message: expect.stringContaining('1kb') });
  });

  it('answers 404 not_found for an unknown route', async () => {
    const res = await app.http().get('/api/v1/nothing-here').expect(404);
    expect(res.body).toMatchObject({ code: 'not_found', requestId: expect.any(String) });
  });

  it('maps a domain error by its code and keeps its details', async () => {
    const res = await app.http().get('/probe/conflict').expect(409);
    expect(res.body).toMatchObject({
      code: 'conflict',
      message: 'Disk "work" is in use',
      details: { disk: 'work' },
    });
  });

  it('turns an unknown error into a 500 that reveals nothing, and logs it with the stack', async () => {
    const res = await app.http().get('/probe/crash').set('x-request-id', 'trace-123').expect(500);
    expect(res.body).toEqual({
      code: 'internal_error',
      message: 'Internal error; quote request id trace-123',
      requestId: 'trace-123',
    });
    expect(JSON.stringify(res.body)).not.toContain('hunter2');
    const logged = app.logs.lines.find(
      (line) => line.requestId === 'trace-123' && line.msg === 'unhandled error',
    );
    expect((logged?.err as { stack?: string })?.stack).toContain('ProbeController.crash');
  });

  it('replaces a malformed X-Request-Id', async () => {
    const res = await app.http().get('/healthz').set('x-request-id', 'bad id with spaces');
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('exposes Prometheus metrics with a request duration histogram by route template', async () => {
    await app.http().get('/probe/conflict');
    const res = await app.http().get('/metrics').expect(200);
    expect(res.headers['content-type']).toContain('text/plain');
    expect(res.text).toContain('odc_process_cpu_seconds_total');
    expect(res.text).toMatch(
      /odc_http_request_duration_seconds_count\{method="GET",route="\/probe\/conflict",status="409"\} \d+/,
    );
    expect(res.text).toMatch(
      /odc_http_request_duration_seconds_count\{method="GET",route="unmatched",status="404"\} \d+/,
    );
  });

  it('serves Swagger UI at /docs from local assets', async () => {
    const page = await app.http().get('/docs').redirects(1).expect(200);
    expect(page.text).toContain('swagger-ui');
    const css = await app.http().get('/docs/swagger-ui.css').expect(200);
    expect(css.text.length).toBeGreaterThan(1000);
  });
});

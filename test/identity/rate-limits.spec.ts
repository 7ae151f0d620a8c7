import { ApiKeysService } from '../../src/auth/api-keys/api-keys.service';
import { UsersService } from '../../src/auth/users/users.service';
import { startTestApp, type TestApp } from '../support/app';

describe('rate limits per client IP', () => {
  let app: TestApp;
  let key: string;

  beforeAll(async () => {
    app = await startTestApp({
      roles: 'coordinator',
      env: { ODC_RATE_LIMIT_LOGIN_PER_MINUTE: '2', ODC_RATE_LIMIT_API_PER_MINUTE: '480' }, // 8 per second
    });
    const user = await app.core().get(UsersService).findOrCreateByUsername('limited');
    key = (
      await app
        .core()
        .get(ApiKeysService)
        .issue(user.id, { name: 'k', scopes: ['keys:write'], origin: 'api' })
    ).key;
  });

  afterAll(() => app.close());

  it('holds key issuing to the login limit and each API route to the API limit: 429 rate_limited with Retry-After', async () => {
    const issue = () =>
      app.http().post('/api/v1/keys').set('authorization', `Bearer ${key}`).send({ name: 'n', scopes: [] });
    await issue().expect(201);
    await issue().expect(201);
    const refused = await issue().expect(429);
    expect(refused.body.code).toBe('rate_limited');
    // The standard header, whichever limit refused (the library would name it Retry-After-login).
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);

    // The API limit counts per route and client IP (@nestjs/throttler's key), per second: 8 calls of /me pass.
    const statuses: number[] = [];
    for (let i = 0; i < 9; i += 1) {
      statuses.push((await app.http().get('/api/v1/me').set('authorization', `Bearer ${key}`)).status);
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 200, 200, 429]);
    // Callers without credentials count as well: the limit comes before authentication.
    await app.http().get('/api/v1/me').expect(429);
    // Probes are never limited.
    await app.http().get('/healthz').expect(200);
  });
});

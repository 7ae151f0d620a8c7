import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DataSource } from 'typeorm';
import { AuditEntry } from '../../src/audit/audit-entry.entity';
import { SESSION_COOKIE } from '../../src/auth/oidc/browser-sessions';
import { UserIdentity } from '../../src/auth/users/user-identity.entity';
import { User } from '../../src/auth/users/user.entity';
import { freePort } from '../../src/infra/os/free-port';
import { startTestApp, type TestApp } from '../support/app';
import { Browser, type Page } from '../support/browser';
import { startOpenIdProvider, type OpenIdProvider } from '../support/openid-provider';

/** What `gpu-dev login` listens with: one request to /callback on 127.0.0.1, recorded. */
async function startCliListener(): Promise<{ port: number; received: Promise<URL>; close(): Promise<void> }> {
  let deliver: (url: URL) => void = () => undefined;
  const received = new Promise<URL>((resolve) => (deliver = resolve));
  const server: Server = createServer((req, res) => {
    deliver(new URL(req.url ?? '/', 'http://127.0.0.1'));
    res.end('Logged in; you can close this tab.');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('OIDC login against a real OpenID Provider (browser session, CLI loopback key)', () => {
  let provider: OpenIdProvider;
  let app: TestApp;
  let site: string;

  beforeAll(async () => {
    const port = await freePort();
    site = `http://127.0.0.1:${port}`;
    provider = await startOpenIdProvider(`${site}/auth/callback`, { root: { groups: ['gpu-admins'] } });
    app = await startTestApp({
      roles: 'coordinator',
      env: {
        ODC_PORT: String(port),
        ODC_TRUST_PROXY_HOPS: '1',
        ODC_OIDC_ISSUER: provider.issuer,
        ODC_OIDC_CLIENT_ID: provider.clientId,
        ODC_OIDC_CLIENT_SECRET: provider.clientSecret,
        ODC_OIDC_REDIRECT_URL: `${site}/auth/callback`,
        ODC_OIDC_SCOPES: 'openid profile email groups',
        ODC_OIDC_ADMIN_GROUPS: 'gpu-admins',
        ODC_SESSION_SECRET: 'a-session-secret-of-at-least-32-characters',
      },
    });
  });

  afterAll(async () => {
    await app.close();
    await provider.close();
  });

  /** Logs in as `login` through the provider's own login and consent pages. */
  async function logIn(
    browser: Browser,
    start: string,
    login: string,
    stopAt?: (url: URL) => boolean,
  ): Promise<Page> {
    const loginPage = await browser.open(start, { stopAt });
    expect(loginPage.url.startsWith(provider.issuer)).toBe(true);
    expect(loginPage.body).toContain('name="login"');
    const consentPage = await browser.submitForm(loginPage, { login, password: 'any' }, { stopAt });
    expect(consentPage.body).toContain('name="prompt" value="consent"');
    return browser.submitForm(consentPage, {}, { stopAt });
  }

  const users = () => app.core().get(DataSource).getRepository(User);
  const identities = () => app.core().get(DataSource).getRepository(UserIdentity);
  const auditRows = (action: string) =>
    app
      .core()
      .get(DataSource)
      .getRepository(AuditEntry)
      .find({ where: { action }, order: { id: 'ASC' } });

  it('a browser login creates the user from the claims and a session the API accepts', async () => {
    const browser = new Browser();
    const landed = await logIn(browser, `${site}/auth/login?return_to=/api/v1/me`, 'alice');

    expect(landed.url).toBe(`${site}/api/v1/me`);
    expect(landed.status).toBe(200);
    expect(JSON.parse(landed.body)).toMatchObject({
      username: 'alice',
      admin: false,
      authenticated_by: 'session',
    });
    const user = await users().findOneByOrFail({ username: 'alice' });
    expect(user).toMatchObject({ email: 'alice@example.com', adminByClaims: false });
    expect(await identities().findBy({ userId: user.id })).toMatchObject([
      { issuer: provider.issuer, subject: 'alice', kind: 'oidc' }, // the provider's account id
    ]);
    expect(user.oidcClaims).toMatchObject({ preferred_username: 'alice', groups: [] });
    expect(user.oidcClaims).not.toHaveProperty('nonce');

    const cookie = landed.setCookies.find((line) => line.startsWith(`${SESSION_COOKIE}=`))!;
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Lax/i);
    expect(cookie).not.toMatch(/Secure/i); // plain http here; see the https test below
    expect((await auditRows('auth.login')).at(-1)).toMatchObject({
      outcome: 'success',
      username: 'alice',
      requestMetadata: { method: 'oidc', flow: 'browser' },
    });
  });

  it('the same person logging in again is the same user; an admin group makes an admin', async () => {
    const first = new Browser();
    await logIn(first, `${site}/auth/login?return_to=/api/v1/me`, 'root');
    const second = await logIn(new Browser(), `${site}/auth/login?return_to=/api/v1/me`, 'root');
    expect(JSON.parse(second.body)).toMatchObject({ username: 'root', admin: true });
    expect(JSON.parse((await first.open(`${site}/api/v1/me`)).body)).toMatchObject({ username: 'root' });
    expect(await users().countBy({ username: 'root' })).toBe(1);
  });

  it('ties an existing user of that name (e.g. from admin:create) to the login; refuses a name another login holds', async () => {
    await users().insert({ username: 'gina', role: 'admin' });
    const gina = await logIn(new Browser(), `${site}/auth/login?return_to=/api/v1/me`, 'gina');
    expect(JSON.parse(gina.body)).toMatchObject({ username: 'gina', admin: true });
    const ginaId = (await users().findOneByOrFail({ username: 'gina' })).id;
    expect(await identities().findBy({ userId: ginaId })).toMatchObject([{ subject: 'gina' }]);

    const frankId = (await users().save({ username: 'frank' })).id;
    await identities().insert({
      userId: frankId,
      issuer: 'https://other-idp.example',
      subject: 'frank',
      kind: 'oidc',
      boundBy: 'first-sight',
    });
    const frank = await logIn(new Browser(), `${site}/auth/login`, 'frank');
    expect([frank.status, JSON.parse(frank.body).code]).toEqual([409, 'conflict']);
    expect((await auditRows('auth.login')).at(-1)).toMatchObject({ outcome: 'denied', userId: null });
  });

  it('a disabled user cannot log in', async () => {
    await users().insert({ username: 'henry', disabled: true });
    const henry = await logIn(new Browser(), `${site}/auth/login`, 'henry');
    expect([henry.status, JSON.parse(henry.body).code]).toEqual([403, 'forbidden']);
  });

  it('the CLI flow hands a working API key to the loopback listener, with the state it sent', async () => {
    const listener = await startCliListener();
    try {
      const state = 'cli-state-0123456789abcdef';
      const done = await logIn(
        new Browser(),
        `${site}/auth/cli?port=${listener.port}&state=${state}`,
        'carol',
      );
      expect(done.url.startsWith(`http://127.0.0.1:${listener.port}/callback?`)).toBe(true);
      const callback = await listener.received;
      expect(callback.searchParams.get('state')).toBe(state);
      const key = callback.searchParams.get('key')!;
      expect(key).toMatch(/^odc_/);

      const me = await app.http().get('/api/v1/me').set('authorization', `Bearer ${key}`).expect(200);
      expect(me.body).toMatchObject({ username: 'carol', authenticated_by: 'api_key' });
      expect(me.body.scopes).toEqual([
        'reservations:read',
        'reservations:write',
        'disks:read',
        'disks:write',
        'ssh-keys:write',
        'keys:write',
      ]);
      // The CLI flow leaves no browser session behind.
      expect((await auditRows('api_key.create')).at(-1)).toMatchObject({
        username: 'carol',
        requestMetadata: { origin: 'cli-login' },
      });
    } finally {
      await listener.close();
    }
  });

  it('refuses CLI targets that are not a loopback port with a state, and return_to off this site', async () => {
    for (const query of [
      'port=80&state=cli-state-0123456789abcdef',
      'port=50000&state=short',
      'port=50000',
    ]) {
      const res = await app.http().get(`/auth/cli?${query}`).expect(400);
      expect(res.body.code).toBe('validation_failed');
    }
    for (const target of ['//evil.example', '/\\evil.example', 'https://evil.example/']) {
      const res = await app
        .http()
        .get(`/auth/login?return_to=${encodeURIComponent(target)}`)
        .expect(400);
      expect(res.body.code).toBe('validation_failed');
    }
  });

  it('a callback the browser did not start (no matching state) is refused and audited', async () => {
    const res = await app.http().get('/auth/callback?code=made-up&state=made-up');
    expect([401, 403]).toContain(res.status);
    expect(res.body.message).toMatch(/state/i);
    expect((await auditRows('auth.login')).at(-1)).toMatchObject({ outcome: 'denied', userId: null });
  });

  it('an aborted login at the provider ends in a 401, not a session', async () => {
    const browser = new Browser();
    const loginPage = await browser.open(`${site}/auth/login`);
    const abortUrl = /href="([^"]*\/abort)"/.exec(loginPage.body)?.[1];
    expect(abortUrl).toBeDefined();
    const back = await browser.open(new URL(abortUrl!.replace(/&amp;/g, '&'), loginPage.url).href);
    expect(back.url.startsWith(`${site}/auth/callback?`)).toBe(true);
    expect(back.status).toBe(401);
    expect(JSON.parse(back.body).code).toBe('unauthorized');
    expect(browser.cookie('127.0.0.1', SESSION_COOKIE)).toBeDefined(); // the pre-login one…
    expect((await browser.open(`${site}/api/v1/me`)).status).toBe(401); // …is not logged in
  });

  it('a session cannot change anything from another site (CSRF), but can from this one; logout ends it', async () => {
    const browser = new Browser();
    await logIn(browser, `${site}/auth/login?return_to=/api/v1/me`, 'dave');
    const createKey = (origin?: string) =>
      browser.open(`${site}/api/v1/keys`, {
        init: {
          method: 'POST',
          body: JSON.stringify({ name: 'from the browser', scopes: [] }),
          headers: { 'content-type': 'application/json', ...(origin ? { origin } : {}) },
        },
      });
    expect((await createKey('https://evil.example')).status).toBe(401);
    expect((await createKey()).status).toBe(401);
    expect((await createKey(site)).status).toBe(201);
    // A session acts with a login's scopes, not everything: recording usage is for services.
    const usage = await browser.open(`${site}/api/v1/audit/usage`, {
      init: {
        method: 'POST',
        body: JSON.stringify({ bedrock_request_id: 'br-1', tokens_used: 1 }),
        headers: { 'content-type': 'application/json', origin: site },
      },
    });
    expect(usage.status).toBe(403);
    expect(JSON.parse((await browser.open(`${site}/api/v1/me`)).body).scopes).toEqual([
      'reservations:read',
      'reservations:write',
      'disks:read',
      'disks:write',
      'ssh-keys:write',
      'keys:write',
    ]);

    const logout = await browser.open(`${site}/auth/logout`, {
      init: { method: 'POST', headers: { origin: site } },
    });
    expect(logout.status).toBe(204);
    expect((await browser.open(`${site}/api/v1/me`)).status).toBe(401);
  });

  it('behind an https proxy (ODC_TRUST_PROXY_HOPS) the session cookie is Secure', async () => {
    const res = await app.http().get('/auth/login').set('x-forwarded-proto', 'https').expect(302);
    const cookie = (res.headers['set-cookie'] as unknown as string[]).find((c) =>
      c.startsWith(`${SESSION_COOKIE}=`),
    );
    expect(cookie).toMatch(/; Secure/i);
    expect(res.headers.location).toMatch(new RegExp(`^${provider.issuer}/auth\\?`));
    const authorize = new URL(res.headers.location!);
    expect(authorize.searchParams.get('state')).toBeTruthy();
    expect(authorize.searchParams.get('nonce')).toBeTruthy();
    expect(authorize.searchParams.get('scope')).toBe('openid profile email groups');
  });

  it('writes no client secret, session cookie or issued key into the logs', async () => {
    const browser = new Browser();
    await logIn(browser, `${site}/auth/login?return_to=/api/v1/me`, 'erin');
    const sessionCookie = browser.cookie('127.0.0.1', SESSION_COOKIE)!;
    const logged = JSON.stringify(app.logs.lines);
    expect(logged).toContain('/auth/callback'); // the requests were logged…
    expect(logged).not.toContain(provider.clientSecret); // …and none of these
    expect(logged).not.toContain(decodeURIComponent(sessionCookie).split('.')[0]!.slice(2));
    expect(logged).not.toMatch(/odc_[A-Za-z0-9]+_[A-Za-z0-9_-]{8,}/);
    expect(logged).toContain('/auth/callback?code=[redacted]&state=[redacted]');
    expect(logged).not.toMatch(/[?&](code|state|key)=(?!\[redacted\])/);
  });
});

describe('OIDC login while the OpenID Provider cannot be reached', () => {
  it('answers 503 not_ready, and works once the provider is up (discovery is retried)', async () => {
    const port = await freePort();
    const site = `http://127.0.0.1:${port}`;
    const idpPort = await freePort();
    const app = await startTestApp({
      roles: 'coordinator',
      env: {
        ODC_PORT: String(port),
        ODC_OIDC_ISSUER: `http://127.0.0.1:${idpPort}`,
        ODC_OIDC_CLIENT_ID: 'odc',
        ODC_OIDC_CLIENT_SECRET: 'unused',
        ODC_OIDC_REDIRECT_URL: `${site}/auth/callback`,
      },
    });
    try {
      const res = await app.http().get('/auth/login').expect(503);
      expect(res.body.code).toBe('not_ready');
      const provider = await startOpenIdProvider(`${site}/auth/callback`, {}, idpPort);
      try {
        await app.http().get('/auth/login').expect(302);
      } finally {
        await provider.close();
      }
    } finally {
      await app.close();
    }
  });
});

import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { registerDeployer, startDeployer, type DeployerUnderTest } from '../deployer/fixtures';
import { FAST_CONTROL_PLANE_ENV, startTestApp, type TestApp } from '../support/app';
import { FAST_TIMINGS, h100Pool } from '../support/simulator';
import { keyFor } from '../support/users';

/** The peer tier's setup installs it (scripts/tools/chromium.sh) and names it in CHROMIUM_PATH. */
function chromiumPath(): string {
  const path = process.env.CHROMIUM_PATH;
  if (!path || !existsSync(path)) {
    throw new Error(
      `no Chromium at ${path ?? '(CHROMIUM_PATH unset)'}: run this spec with npm run test:peers`,
    );
  }
  return path;
}

/**
 * Swagger UI as a newcomer uses it, in a real browser: Authorize with an API key, then "Try it
 * out" → Execute with the examples the document offers, against a platform with a simulated H100
 * cluster. Every answer must be a success: an example that fails teaches the wrong thing.
 */
describe('Swagger UI at /docs', () => {
  let deployer: DeployerUnderTest;
  let app: TestApp;
  let browser: Browser;
  let page: Page;
  let key: string;

  beforeAll(async () => {
    deployer = await startDeployer({ cluster: { nodePools: [h100Pool(1)], timings: FAST_TIMINGS } });
    app = await startTestApp({ roles: 'coordinator,worker,cron', env: FAST_CONTROL_PLANE_ENV });
    const admin = await keyFor(app, 'ops', ['clusters:admin'], { admin: true });
    await registerDeployer(app, admin, deployer, {
      name: 'sim',
      gpuType: 'h100',
      product: 'NVIDIA-H100-80GB-HBM3',
    });
    key = await keyFor(app, 'alice', ['reservations:read', 'reservations:write']);
    browser = await chromium.launch({
      executablePath: chromiumPath(),
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
      ],
    });
    page = await browser.newPage();
    // Well inside the test's own time, so a missing element fails with its selector.
    page.setDefaultTimeout(10_000);
    const apiUrl = app.runtime.listeners.find((listener) => listener.name === 'api')!.url;
    await page.goto(`${apiUrl}/docs`);
  });

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await deployer?.close();
  });

  /** Expands an operation, presses "Try it out" then Execute, and reads the answer's status. */
  async function tryItOut(tag: string, operationId: string): Promise<{ status: number; body: string }> {
    const operation = page.locator(`#operations-${tag}-${operationId}`);
    if (!(await operation.locator('.try-out__btn').isVisible())) {
      await operation.locator('.opblock-summary').first().click();
    }
    await operation.locator('.try-out__btn').click();
    await operation.locator('button.execute').click();
    const answer = operation.locator('.live-responses-table .response').first();
    const status = await answer.locator('.response-col_status').innerText();
    const body = await answer.locator('.response-col_description pre').first().innerText();
    return { status: Number(status.trim()), body };
  }

  it('takes an API key in Authorize, and GET /api/v1/me answers with it', async () => {
    await page.locator('.btn.authorize.unlocked').waitFor();
    await page.locator('.btn.authorize').click();
    await page.locator('input[aria-label="auth-bearer-value"]').fill(key);
    await page.locator('.auth-btn-wrapper button.authorize').click();
    await page.locator('.auth-btn-wrapper button.btn-done').click();

    const me = await tryItOut('me', 'getMe');
    expect(me.status).toBe(200);
    expect(JSON.parse(me.body)).toMatchObject({ username: 'alice' });
  });

  it("reserves with POST /api/v1/reservations' default example", async () => {
    const reserved = await tryItOut('reservations', 'createReservation');
    expect(reserved).toMatchObject({ status: 202 }); // the body, if not, says why
    expect(JSON.parse(reserved.body)).toMatchObject({ owner: 'alice', gpu_type: 'h100', gpu_count: 1 });
  });

  it("shows an operation's errors with their real codes, not one example for every status", async () => {
    const operation = page.locator('#operations-me-getMe');
    const unauthorized = operation.locator('.responses-table tr.response[data-code="401"]');
    await expect(unauthorized.locator('.example, .microlight').first().innerText()).resolves.toContain(
      '"code": "no_credentials"',
    );
    const choices = await unauthorized.locator('select.examples-select-element option').allInnerTexts();
    expect(choices).toEqual(['no_credentials', 'unknown_key', 'key_expired', 'key_revoked', 'user_disabled']);
  });

  it('keeps the authorization across a reload of the page', async () => {
    await page.reload();
    // Locked: Swagger UI holds a credential, read back from the browser's storage.
    await page.locator('.btn.authorize.locked').waitFor();
    const me = await tryItOut('me', 'getMe');
    expect(me.status).toBe(200);
  });
});

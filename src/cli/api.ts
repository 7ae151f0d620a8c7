/**
 * The ODC REST API as the CLI calls it: JSON in and out, the API key as a bearer token, and every
 * refusal turned into a CliError carrying the server's `code` and message (401 → exit 3).
 */
import { CliError, ExitCode, notAuthenticated } from './errors';
import { CLI_VERSION } from './version';

const TIMEOUT_MS = 30_000;

/** The server's 401 codes whose message already says what to do (docs/errors.md, "Authentication"). */
const SELF_EXPLAINED = new Set([
  'no_credentials',
  'unknown_key',
  'key_expired',
  'key_revoked',
  'user_disabled',
]);

/** How one call is made. */
export interface CallOptions {
  /**
   * Send no API key, even one that is set, and do not require one: only for the endpoints of
   * logging in (`/api/v1/auth/…`). A stale saved key is not sent where it is not needed.
   */
  anonymous?: boolean;
}

interface ErrorBody {
  code?: string;
  message?: string;
  fields?: { field: string; problems: string[] }[];
}

export class OdcApi {
  constructor(
    readonly baseUrl: string,
    private readonly apiKey?: string,
  ) {}

  get<T>(path: string, options: CallOptions = {}): Promise<T> {
    return this.call<T>('GET', path, undefined, {}, options);
  }

  post<T>(
    path: string,
    body?: object,
    headers: Record<string, string> = {},
    options: CallOptions = {},
  ): Promise<T> {
    return this.call<T>('POST', path, body, headers, options);
  }

  put<T>(path: string, body: object): Promise<T> {
    return this.call<T>('PUT', path, body);
  }

  delete<T>(path: string): Promise<T> {
    return this.call<T>('DELETE', path);
  }

  private async call<T>(
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    path: string,
    body?: object,
    headers: Record<string, string> = {},
    options: CallOptions = {},
  ): Promise<T> {
    const apiKey = options.anonymous ? undefined : this.apiKey;
    if (!apiKey && !options.anonymous && path.startsWith('/api/')) {
      throw notAuthenticated('No API key');
    }
    let response: Response;
    let text: string;
    try {
      // The runtime's own fetch: the CLI runs on the Node its users have (20 and later), with no
      // HTTP client of its own to need a newer one.
      response = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers: {
          accept: 'application/json',
          'user-agent': 'gpu-dev',
          ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}),
          ...(body ? { 'content-type': 'application/json' } : {}),
          ...headers,
        },
        ...(body ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
      text = await response.text();
    } catch (error) {
      throw new CliError(
        `Cannot reach ${this.baseUrl}: ${whyUnreachable(error)} (check the URL with gpu-dev config show)`,
        ExitCode.Failure,
        'unreachable',
      );
    }
    warnIfServerDiffers(this.baseUrl, response.headers.get('x-odc-version'));
    const parsed = parseJson(text);
    if (response.ok) {
      return parsed as T;
    }
    const problem = (parsed ?? {}) as ErrorBody;
    const message = problem.message ?? `the server answered ${response.status}`;
    if (response.status === 401) {
      // These refusals name their own fix (key_expired: "get a new one with gpu-dev login").
      throw problem.code && SELF_EXPLAINED.has(problem.code) && problem.message
        ? new CliError(problem.message, ExitCode.NotAuthenticated, problem.code)
        : notAuthenticated(message.replace(/\.$/, ''));
    }
    const fields = (problem.fields ?? []).flatMap((f) => f.problems).join('; ');
    throw new CliError(
      `${problem.code ?? response.status}: ${message}${fields ? ` (${fields})` : ''}`,
      ExitCode.Failure,
      problem.code,
    );
  }
}

function parseJson(text: string): unknown {
  if (text === '') {
    return undefined;
  }
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** fetch says only "fetch failed"; the reason is its cause (a refused connection, a bad host name). */
/** Why a call got no answer: a timeout, or the system's code (ECONNREFUSED, ENOTFOUND, …). */
export function whyUnreachable(error: unknown): string {
  if (error instanceof Error && error.name === 'TimeoutError') {
    return `no answer within ${TIMEOUT_MS / 1000} s`;
  }
  const cause =
    error instanceof Error ? (error.cause as { code?: string; message?: string } | undefined) : undefined;
  return cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
}

let versionChecked = false;

/**
 * Once per run: a CLI of another version than its server may send what the server no longer takes,
 * or miss what it added. The server says its version on every answer; the fix is one command.
 */
function warnIfServerDiffers(baseUrl: string, serverVersion: string | null): void {
  if (versionChecked || !serverVersion || serverVersion === CLI_VERSION || CLI_VERSION === 'unknown') {
    return;
  }
  versionChecked = true;
  process.stderr.write(
    `warning: gpu-dev ${CLI_VERSION} talks to ODC ${serverVersion}; get the server's CLI with: curl -fsSL ${baseUrl}/cli/install.sh | sh\n`,
  );
}

/** setup, login, logout, whoami, config: who the CLI is and which ODC it talks to. */
import type { Command } from 'commander';
import type { MeDto } from '../../auth/dto/api-key.dto';
import type { LoginMethodsDto } from '../../auth/dto/login-methods.dto';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { OdcApi } from '../api';
import { awsLoginKey, DEFAULT_STS_ENDPOINT } from '../aws-login';
import { configPath, SETTABLE_KEYS, stsEndpointFromEnv, updateConfig, type SettableKey } from '../config';
import { contextOf, usage } from '../context';
import { CliError, ExitCode } from '../errors';
import { colors } from '../output';
import { offerSshKey } from './ssh-keys';
import { ask, askSecret } from '../prompt';

interface LoginOptions {
  key?: string | boolean;
  browser: boolean;
  aws?: boolean;
  stsEndpoint?: string;
}

const LOGIN_TIMEOUT_MS = 5 * 60_000;

export function registerAccountCommands(program: Command): void {
  program
    .command('setup')
    .description('Point the CLI at an ODC server (saved in the config file)')
    .argument('[url]', 'the server, e.g. https://odc.example.com')
    .action(async (url: string | undefined, _options: object, command: Command) => {
      const { out } = contextOf(command);
      const target = (url ?? (await ask('ODC server URL: '))).trim().replace(/\/+$/, '');
      if (!/^https?:\/\/[^\s/]+/.test(target)) {
        throw usage(`Not an http(s) URL: ${target || '(empty)'}`);
      }
      const api = new OdcApi(target);
      await api.get('/healthz');
      const methods = await loginMethods(api);
      updateConfig((config) => ({ ...config, api_url: target }));
      out.data({ api_url: target, config: configPath(), login_methods: methods.methods }, () => {
        out.line(`Using ${target} (saved in ${configPath()}).`);
        out.line(`Next: ${nextLoginStep(methods)}`);
      });
    });

  program
    .command('login')
    .description('Log in: through your browser (default), with an API key you paste, or with AWS')
    .option('--key [key]', 'an API key (read from standard input when not given here)')
    .option('--no-browser', 'print the login URL instead of opening a browser')
    .option('--aws', 'with your AWS credentials (the standard chain: AWS_PROFILE, AWS_ACCESS_KEY_ID, …)')
    .option(
      '--sts-endpoint <url>',
      `with --aws: the STS endpoint to sign for (else ODC_AWS_STS_ENDPOINT, else ${DEFAULT_STS_ENDPOINT})`,
    )
    .action(async (options: LoginOptions, command: Command) => {
      // Before anything else: a wrong combination is a usage error whatever the settings.
      if (options.aws && options.key !== undefined) {
        throw usage('--aws and --key are two ways to log in: use one');
      }
      if (options.stsEndpoint !== undefined && !options.aws) {
        throw usage('--sts-endpoint goes with --aws');
      }
      const context = contextOf(command);
      const api = context.api();
      const key = options.aws
        ? await awsLoginKey(api, options.stsEndpoint ?? stsEndpointFromEnv())
        : options.key === undefined
          ? await loginTheWayOffered(api, options.browser)
          : typeof options.key === 'string'
            ? options.key
            : await askSecret('API key: ');
      if (!key.trim()) {
        throw usage('An empty API key');
      }
      const loggedIn = new OdcApi(api.baseUrl, key.trim());
      const me = await loggedIn.get<MeDto>('/api/v1/me');
      updateConfig((config) => ({ ...config, api_url: api.baseUrl, api_key: key.trim() }));
      context.out.data({ username: me.username, admin: me.admin, scopes: me.scopes }, () =>
        context.out.line(`Logged in to ${api.baseUrl} as ${colors.bold(me.username)}.`),
      );
      if (me.ssh_keys.length === 0) {
        await offerSshKey(loggedIn);
      }
    });

  program
    .command('logout')
    .description('Forget the API key saved in the config file')
    .action((_options: object, command: Command) => {
      const { out } = contextOf(command);
      updateConfig(({ api_key: _key, ...rest }) => rest);
      out.data({ logged_out: true }, () =>
        out.line('Logged out (the key is forgotten here; gpu-dev keys revoke <id> ends it everywhere).'),
      );
    });

  program
    .command('whoami')
    .description('Who the server says you are')
    .action(async (_options: object, command: Command) => {
      const { out, api } = contextOf(command);
      const me = await api().get<MeDto>('/api/v1/me');
      out.data(me, () => {
        out.line(
          `${colors.bold(me.username)}${me.email ? ` <${me.email}>` : ''}${me.admin ? ' (admin)' : ''}`,
        );
        out.line(`authenticated by ${me.authenticated_by}; scopes: ${me.scopes.join(', ') || 'none'}`);
        out.line(`SSH keys: ${me.ssh_keys.length}`);
      });
    });

  const config = program.command('config').description('Show or change the CLI settings');
  config
    .command('show')
    .description('The settings in force and where each comes from (never the key itself)')
    .action((_options: object, command: Command) => {
      const { out, settings } = contextOf(command);
      const shown = {
        config_file: configPath(),
        api_url: settings.apiUrl ?? null,
        api_url_from: settings.sources.apiUrl,
        api_key: settings.apiKey ? maskKey(settings.apiKey) : null,
        api_key_from: settings.sources.apiKey,
      };
      out.data(shown, () => {
        out.line(`config file: ${shown.config_file}`);
        out.line(`api_url:     ${shown.api_url ?? '(not set)'}  [${shown.api_url_from}]`);
        out.line(`api_key:     ${shown.api_key ?? '(not set)'}  [${shown.api_key_from}]`);
      });
    });
  config
    .command('set')
    .description(`Set one of ${SETTABLE_KEYS.join(', ')}`)
    .argument('<key>', SETTABLE_KEYS.join(' | '))
    .argument('<value>')
    .action((key: string, value: string, _options: object, command: Command) => {
      const { out } = contextOf(command);
      if (!(SETTABLE_KEYS as readonly string[]).includes(key)) {
        throw usage(`Unknown setting ${key}; one of ${SETTABLE_KEYS.join(', ')}`);
      }
      updateConfig((current) => ({ ...current, [key as SettableKey]: value.trim() }));
      out.data({ [key]: key === 'api_key' ? maskKey(value) : value }, () => out.line(`${key} saved.`));
    });
}

/** What the server offers; a server from before the question existed offered the browser login. */
async function loginMethods(api: OdcApi): Promise<LoginMethodsDto> {
  try {
    return await api.get<LoginMethodsDto>('/api/v1/auth/methods', { anonymous: true });
  } catch (error) {
    if (error instanceof CliError && error.code === 'not_found') {
      return { methods: ['oidc', 'api_key'], api_key_help: 'Ask an admin of this server for an API key.' };
    }
    throw error;
  }
}

function nextLoginStep(offered: LoginMethodsDto): string {
  if (offered.methods.includes('oidc')) {
    return 'gpu-dev login   (in your browser)';
  }
  const aws = offered.methods.includes('aws') ? ', or gpu-dev login --aws with your AWS credentials' : '';
  return `gpu-dev login --key   (this server has no browser login${aws}). No key yet? ${offered.api_key_help}`;
}

/**
 * A login without a flag: the browser where the server offers it; else an API key, asked for on a
 * terminal after saying where one comes from, or refused with that explanation when no one can
 * type it (a script must say --key).
 */
async function loginTheWayOffered(api: OdcApi, openBrowser: boolean): Promise<string> {
  const offered = await loginMethods(api);
  if (offered.methods.includes('oidc')) {
    return browserLogin(api.baseUrl, openBrowser, (line) => process.stderr.write(`${line}\n`));
  }
  const how = nextLoginStep(offered);
  if (!process.stdin.isTTY) {
    throw usage(`Log in with ${how}`);
  }
  process.stderr.write(`This server logs in with an API key. ${offered.api_key_help}\n`);
  return askSecret('API key: ');
}

/** An ODC key's non-secret part (`odc_<prefix>_`, as the server lists keys); nothing of another. */
function maskKey(key: string): string {
  return /^odc_[a-z0-9]{12}_/.exec(key)?.[0].concat('…') ?? '(set)';
}

/**
 * The browser login: a one-time listener on 127.0.0.1, the server's /auth/cli sends the browser
 * back to it with a new key and the state this CLI made up (checked, so no other page can plant a
 * key).
 */
async function browserLogin(
  baseUrl: string,
  openBrowser: boolean,
  say: (line: string) => void,
): Promise<string> {
  const state = randomBytes(16).toString('hex');
  let settle: { resolve(key: string): void; reject(error: Error): void } | undefined;
  const received = new Promise<string>((resolve, reject) => (settle = { resolve, reject }));
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname !== '/callback') {
      res.writeHead(404).end();
      return;
    }
    const key = url.searchParams.get('key');
    if (url.searchParams.get('state') !== state || !key) {
      res.writeHead(400, { 'content-type': 'text/plain' }).end('This login did not come from this gpu-dev.');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain' }).end('gpu-dev is logged in. You can close this tab.');
    settle!.resolve(key);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const loginUrl = `${baseUrl}/auth/cli?port=${port}&state=${state}`;
  say(`Log in at: ${loginUrl}`);
  if (openBrowser) {
    openInBrowser(loginUrl);
  }
  const timer = setTimeout(
    () => settle!.reject(new CliError('No login within 5 minutes', ExitCode.NotAuthenticated)),
    LOGIN_TIMEOUT_MS,
  );
  try {
    return await received;
  } finally {
    clearTimeout(timer);
    server.close();
  }
}

function openInBrowser(url: string): void {
  const [command, args] =
    process.platform === 'darwin'
      ? ['open', [url]]
      : process.platform === 'win32'
        ? ['cmd', ['/c', 'start', '', url]]
        : ['xdg-open', [url]];
  try {
    spawn(command, args, { detached: true, stdio: 'ignore' })
      .on('error', () => undefined)
      .unref();
  } catch {
    // No browser here: the URL is printed.
  }
}

/**
 * The deployer behind API Gateway: REST API (payload v1) and HTTP API (payload v2) events go
 * through @codegenie/serverless-express into the very express app the deployer listener serves,
 * so routes, the bearer-token guard, validation and error bodies are the same as over HTTP.
 */
import { configure } from '@codegenie/serverless-express';
import type {
  APIGatewayProxyEvent,
  APIGatewayProxyEventV2,
  APIGatewayProxyResult,
  APIGatewayProxyStructuredResultV2,
  Context,
} from 'aws-lambda';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { createDeployerApp } from './nest-app';
import { parseRoles } from './roles';
import { readEnvironment, type EnvSource } from '../infra/config/environment';
import { ConfigError } from '../infra/config/load-config';
import { loadAppConfig, type AppConfig } from './config';
import { resolveLambdaKubeAccess, type AwsOptions } from '../deployer/lambda/kube-credentials';

export type ApiGatewayEvent = APIGatewayProxyEvent | APIGatewayProxyEventV2;
export type ApiGatewayResult = APIGatewayProxyResult | APIGatewayProxyStructuredResultV2;

export interface LambdaSetup {
  config: AppConfig;
  logger: Logger;
  aws?: AwsOptions;
}

export interface DeployerLambda {
  (event: ApiGatewayEvent, context: Context): Promise<ApiGatewayResult>;
  /** Closes the app (tests; a Lambda container is simply frozen and dropped). */
  close(): Promise<void>;
}

function onlyDeployer(roles: string): boolean {
  try {
    return [...parseRoles(roles)].every((role) => role === 'deployer');
  } catch {
    return false; // unknown role names
  }
}

/**
 * The configuration of the Lambda entry: the environment as everywhere else, but it runs the
 * deployer alone, defaults to production, and, being reachable by anyone who can reach API
 * Gateway, needs the bearer token unless API Gateway authenticates callers itself.
 */
export function loadLambdaConfig(env: EnvSource = readEnvironment()): AppConfig {
  // Loaded as the deployer whatever ODC_ROLES says, so another role's needs (a database) cannot
  // hide the real problem. It binds no address, so the loopback Host rule has nothing to go by:
  // API Gateway (its domain and stage) decides which hosts reach it, unless hosts are configured.
  const config = loadAppConfig({
    NODE_ENV: 'production',
    ...env,
    ODC_DEPLOYER_ALLOWED_HOSTS: env.ODC_DEPLOYER_ALLOWED_HOSTS || '*',
    ODC_ROLES: 'deployer',
  });
  const problems: string[] = [];
  if (env.ODC_ROLES !== undefined && !onlyDeployer(env.ODC_ROLES)) {
    problems.push(`ODC_ROLES: the Lambda entry runs the deployer alone (got "${env.ODC_ROLES}")`);
  }
  if (config.ODC_DEPLOYER_CLIENT_CA || config.ODC_DEPLOYER_ALLOWED_CLIENT_CNS) {
    problems.push(
      'ODC_DEPLOYER_CLIENT_CA / ODC_DEPLOYER_ALLOWED_CLIENT_CNS: a Lambda sees no client certificate; ' +
        'require mTLS on the API Gateway custom domain instead',
    );
  }
  if (!config.ODC_DEPLOYER_TOKEN && !config.ODC_DEPLOYER_INSECURE) {
    problems.push(
      'ODC_DEPLOYER_TOKEN: required behind API Gateway (or ODC_DEPLOYER_INSECURE=true when API Gateway ' +
        'itself authenticates the coordinator, e.g. with IAM authorization)',
    );
  }
  if (problems.length > 0) {
    throw new ConfigError(problems);
  }
  return config;
}

function hasHeader(headers: Record<string, unknown> | null | undefined, name: string): boolean {
  return Object.keys(headers ?? {}).some((key) => key.toLowerCase() === name);
}

/**
 * Two small fixes before the adapter reads the event: the Lambda request id becomes the request id
 * (in error bodies and logs) unless the caller sent one; a v1 event with only
 * `queryStringParameters` (a hand-written test event) keeps its query, as the adapter reads only
 * `multiValueQueryStringParameters`.
 */
function prepareEvent(event: ApiGatewayEvent, context: Context): ApiGatewayEvent {
  const requestId = context.awsRequestId;
  if ('version' in event && event.version === '2.0') {
    return hasHeader(event.headers, 'x-request-id')
      ? event
      : { ...event, headers: { ...event.headers, 'x-request-id': requestId } };
  }
  const v1 = event as APIGatewayProxyEvent;
  const withId = !hasHeader(v1.headers, 'x-request-id') && !hasHeader(v1.multiValueHeaders, 'x-request-id');
  const single = v1.queryStringParameters;
  return {
    ...v1,
    headers: withId ? { ...v1.headers, 'x-request-id': requestId } : v1.headers,
    multiValueHeaders:
      withId && v1.multiValueHeaders
        ? { ...v1.multiValueHeaders, 'x-request-id': [requestId] }
        : v1.multiValueHeaders,
    multiValueQueryStringParameters:
      v1.multiValueQueryStringParameters ??
      (single
        ? Object.fromEntries(
            Object.entries(single).flatMap(([key, value]) => (value === undefined ? [] : [[key, [value]]])),
          )
        : null),
  };
}

type AdapterOptions = Parameters<typeof configure>[0];
type AdapterLog = NonNullable<AdapterOptions['log']>;

/** The adapter's own log lines: errors only (its debug lines print whole events, tokens included). */
function adapterLog(logger: Logger): AdapterLog {
  const log = logger.child({ context: 'serverless-express' });
  const quiet = () => undefined;
  return {
    debug: quiet,
    verbose: quiet,
    info: quiet,
    warn: (message: string) => log.warn(message),
    error: (message: string, ...additional: unknown[]) => log.error({ err: additional[0] }, message),
  };
}

/**
 * Express, driven as the adapter does it, with one fix: the adapter's stand-in socket calls write
 * callbacks at once, so a response emitted 'finish' before it counted as ended and every request
 * was logged as "request aborted". A real socket calls back later; so does this one now.
 */
function expressFramework(app: RequestListener): NonNullable<AdapterOptions['framework']> {
  return {
    sendRequest: ({ request, response }: { request: IncomingMessage; response: ServerResponse }) => {
      const socket = response.socket as unknown as {
        write(data: unknown, encoding?: unknown, callback?: unknown): boolean;
      };
      const write = socket.write.bind(socket);
      socket.write = (data, encoding, callback) => {
        const done = typeof encoding === 'function' ? encoding : callback;
        return write(
          data,
          typeof encoding === 'function' ? undefined : encoding,
          typeof done === 'function' ? () => process.nextTick(done) : undefined,
        );
      };
      app(request, response);
    },
  };
}

interface Booted {
  proxy(event: ApiGatewayEvent, context: Context): Promise<ApiGatewayResult>;
  close(): Promise<void>;
}

async function boot({ config, logger, aws }: LambdaSetup): Promise<Booted> {
  const kube = await resolveLambdaKubeAccess(config, logger, aws).catch((error: unknown) => {
    logger.error({ err: error }, 'deployer Lambda cannot reach its Kubernetes configuration');
    throw error;
  });
  try {
    const app = await createDeployerApp(config, logger, kube.kubeConfig);
    await app.init();
    const express = app.getHttpAdapter().getInstance() as RequestListener;
    const handle = configure({
      app: express,
      framework: expressFramework(express),
      log: adapterLog(logger),
      binarySettings: { isBinary: false }, // the deployer answers JSON and plain-text logs only
      respondWithErrors: false,
    });
    logger.info({ kubeSource: kube.source }, `deployer Lambda ready; Kubernetes from ${kube.source}`);
    return {
      // The adapter's type is the callback-style Handler; its implementation is async and ignores a callback.
      proxy: (event, context) => handle(event, context, () => undefined) as Promise<ApiGatewayResult>,
      close: async () => {
        await app.close();
        await kube.close();
      },
    };
  } catch (error) {
    logger.error({ err: error }, 'deployer Lambda failed to start');
    await kube.close();
    throw error;
  }
}

/**
 * The handler: the first invocation of a container builds the app (setup runs once, so the
 * configuration is validated once), later ones reuse it. A failed start is not kept: the next
 * invocation tries again.
 */
export function createDeployerLambda(setup: () => LambdaSetup | Promise<LambdaSetup>): DeployerLambda {
  let booting: Promise<Booted> | undefined;
  const start = (): Promise<Booted> => {
    if (!booting) {
      const attempt = Promise.resolve().then(setup).then(boot);
      booting = attempt;
      attempt.catch(() => {
        if (booting === attempt) {
          booting = undefined;
        }
      });
    }
    return booting;
  };
  const handler = async (event: ApiGatewayEvent, context: Context): Promise<ApiGatewayResult> => {
    const app = await start();
    return app.proxy(prepareEvent(event, context), context);
  };
  return Object.assign(handler, {
    close: async () => {
      const current = booting;
      booting = undefined;
      await (await current?.catch(() => undefined))?.close();
    },
  });
}

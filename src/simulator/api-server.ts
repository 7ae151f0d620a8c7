/**
 * A Kubernetes API server over plain node:http, for tests, demos and benchmarks: the real REST
 * paths, discovery, Status errors, resourceVersion semantics, patches (merge, strategic, JSON,
 * server-side apply), watches and cascading deletes, on an in-memory store. Requests without
 * credentials act as the cluster admin; service-account bearer tokens are held to RBAC.
 *
 * This file is the server and its routing: what each path and method is answered by lives in
 * discovery.ts, reads.ts, writes.ts, deletes.ts, watch.ts, logs.ts and token-requests.ts.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RequestAccess } from './access';
import { resourceType, type ApiServerState, type Query, type Route } from './api-context';
import { NO_FAULTS, type SimulatorFaults } from './config';
import { remove } from './deletes';
import { discoveryDocument } from './discovery';
import { GarbageCollector } from './garbage-collector';
import { podLog, type PodLogs } from './logs';
import { isWatchRequest, requestAttributes, type AuthorizationRecord } from './rbac';
import { read } from './reads';
import { decodeBody, readBody } from './request-body';
import { findType, servedSubresource, type ResourceType, type Subresource } from './resources';
import { SelectorError } from './selectors';
import { ServiceAllocator } from './service-allocator';
import { StatusError } from './status';
import { ObjectStore } from './store';
import { requestToken, tokenRequest } from './token-requests';
import { DEFAULT_TOKEN_SECONDS, ServiceAccountTokens } from './tokens';
import { loadSchemaValidators, ObjectValidator } from './validation';
import { watch } from './watch';
import { create, patch, replace } from './writes';

/** The methods each subresource answers; any other is 405, as on a real server. */
const SUBRESOURCE_METHODS: Record<Subresource, string[]> = {
  status: ['GET', 'PUT', 'PATCH'],
  log: ['GET'],
  token: ['POST'],
};

export interface ApiServerOptions {
  host?: string;
  port?: number;
  /** Injected latency and errors on resource requests (mutable at run time through `faults`). */
  faults?: SimulatorFaults;
  /** Pod log lines, for `GET …/pods/{name}/log` (the kubelet simulation provides them). */
  podLogs?: PodLogs;
}

export class SimulatedApiServer {
  readonly store = new ObjectStore();
  readonly garbageCollector = new GarbageCollector(this.store);
  /** Node ports and cluster IPs of Services, as the Service registry allocates them. */
  readonly services = new ServiceAllocator(this.store);
  faults: SimulatorFaults;
  private server?: Server;
  private readonly state: ApiServerState;
  private readonly access: RequestAccess;

  private constructor(
    validator: ObjectValidator,
    private readonly options: ApiServerOptions,
  ) {
    this.faults = options.faults ?? NO_FAULTS;
    this.state = {
      store: this.store,
      garbageCollector: this.garbageCollector,
      services: this.services,
      validator,
      tokens: new ServiceAccountTokens(),
      openWatches: new Set(),
    };
    this.access = new RequestAccess(this.state);
    for (const name of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) {
      this.store.create(resourceType('', 'namespaces'), {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name, labels: { 'kubernetes.io/metadata.name': name } },
        spec: { finalizers: ['kubernetes'] },
        status: { phase: 'Active' },
      });
    }
  }

  static async start(options: ApiServerOptions = {}): Promise<SimulatedApiServer> {
    const apiServer = new SimulatedApiServer(new ObjectValidator(await loadSchemaValidators()), options);
    const server = createServer((req, res) => {
      apiServer.handle(req, res).catch((error: unknown) => fail(res, error));
    });
    server.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    apiServer.server = server;
    return apiServer;
  }

  get url(): string {
    const { port } = this.server!.address() as AddressInfo;
    return `http://${this.options.host ?? '127.0.0.1'}:${port}`;
  }

  async close(): Promise<void> {
    this.garbageCollector.stop();
    this.services.stop();
    [...this.state.openWatches].forEach((end) => end());
    const server = this.server;
    if (!server) {
      return;
    }
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Every RBAC decision on a service-account user's resource request so far, oldest first (a copy). */
  get authorizations(): readonly AuthorizationRecord[] {
    return this.access.authorizations;
  }

  clearAuthorizations(): void {
    this.access.clearAuthorizations();
  }

  /**
   * A bearer token for a ServiceAccount, as `kubectl create token` gets one (TokenRequest).
   * Throws the 404 Status when the account does not exist, 422 for less than ten minutes.
   */
  issueToken(namespace: string, name: string, expirationSeconds = DEFAULT_TOKEN_SECONDS): string {
    return requestToken(this.state, namespace, name, expirationSeconds).token;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://sim');
    const path = url.pathname.replace(/\/+$/, '') || '/';
    // As in Kubernetes: authenticated, then authorized, and only then routed (a 404 is for the allowed).
    const user = this.access.authenticate(req.headers.authorization);
    if (user) {
      this.access.enforce(user, requestAttributes(req.method ?? 'GET', path, url.searchParams));
    }
    const discovery = discoveryDocument(path);
    if (discovery !== undefined && req.method === 'GET') {
      return send(res, 200, discovery);
    }
    if (['/healthz', '/livez', '/readyz'].includes(path)) {
      return sendText(res, 'ok');
    }
    const route = routeOf(path);
    if (!route) {
      throw new StatusError('NotFound', 'the server could not find the requested resource');
    }
    await this.injectFaults();
    const body = ['POST', 'PUT', 'PATCH', 'DELETE'].includes(req.method ?? '')
      ? await readBody(req)
      : Buffer.alloc(0);
    this.dispatch(req, res, { ...route, user }, url.searchParams, body);
  }

  private async injectFaults(): Promise<void> {
    const { latencyMs, jitterMs, errorRate } = this.faults;
    const delay = latencyMs + Math.random() * jitterMs;
    if (delay > 0) {
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
    if (errorRate > 0 && Math.random() < errorRate) {
      throw new StatusError('InternalError', 'Internal error occurred: injected fault');
    }
  }

  /** Which handler answers a resource request, by method and subresource. */
  private dispatch(
    req: IncomingMessage,
    res: ServerResponse,
    route: Route,
    query: Query,
    rawBody: Buffer,
  ): void {
    const { type, name, subresource } = route;
    const body = rawBody.toString('utf8');
    const method = req.method ?? 'GET';
    if (subresource !== undefined) {
      checkSubresourceMethod(type, subresource, method);
    }
    const manager = query.get('fieldManager') ?? userAgentManager(req);
    switch (method) {
      case 'GET':
        if (subresource === 'log') {
          return sendText(res, podLog(this.state, this.options.podLogs, route, query));
        }
        if (isWatchRequest(query)) {
          return watch(this.state, req, res, route, query);
        }
        return send(res, 200, read(this.state, route, query, req.headers.accept));
      case 'POST':
        if (subresource === 'token') {
          return send(res, 201, tokenRequest(this.state, route, rawBody, req));
        }
        if (name) {
          throw new StatusError(
            'MethodNotAllowed',
            `the server does not allow this method on the requested resource`,
          );
        }
        return send(res, 201, create(this.state, route, decodeBody(type, body, req), manager, query));
      case 'PUT':
        return send(res, 200, replace(this.state, route, decodeBody(type, body, req), manager, query));
      case 'PATCH': {
        const { code, object } = patch(this.state, this.access, req, route, query, body, manager);
        return send(res, code, object);
      }
      case 'DELETE':
        return send(res, 200, remove(this.state, route, query, body));
      default:
        throw new StatusError(
          'MethodNotAllowed',
          'the server does not allow this method on the requested resource',
        );
    }
  }
}

/** The resource a path names, or undefined when it names none this server serves. */
function routeOf(path: string): Route | undefined {
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  let group: string;
  let version: string;
  let rest: string[];
  if (parts[0] === 'api' && parts[1] === 'v1') {
    [group, version, rest] = ['', 'v1', parts.slice(2)];
  } else if (parts[0] === 'apis' && parts.length >= 3) {
    [group, version, rest] = [parts[1] ?? '', parts[2] ?? '', parts.slice(3)];
  } else {
    return undefined;
  }
  let namespace: string | undefined;
  const namespaceObject =
    rest[0] === 'namespaces' && (rest.length <= 2 || ['status', 'finalize'].includes(rest[2] ?? ''));
  if (rest[0] === 'namespaces' && !namespaceObject) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const [plural, name, subresource] = rest;
  const type = plural === undefined ? undefined : findType(group, version, plural);
  if (!type || (namespace !== undefined && !type.namespaced) || rest.length > 3) {
    return undefined;
  }
  return { type, namespace, name, subresource };
}

/** 404 for a subresource the kind does not serve, 405 for a method it does not answer. */
function checkSubresourceMethod(type: ResourceType, subresource: string, method: string): void {
  const served = servedSubresource(type, subresource);
  if (!served) {
    throw new StatusError('NotFound', 'the server could not find the requested resource');
  }
  if (!SUBRESOURCE_METHODS[served].includes(method)) {
    throw new StatusError(
      'MethodNotAllowed',
      'the server does not allow this method on the requested resource',
    );
  }
}

function userAgentManager(req: IncomingMessage): string {
  const agent = req.headers['user-agent'] ?? 'unknown';
  return agent.split('/')[0] || 'unknown';
}

function fail(res: ServerResponse, error: unknown): void {
  const status =
    error instanceof StatusError
      ? error
      : error instanceof SelectorError || error instanceof URIError
        ? new StatusError('BadRequest', error.message)
        : new StatusError('InternalError', `Internal error occurred: ${(error as Error).message}`);
  if (res.headersSent) {
    res.end();
    return;
  }
  send(res, status.code, status.toStatus());
}

function send(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function sendText(res: ServerResponse, text: string): void {
  res.writeHead(200, { 'content-type': 'text/plain' }).end(text);
}

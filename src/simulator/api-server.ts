/**
 * A Kubernetes API server over plain node:http, for tests, demos and benchmarks: the real REST
 * paths, discovery, Status errors, resourceVersion semantics, patches (merge, strategic, JSON,
 * server-side apply), watches and cascading deletes, on an in-memory store. Requests without
 * credentials act as the cluster admin; service-account bearer tokens are held to RBAC.
 */
import { k8sNow } from './time';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parse as parseYaml } from 'yaml';
import { NO_FAULTS, type SimulatorFaults } from './config';
import { admit, applyDefaults, initialPodStatus, prepareForStorage } from './defaults';
import { GarbageCollector, type PropagationPolicy } from './garbage-collector';
import { recordUpdate, serverSideApply } from './managed-fields';
import { openApiV3 } from './openapi';
import { PROTOBUF, tokenRequestSpecFromProtobuf } from './protobuf';
import { asTable, wantsTable } from './tables';
import { randomSuffix } from './workloads';
import { jsonPatch, mergePatch, strategicMergePatch, type Json } from './patch';
import {
  authorize,
  forbidden,
  isWatchRequest,
  liveRbac,
  requestAttributes,
  serviceAccountUser,
  type AuthorizationRecord,
  type RequestAttributes,
  type ResourceAttributes,
  type UserInfo,
} from './rbac';
import {
  apiVersionOf,
  findType,
  groupVersions,
  RESOURCE_TYPES,
  servedSubresource,
  type ResourceType,
  type Subresource,
} from './resources';
import {
  matches,
  parseFieldSelector,
  parseSelector,
  SelectorError,
  selectableFields,
  selectedFieldValue,
} from './selectors';
import { ServiceAllocator } from './service-allocator';
import { conflict, invalid, notFound, StatusError } from './status';
import { ObjectStore, type K8sObject, type StoreEvent } from './store';
import { DEFAULT_TOKEN_SECONDS, MIN_TOKEN_SECONDS, ServiceAccountTokens } from './tokens';
import { loadSchemaValidators, ObjectValidator } from './validation';

export const SIMULATED_VERSION = { major: '1', minor: '32', gitVersion: 'v1.32.0-odc-sim' };
const BODY_LIMIT = 3 * 1024 * 1024;
const PROTECTED_NAMESPACES = new Set(['default', 'kube-system', 'kube-public']);
/** Authorization decisions kept for tests; older ones are dropped so a long run cannot grow without bound. */
const KEPT_AUTHORIZATIONS = 10_000;
/** The audience a token is for when the request names none (a kind cluster's API server audience). */
const DEFAULT_AUDIENCE = 'https://kubernetes.default.svc.cluster.local';
/** The methods each subresource answers; any other is 405, as on a real server. */
const SUBRESOURCE_METHODS: Record<Subresource, string[]> = {
  status: ['GET', 'PUT', 'PATCH'],
  log: ['GET'],
  token: ['POST'],
};

interface Route {
  type: ResourceType;
  namespace?: string;
  name?: string;
  subresource?: string;
  /** Who sent the request when it carried a service-account token; undefined for the anonymous admin. */
  user?: UserInfo;
}

type Query = URLSearchParams;

export interface ApiServerOptions {
  host?: string;
  port?: number;
  /** Injected latency and errors on resource requests (mutable at run time through `faults`). */
  faults?: SimulatorFaults;
  /** Pod log lines, for `GET …/pods/{name}/log` (the kubelet simulation provides them). */
  podLogs?: (pod: K8sObject, container: string | undefined) => string[];
}

export class SimulatedApiServer {
  readonly store = new ObjectStore();
  readonly garbageCollector = new GarbageCollector(this.store);
  /** Node ports and cluster IPs of Services, as the Service registry allocates them. */
  readonly services = new ServiceAllocator(this.store);
  faults: SimulatorFaults;
  private server?: Server;
  private readonly openWatches = new Set<() => void>();
  private readonly tokens = new ServiceAccountTokens();
  private readonly rbac = liveRbac(this.store);
  private readonly decisions: AuthorizationRecord[] = [];

  private constructor(
    private readonly validator: ObjectValidator,
    private readonly options: ApiServerOptions,
  ) {
    this.faults = options.faults ?? NO_FAULTS;
    for (const name of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) {
      this.store.create(this.type('', 'namespaces'), {
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
      apiServer.handle(req, res).catch((error: unknown) => apiServer.fail(res, error));
    });
    server.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve) =>
      server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve),
    );
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
    [...this.openWatches].forEach((end) => end());
    const server = this.server;
    if (!server) {
      return;
    }
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  type(group: string, plural: string): ResourceType {
    return RESOURCE_TYPES.find((t) => t.group === group && t.plural === plural)!;
  }

  /** Every RBAC decision on a service-account user's resource request so far, oldest first (a copy). */
  get authorizations(): readonly AuthorizationRecord[] {
    return [...this.decisions];
  }

  clearAuthorizations(): void {
    this.decisions.length = 0;
  }

  /**
   * A bearer token for a ServiceAccount, as `kubectl create token` gets one (TokenRequest).
   * Throws the 404 Status when the account does not exist, 422 for less than ten minutes.
   */
  issueToken(namespace: string, name: string, expirationSeconds = DEFAULT_TOKEN_SECONDS): string {
    return this.requestToken(namespace, name, expirationSeconds).token;
  }

  // ---- authentication and authorization -------------------------------------------------------

  /**
   * No credentials: the anonymous admin of a local development cluster (every client of the
   * simulator relies on it). A bearer token: the ServiceAccount it was issued to, while that
   * account exists. Anything else: 401.
   */
  private authenticate(header: string | undefined): UserInfo | undefined {
    if (header === undefined) {
      return undefined;
    }
    const token = /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1];
    const holder = token === undefined ? undefined : this.tokens.holderOf(token);
    const account = holder && this.store.get(this.type('', 'serviceaccounts'), holder.namespace, holder.name);
    if (!holder || account?.metadata.uid !== holder.uid) {
      throw new StatusError('Unauthorized', 'Unauthorized');
    }
    return serviceAccountUser(holder.namespace, holder.name);
  }

  /** Allows the request or throws 403; decisions on resources are recorded. */
  private enforce(user: UserInfo, request: RequestAttributes): void {
    const decision = authorize(user, request, this.rbac);
    if (request.kind === 'resource') {
      this.record(user, request, decision.allowed);
    }
    if (!decision.allowed) {
      throw forbidden(user, request, decision.reason);
    }
  }

  /** `request` as requestAttributes builds it: its optional attributes are absent, not undefined. */
  private record(user: UserInfo, request: { kind: 'resource' } & ResourceAttributes, allowed: boolean): void {
    const { kind: _resource, ...attributes } = request;
    this.decisions.push({ user: user.name, ...attributes, allowed });
    if (this.decisions.length > KEPT_AUTHORIZATIONS * 1.25) {
      this.decisions.splice(0, this.decisions.length - KEPT_AUTHORIZATIONS); // in chunks: O(1) amortised
    }
  }

  // ---- HTTP plumbing -------------------------------------------------------------------------

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://sim');
    const path = url.pathname.replace(/\/+$/, '') || '/';
    // As in Kubernetes: authenticated, then authorized, and only then routed (a 404 is for the allowed).
    const user = this.authenticate(req.headers.authorization);
    if (user) {
      this.enforce(user, requestAttributes(req.method ?? 'GET', path, url.searchParams));
    }
    const discovery = this.discovery(path);
    if (discovery !== undefined && req.method === 'GET') {
      return this.send(res, 200, discovery);
    }
    if (['/healthz', '/livez', '/readyz'].includes(path)) {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      return;
    }
    const route = this.route(path);
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

  private fail(res: ServerResponse, error: unknown): void {
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
    this.send(res, status.code, status.toStatus());
  }

  private send(res: ServerResponse, code: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  // ---- discovery -----------------------------------------------------------------------------

  private discovery(path: string): unknown {
    if (path.startsWith('/openapi/v3')) {
      return openApiV3(path);
    }
    if (path === '/version') {
      return {
        ...SIMULATED_VERSION,
        gitCommit: 'simulated',
        gitTreeState: 'clean',
        buildDate: '2026-01-01T00:00:00Z',
        goVersion: 'go1.23',
        compiler: 'gc',
        platform: 'linux/amd64',
      };
    }
    if (path === '/api') {
      return {
        kind: 'APIVersions',
        versions: ['v1'],
        serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: '127.0.0.1' }],
      };
    }
    const groups = groupVersions().filter((gv) => gv.group !== '');
    const groupEntry = (group: string) => {
      const versions = groups
        .filter((gv) => gv.group === group)
        .map((gv) => ({ groupVersion: `${group}/${gv.version}`, version: gv.version }));
      return { name: group, versions, preferredVersion: versions[0] };
    };
    if (path === '/apis') {
      return {
        kind: 'APIGroupList',
        apiVersion: 'v1',
        groups: [...new Set(groups.map((g) => g.group))].map(groupEntry),
      };
    }
    const groupMatch = /^\/apis\/([^/]+)$/.exec(path);
    if (groupMatch && groups.some((g) => g.group === groupMatch[1])) {
      return { kind: 'APIGroup', apiVersion: 'v1', ...groupEntry(groupMatch[1]) };
    }
    const versionMatch = /^\/api\/(v1)$/.exec(path) ?? /^\/apis\/([^/]+\/[^/]+)$/.exec(path);
    if (versionMatch) {
      const groupVersion = versionMatch[1];
      const types = RESOURCE_TYPES.filter((t) => apiVersionOf(t) === groupVersion);
      if (types.length === 0) {
        return undefined;
      }
      return {
        kind: 'APIResourceList',
        apiVersion: 'v1',
        groupVersion,
        resources: types.flatMap(resourceEntries),
      };
    }
    return undefined;
  }

  private route(path: string): Route | undefined {
    const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
    let group: string;
    let version: string;
    let rest: string[];
    if (parts[0] === 'api' && parts[1] === 'v1') {
      [group, version, rest] = ['', 'v1', parts.slice(2)];
    } else if (parts[0] === 'apis' && parts.length >= 3) {
      [group, version, rest] = [parts[1], parts[2], parts.slice(3)];
    } else {
      return undefined;
    }
    let namespace: string | undefined;
    const namespaceObject =
      rest[0] === 'namespaces' && (rest.length <= 2 || ['status', 'finalize'].includes(rest[2]));
    if (rest[0] === 'namespaces' && !namespaceObject) {
      namespace = rest[1];
      rest = rest.slice(2);
    }
    const [plural, name, subresource] = rest;
    const type = findType(group, version, plural);
    if (!type || (namespace !== undefined && !type.namespaced) || rest.length > 3) {
      return undefined;
    }
    return { type, namespace, name, subresource };
  }

  // ---- verbs ---------------------------------------------------------------------------------

  private dispatch(
    req: IncomingMessage,
    res: ServerResponse,
    route: Route,
    query: Query,
    rawBody: Buffer,
  ): void {
    const { type, namespace, name, subresource } = route;
    const body = rawBody.toString('utf8');
    const method = req.method ?? 'GET';
    if (subresource !== undefined) {
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
    const manager = query.get('fieldManager') ?? userAgentManager(req);
    switch (method) {
      case 'GET':
        if (subresource === 'log') {
          return this.sendLog(res, route, query);
        }
        if (isWatchRequest(query)) {
          return this.watch(req, res, route, query);
        }
        if (wantsTable(req.headers.accept)) {
          const objects = name
            ? [this.store.mustGet(type, namespace, name)]
            : this.store.list(type, namespace, this.filterFor(type.kind, query));
          return this.send(
            res,
            200,
            asTable(type.kind, objects, this.store.resourceVersion, query.get('includeObject')),
          );
        }
        if (name) {
          return this.send(res, 200, this.store.mustGet(type, namespace, name));
        }
        return this.send(res, 200, this.list(route, query));
      case 'POST':
        if (subresource === 'token') {
          return this.send(res, 201, this.tokenRequest(route, rawBody, req));
        }
        if (name) {
          throw new StatusError(
            'MethodNotAllowed',
            `the server does not allow this method on the requested resource`,
          );
        }
        return this.send(res, 201, this.create(route, decodeBody(route.type, body, req), manager, query));
      case 'PUT':
        return this.send(res, 200, this.replace(route, decodeBody(route.type, body, req), manager, query));
      case 'PATCH':
        return this.patch(req, res, route, query, body, manager);
      case 'DELETE':
        if (!name) {
          return this.send(res, 200, this.deleteCollection(route, query));
        }
        if (query.get('dryRun') === 'All') {
          return this.send(res, 200, this.store.mustGet(type, namespace, name));
        }
        if (type.kind === 'Namespace') {
          return this.send(res, 200, this.deleteNamespace(name));
        }
        return this.send(
          res,
          200,
          this.deleted(
            type,
            this.garbageCollector.delete(type, namespace, name, propagation(query, body, type)),
          ),
        );
      default:
        throw new StatusError(
          'MethodNotAllowed',
          'the server does not allow this method on the requested resource',
        );
    }
  }

  private filterFor(kind: string, query: Query): (object: K8sObject) => boolean {
    const labels = parseSelector(query.get('labelSelector') ?? undefined);
    const fields = parseFieldSelector(query.get('fieldSelector') ?? undefined);
    const selectable = selectableFields(kind);
    for (const requirement of fields) {
      if (!selectable.includes(requirement.key)) {
        // A kind with field labels of its own refuses in its conversion function; the rest (and
        // custom resources) in the generic check of metadata fields.
        throw new StatusError(
          'BadRequest',
          selectable.length > 2
            ? `field label not supported: ${requirement.key}`
            : `"${requirement.key}" is not a known field selector: only "${selectable.join('", "')}"`,
        );
      }
    }
    return (object) =>
      matches(labels, (key) => object.metadata.labels?.[key]) &&
      matches(fields, (key) => selectedFieldValue(object, key));
  }

  private list(route: Route, query: Query): unknown {
    const items = this.store
      .list(route.type, route.namespace, this.filterFor(route.type.kind, query))
      .map(({ apiVersion: _a, kind: _k, ...item }) => item);
    return {
      kind: `${route.type.kind}List`,
      apiVersion: apiVersionOf(route.type),
      metadata: { resourceVersion: this.store.resourceVersion },
      items,
    };
  }

  private prepare(route: Route, object: K8sObject): K8sObject {
    if (
      !object ||
      typeof object !== 'object' ||
      typeof object.metadata !== 'object' ||
      object.metadata === null
    ) {
      object = { ...(object ?? {}), metadata: {} } as K8sObject;
    }
    const { type, namespace } = route;
    // As the API server's decoder does: the URL says what kind is meant when the body does not.
    object.apiVersion ??= apiVersionOf(type);
    object.kind ??= type.kind;
    if (type.namespaced) {
      if (object.metadata.namespace && namespace && object.metadata.namespace !== namespace) {
        throw new StatusError(
          'BadRequest',
          'the namespace of the provided object does not match the namespace sent on the request',
        );
      }
      object.metadata.namespace = namespace ?? object.metadata.namespace ?? 'default';
      this.store.mustGet(this.type('', 'namespaces'), undefined, object.metadata.namespace);
    } else {
      delete object.metadata.namespace;
    }
    if (!object.metadata.name && typeof object.metadata.generateName === 'string') {
      object.metadata.name = `${object.metadata.generateName}${randomSuffix()}`;
    }
    return object;
  }

  private create(route: Route, object: K8sObject, manager: string, query: Query): K8sObject {
    const prepared = this.prepare(route, object);
    this.validator.checkDecodable(route.type, prepared);
    delete prepared.metadata.managedFields;
    applyDefaults(prepared);
    recordUpdate(undefined, prepared, manager);
    // After the fields are owned: what admission adds belongs to no manager.
    this.admitDefaultStorageClass(prepared);
    admit(prepared);
    return this.persist(route, undefined, withInitialStatus(route.type, prepared), query);
  }

  /** PUT: the whole object; on a kind with a status subresource, status is kept (and vice versa). */
  private replace(route: Route, object: K8sObject, manager: string, query: Query): K8sObject {
    const prepared = this.prepare(route, object);
    this.validator.checkDecodable(route.type, prepared);
    if (prepared.metadata.name !== route.name) {
      throw new StatusError('BadRequest', 'the name of the object does not match the name on the URL');
    }
    const current = this.store.mustGet(route.type, route.namespace, route.name);
    return this.write(route, current, prepared, manager, query);
  }

  private write(route: Route, current: K8sObject, next: K8sObject, manager: string, query: Query): K8sObject {
    const hasStatus = (route.type.subresources ?? []).includes('status');
    let merged = next;
    if (route.subresource === 'status') {
      merged = {
        ...current,
        status: next.status,
        metadata: { ...current.metadata, resourceVersion: next.metadata.resourceVersion },
      };
    } else if (hasStatus) {
      merged = { ...next, status: current.status };
      if (current.status === undefined) {
        delete merged.status;
      }
    }
    if (route.subresource === 'status') {
      recordUpdate(current, merged, manager, 'status');
    } else {
      applyDefaults(merged);
      recordUpdate(current, merged, manager);
    }
    return this.persist(route, current, merged, query);
  }

  private patch(
    req: IncomingMessage,
    res: ServerResponse,
    route: Route,
    query: Query,
    body: string,
    manager: string,
  ): void {
    const contentType = (req.headers['content-type'] ?? '').split(';')[0].trim();
    const { type, namespace, name } = route;
    if (!name) {
      throw new StatusError(
        'MethodNotAllowed',
        'the server does not allow this method on the requested resource',
      );
    }
    if (contentType === 'application/apply-patch+yaml' || contentType === 'application/apply-patch+json') {
      const fieldManager = query.get('fieldManager');
      if (!fieldManager) {
        throw invalid(
          'PatchOptions',
          '',
          [
            {
              reason: 'FieldValueRequired',
              message: 'Required value: is required for apply patch',
              field: 'fieldManager',
            },
          ],
          'meta.k8s.io',
        );
      }
      const sent = parseApplyBody(body);
      checkAppliedType(type, sent);
      const sentNamespace =
        typeof sent?.metadata?.namespace === 'string' ? sent.metadata.namespace : undefined;
      const config = this.prepare(route, sent);
      this.validator.checkApplyTypes(type, config, sentNamespace);
      if (config.metadata.name !== name) {
        throw new StatusError('BadRequest', 'the name of the object does not match the name on the URL');
      }
      const current = this.store.get(type, namespace, name);
      if (!current && route.user && route.subresource === undefined) {
        // Applying creates what does not exist yet, and Kubernetes asks RBAC for `create` too.
        this.enforce(route.user, {
          kind: 'resource',
          verb: 'create',
          apiGroup: type.group,
          resource: type.plural,
          ...(namespace !== undefined ? { namespace } : {}),
          name,
        });
      }
      const expected = config.metadata.resourceVersion;
      if (expected && current && expected !== current.metadata.resourceVersion) {
        throw conflict(type.plural, name, type.group);
      }
      delete config.metadata.resourceVersion;
      return this.send(res, current ? 200 : 201, this.apply(route, current, config, fieldManager, query));
    }
    const current = this.store.mustGet(type, namespace, name);
    const patch = parseBody(body, req) as unknown as Json;
    let patched: Json;
    switch (contentType) {
      case 'application/merge-patch+json':
        patched = mergePatch(current as unknown as Json, patch);
        break;
      case 'application/strategic-merge-patch+json':
        patched = strategicMergePatch(current as unknown as Json, patch);
        break;
      case 'application/json-patch+json':
        patched = jsonPatch(current as unknown as Json, patch);
        break;
      default:
        // What kube-apiserver answers (the accepted types are in its Accept-Patch header, not here).
        throw new StatusError('UnsupportedMediaType', '415: Unsupported Media Type', {});
    }
    const next = patched as unknown as K8sObject;
    if (next.metadata?.name !== name) {
      throw new StatusError('BadRequest', 'the name of the object does not match the name on the URL');
    }
    const patchedRv = (patch as { metadata?: { resourceVersion?: string } } | null)?.metadata
      ?.resourceVersion;
    if (!patchedRv) {
      delete next.metadata.resourceVersion; // a patch without a precondition always applies to the latest
    }
    return this.send(res, 200, this.write(route, current, next, manager, query));
  }

  /**
   * Server-side apply. Status follows the subresource rules: applied to the main resource it is
   * ignored (and not owned); applied to `/status` only status changes.
   */
  private apply(
    route: Route,
    current: K8sObject | undefined,
    config: K8sObject,
    manager: string,
    query: Query,
  ): K8sObject {
    const { type } = route;
    const hasStatus = (type.subresources ?? []).includes('status');
    if (route.subresource === 'status') {
      if (!current) {
        throw notFound(type.plural, config.metadata.name, type.group);
      }
      const applied = serverSideApply(
        current,
        {
          apiVersion: config.apiVersion,
          kind: config.kind,
          metadata: { name: config.metadata.name, namespace: config.metadata.namespace },
          status: config.status,
        },
        manager,
        query.get('force') === 'true',
      );
      return this.persist(
        route,
        current,
        { ...current, status: applied.status, metadata: applied.metadata },
        query,
      );
    }
    if (hasStatus) {
      delete config.status;
    }
    // Defaults are filled in after the merge: they belong to no field manager.
    const applied = applyDefaults(serverSideApply(current, config, manager, query.get('force') === 'true'));
    if (!current) {
      this.admitDefaultStorageClass(applied);
      admit(applied);
    }
    const next = current
      ? hasStatus
        ? { ...applied, status: current.status }
        : applied
      : withInitialStatus(type, applied);
    if (next.status === undefined) {
      delete next.status;
    }
    return this.persist(route, current, next, query);
  }

  /**
   * Validates and stores (or, with `dryRun=All`, only validates) the next version of an object.
   * Every write passes here, so this is where a Service gets its node ports and cluster IP.
   */
  private persist(route: Route, current: K8sObject | undefined, next: K8sObject, query: Query): K8sObject {
    prepareForStorage(next, current, route.subresource, k8sNow());
    this.validator.validate(route.type, next, current);
    if (route.type.kind === 'Service') {
      this.services.assign(next, current);
    }
    if (query.get('dryRun') === 'All') {
      return next;
    }
    return current ? this.store.update(route.type, next) : this.store.create(route.type, next);
  }

  /** DefaultStorageClass admission: a new claim that names no class gets the default one, if any. */
  private admitDefaultStorageClass(object: K8sObject): void {
    const spec = object.spec as { storageClassName?: string | null } | undefined;
    if (object.kind !== 'PersistentVolumeClaim' || !spec || (spec.storageClassName ?? null) !== null) {
      return;
    }
    const fallback = this.store
      .list(this.type('storage.k8s.io', 'storageclasses'))
      .find((sc) => sc.metadata.annotations?.['storageclass.kubernetes.io/is-default-class'] === 'true');
    if (fallback) {
      spec.storageClassName = fallback.metadata.name;
    }
  }

  /**
   * What a DELETE answers: an object finalizers still hold, as it now is; one that is gone, as its
   * registry returns it (the object, or a Status of success naming it). A pod is answered as a
   * graceful deletion marks it (the simulator's kubelets let it go at once).
   */
  private deleted(type: ResourceType, object: K8sObject): unknown {
    const { namespace, name, uid } = object.metadata;
    if (this.store.get(type, namespace, name)?.metadata.uid === uid) {
      return object;
    }
    if (type.kind === 'Pod') {
      const spec = object.spec as { nodeName?: string; terminationGracePeriodSeconds?: number } | undefined;
      return {
        ...object,
        metadata: {
          ...object.metadata,
          deletionTimestamp: object.metadata.deletionTimestamp ?? k8sNow(),
          deletionGracePeriodSeconds: spec?.nodeName ? (spec.terminationGracePeriodSeconds ?? 30) : 0,
          generation: (object.metadata.generation ?? 1) + 1,
        },
      };
    }
    if (type.returnsDeleted) {
      return object;
    }
    return {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Success',
      details: { name, ...(type.group ? { group: type.group } : {}), kind: type.plural, uid },
    };
  }

  /** As the namespace controller does: everything in the namespace goes, then the namespace. */
  private deleteNamespace(name: string): K8sObject {
    if (PROTECTED_NAMESPACES.has(name)) {
      throw new StatusError(
        'Forbidden',
        `namespaces "${name}" is forbidden: this namespace may not be deleted`,
        {
          name,
          kind: 'namespaces',
        },
      );
    }
    const namespaceType = this.type('', 'namespaces');
    const namespace = this.store.mustGet(namespaceType, undefined, name);
    for (const type of RESOURCE_TYPES.filter((t) => t.namespaced)) {
      for (const object of this.store.list(type, name)) {
        this.garbageCollector.delete(type, name, object.metadata.name, 'Background');
      }
    }
    this.store.remove(namespaceType, undefined, name);
    return {
      ...namespace,
      metadata: {
        ...namespace.metadata,
        deletionTimestamp: k8sNow(),
      },
      status: { phase: 'Terminating' },
    };
  }

  private deleteCollection(route: Route, query: Query): unknown {
    const policy = propagation(query, '', route.type);
    for (const object of this.store.list(
      route.type,
      route.namespace,
      this.filterFor(route.type.kind, query),
    )) {
      this.garbageCollector.delete(route.type, object.metadata.namespace, object.metadata.name, policy);
    }
    return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success' };
  }

  /** `POST …/serviceaccounts/{name}/token`: a TokenRequest answered with a new token for the account. */
  private tokenRequest(route: Route, body: Buffer, req: IncomingMessage): unknown {
    const spec = tokenRequestSpec(body, req);
    const seconds = spec.expirationSeconds ?? DEFAULT_TOKEN_SECONDS;
    const [namespace, name] = [route.namespace!, route.name!];
    return {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      metadata: { name, namespace, creationTimestamp: k8sNow() },
      spec: {
        audiences: spec.audiences?.length ? spec.audiences : [DEFAULT_AUDIENCE],
        expirationSeconds: seconds,
        boundObjectRef: null,
      },
      status: this.requestToken(namespace, name, seconds),
    };
  }

  private requestToken(namespace: string, name: string, expirationSeconds: number) {
    const account = this.store.mustGet(this.type('', 'serviceaccounts'), namespace, name);
    if (!Number.isInteger(expirationSeconds) || expirationSeconds < MIN_TOKEN_SECONDS) {
      throw invalid(
        'TokenRequest',
        name,
        [
          {
            reason: 'FieldValueInvalid',
            message: `Invalid value: ${JSON.stringify(expirationSeconds)}: may not specify a duration less than 10 minutes`,
            field: 'spec.expirationSeconds',
          },
        ],
        'authentication.k8s.io',
      );
    }
    return this.tokens.issue({ namespace, name, uid: account.metadata.uid! }, expirationSeconds);
  }

  private sendLog(res: ServerResponse, route: Route, query: Query): void {
    const pod = this.store.mustGet(route.type, route.namespace, route.name!);
    const container = query.get('container') ?? undefined;
    let lines = this.options.podLogs?.(pod, container) ?? [];
    const tail = query.get('tailLines');
    if (tail !== null) {
      lines = lines.slice(-Number(tail));
    }
    if (query.get('timestamps') === 'true') {
      // The kubelet prefixes each line with the time it was written; the simulated lines date from the start.
      const at = (pod.status as { startTime?: string } | undefined)?.startTime ?? k8sNow();
      lines = lines.map((line) => `${at} ${line}`);
    }
    res.writeHead(200, { 'content-type': 'text/plain' }).end(lines.map((line) => `${line}\n`).join(''));
  }

  private watch(req: IncomingMessage, res: ServerResponse, route: Route, query: Query): void {
    const filter = this.filterFor(route.type.kind, query);
    const matches = (object: K8sObject | undefined) =>
      object !== undefined &&
      (route.namespace === undefined || object.metadata.namespace === route.namespace) &&
      (route.name === undefined || object.metadata.name === route.name) &&
      filter(object);
    // As a real server does for a filtered watch: an object that starts matching is ADDED, one that
    // stops matching is DELETED.
    const translate = (event: StoreEvent): { type: string; object: K8sObject } | undefined => {
      if (event.resource !== route.type) {
        return undefined;
      }
      const now = event.type !== 'DELETED' && matches(event.object);
      const before = event.type === 'DELETED' ? matches(event.object) : matches(event.previous);
      if (event.type === 'MODIFIED' && now && !before) {
        return { type: 'ADDED', object: event.object };
      }
      if (event.type === 'MODIFIED' && before && !now) {
        return { type: 'DELETED', object: event.object };
      }
      return now || (event.type === 'DELETED' && before)
        ? { type: event.type, object: event.object }
        : undefined;
    };
    const since = query.get('resourceVersion');
    const backlog =
      since && since !== '0'
        ? this.store.eventsSince(Number(since)).flatMap((event) => translate(event) ?? [])
        : this.store.list(route.type, route.namespace, matches).map((object) => ({ type: 'ADDED', object }));
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    res.flushHeaders(); // clients wait for the headers before they start reading events
    const write = (event: { type: string; object: K8sObject }) => res.write(`${JSON.stringify(event)}\n`);
    backlog.forEach(write);
    const unsubscribe = this.store.subscribe((event) => {
      const translated = translate(event);
      if (translated) {
        write(translated);
      }
    });
    const end = () => {
      clearTimeout(timer);
      unsubscribe();
      this.openWatches.delete(end);
      res.end();
    };
    const timeout = Number(query.get('timeoutSeconds') ?? 0);
    const timer = timeout > 0 ? setTimeout(end, timeout * 1000) : undefined;
    this.openWatches.add(end);
    req.on('close', end);
  }
}

/** Status is not the client's to set on create (kinds with a status subresource); some kinds start with one. */
const INITIAL_STATUS: Record<string, Record<string, unknown>> = {
  Namespace: { phase: 'Active' },
  Service: { loadBalancer: {} },
  Ingress: { loadBalancer: {} },
  PodDisruptionBudget: { disruptionsAllowed: 0, currentHealthy: 0, desiredHealthy: 0, expectedPods: 0 },
  PersistentVolumeClaim: { phase: 'Pending' },
  PersistentVolume: { phase: 'Pending' },
};

function withInitialStatus(type: ResourceType, object: K8sObject): K8sObject {
  if (!(type.subresources ?? []).includes('status') || type.kind === 'Node') {
    return object;
  }
  const { status: _ignored, ...rest } = object;
  const initial = type.kind === 'Pod' ? initialPodStatus(object) : INITIAL_STATUS[type.kind];
  return initial ? { ...rest, status: initial } : rest;
}

function resourceEntries(type: ResourceType): Record<string, unknown>[] {
  const verbs = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];
  const main = {
    name: type.plural,
    singularName: type.singular,
    namespaced: type.namespaced,
    kind: type.kind,
    verbs,
    ...(type.shortNames ? { shortNames: type.shortNames } : {}),
  };
  const subresources = (type.subresources ?? []).map((sub) => ({
    name: `${type.plural}/${sub}`,
    singularName: '',
    namespaced: type.namespaced,
    ...subresourceEntry(type, sub),
  }));
  return [main, ...subresources];
}

/** What discovery says a subresource is and allows; a token request is another group's kind. */
function subresourceEntry(type: ResourceType, sub: Subresource): Record<string, unknown> {
  switch (sub) {
    case 'status':
      return { kind: type.kind, verbs: ['get', 'patch', 'update'] };
    case 'log':
      return { kind: 'Pod', verbs: ['get'] };
    case 'token':
      return { group: 'authentication.k8s.io', version: 'v1', kind: 'TokenRequest', verbs: ['create'] };
  }
}

function userAgentManager(req: IncomingMessage): string {
  const agent = req.headers['user-agent'] ?? 'unknown';
  return agent.split('/')[0] || 'unknown';
}

/**
 * The propagation policy a DELETE asks for; without one, the kind's default: Background, but
 * Orphan for batch/v1 Jobs (their registry keeps the old default, so their pods stay).
 */
function propagation(query: Query, body: string, type: ResourceType): PropagationPolicy {
  let policy = query.get('propagationPolicy');
  if (!policy && body.trim()) {
    try {
      policy = (JSON.parse(body) as { propagationPolicy?: string }).propagationPolicy ?? null;
    } catch {
      throw new StatusError('BadRequest', 'the body of a DELETE must be DeleteOptions');
    }
  }
  if (policy && !['Background', 'Foreground', 'Orphan'].includes(policy)) {
    throw new StatusError('BadRequest', `unsupported propagationPolicy "${policy}"`);
  }
  return (policy as PropagationPolicy | null) ?? (type.kind === 'Job' ? 'Orphan' : 'Background');
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > BODY_LIMIT) {
      throw new StatusError('BadRequest', 'the request body is too large');
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

type TokenRequestSpec = { audiences?: string[] | null; expirationSeconds?: number | null };

/** A TokenRequest's spec, from JSON or (as kubectl sends it) protobuf; an empty body asks for the defaults. */
function tokenRequestSpec(body: Buffer, req: IncomingMessage): TokenRequestSpec {
  if ((req.headers['content-type'] ?? '').startsWith(PROTOBUF)) {
    return tokenRequestSpecFromProtobuf(body);
  }
  const text = body.toString('utf8');
  return text.trim() ? (parseBody(text, req).spec ?? {}) : {};
}

/**
 * A create's or an update's body. A built-in kind's decoder takes a missing `apiVersion` and
 * `kind` from the URL (`prepare`); a custom resource's (unstructured) decoder does not, and refuses
 * a body of another version as kube-apiserver words it; a body of another kind is 422 `kind`.
 */
function decodeBody(type: ResourceType, body: string, req: IncomingMessage): K8sObject {
  const object = parseBody(body, req);
  if (!type.custom || object === null || typeof object !== 'object') {
    return object;
  }
  const { kind, apiVersion } = object as { kind?: unknown; apiVersion?: unknown };
  if (typeof kind !== 'string' || kind === '') {
    const summary = body.length > 30 ? `${body.slice(0, 30)} ...` : body;
    throw new StatusError(
      'BadRequest',
      `the object provided is unrecognized (must be of type ${type.kind}): Object 'Kind' is missing in '${body}' (${summary})`,
    );
  }
  if (apiVersion !== apiVersionOf(type)) {
    throw new StatusError(
      'BadRequest',
      `the API version in the data (${typeof apiVersion === 'string' ? apiVersion : ''}) does not match the expected API version (${apiVersionOf(type)})`,
    );
  }
  if (kind !== type.kind) {
    const name = typeof object.metadata?.name === 'string' ? object.metadata.name : '';
    throw invalid(
      kind,
      name,
      [
        {
          reason: 'FieldValueInvalid',
          message: `Invalid value: "${kind}": must be ${type.kind}`,
          field: 'kind',
        },
      ],
      type.group,
    );
  }
  return object;
}

/**
 * Server-side apply takes the group, version and kind from the body only (the field manager's
 * version check): anything but the URL's is 400 `invalid object type: <group>/<version>, Kind=<kind>`,
 * a body without them too.
 */
function checkAppliedType(type: ResourceType, sent: K8sObject): void {
  const text = (value: unknown) => (typeof value === 'string' ? value : '');
  const apiVersion = text(sent?.apiVersion);
  const parts = apiVersion === '' ? ['', ''] : apiVersion.split('/');
  // An apiVersion that does not parse (`a/b/c`) leaves the whole kind empty, as unstructured data does.
  const [group, version, kind] =
    parts.length === 1
      ? ['', parts[0], text(sent?.kind)]
      : parts.length === 2
        ? [...parts, text(sent?.kind)]
        : ['', '', ''];
  if (group !== type.group || version !== type.version || kind !== type.kind) {
    throw new StatusError('BadRequest', `invalid object type: ${group}/${version}, Kind=${kind}`);
  }
}

function parseBody(body: string, req: IncomingMessage): K8sObject {
  try {
    return JSON.parse(body) as K8sObject;
  } catch {
    const type = req.headers['content-type'] ?? '';
    if (type.includes('yaml')) {
      return parseApplyBody(body);
    }
    throw new StatusError('BadRequest', `the body of the request could not be decoded as JSON`);
  }
}

function jsonObject(body: string): unknown {
  if (!body.trimStart().startsWith('{')) {
    return undefined;
  }
  try {
    return JSON.parse(body);
  } catch {
    return undefined; // YAML's flow style may look like JSON without being JSON
  }
}

function parseApplyBody(body: string): K8sObject {
  try {
    // Clients (client-node, kubectl) send apply bodies as JSON, which is YAML too: parsed at
    // JSON's speed, and as YAML (to plain JSON values, nothing YAML-specific) only when it is not.
    return (jsonObject(body) ?? JSON.parse(JSON.stringify(parseYaml(body)))) as K8sObject;
  } catch (error) {
    throw new StatusError('BadRequest', `error decoding YAML: ${(error as Error).message}`);
  }
}

/**
 * Create, replace (PUT), patch (merge, strategic merge, JSON patch) and server-side apply. Every
 * write is defaulted, admitted when new, owned field by field, validated and then stored (or, with
 * `dryRun=All`, only validated).
 */
import type { IncomingMessage } from 'node:http';
import { k8sNow } from './time';
import type { RequestAccess } from './access';
import { resourceType, type ApiServerState, type Query, type Route } from './api-context';
import { admit, applyDefaults, initialPodStatus, prepareForStorage } from './defaults';
import { recordUpdate, serverSideApply } from './managed-fields';
import { jsonPatch, mergePatch, strategicMergePatch, type Json } from './patch';
import { parseApplyBody, parseBody } from './request-body';
import { apiVersionOf, type ResourceType } from './resources';
import { conflict, invalid, notFound, StatusError } from './status';
import type { K8sObject } from './store';
import { randomSuffix } from './workloads';

/** What a write answers: the HTTP status (201 when a patch created the object) and the object. */
export interface Written {
  code: number;
  object: K8sObject;
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

export function create(
  state: ApiServerState,
  route: Route,
  object: K8sObject,
  manager: string,
  query: Query,
): K8sObject {
  const prepared = prepare(state, route, object);
  state.validator.checkDecodable(route.type, prepared);
  delete prepared.metadata.managedFields;
  applyDefaults(prepared);
  recordUpdate(undefined, prepared, manager);
  // After the fields are owned: what admission adds belongs to no manager.
  admitDefaultStorageClass(state, prepared);
  admit(prepared);
  return persist(state, route, undefined, withInitialStatus(route.type, prepared), query);
}

/** PUT: the whole object; on a kind with a status subresource, status is kept (and vice versa). */
export function replace(
  state: ApiServerState,
  route: Route,
  object: K8sObject,
  manager: string,
  query: Query,
): K8sObject {
  const prepared = prepare(state, route, object);
  state.validator.checkDecodable(route.type, prepared);
  if (prepared.metadata.name !== route.name) {
    throw new StatusError('BadRequest', 'the name of the object does not match the name on the URL');
  }
  const current = state.store.mustGet(route.type, route.namespace, route.name);
  return write(state, route, current, prepared, manager, query);
}

/**
 * PATCH by its content type: server-side apply (which creates what does not exist yet, so `access`
 * is asked about `create` too), or a merge, strategic merge or JSON patch of the current object.
 */
export function patch(
  state: ApiServerState,
  access: RequestAccess,
  req: IncomingMessage,
  route: Route,
  query: Query,
  body: string,
  manager: string,
): Written {
  const contentType = (req.headers['content-type'] ?? '').split(';')[0]?.trim() ?? '';
  const { type, namespace, name } = route;
  if (!name) {
    throw new StatusError(
      'MethodNotAllowed',
      'the server does not allow this method on the requested resource',
    );
  }
  if (contentType === 'application/apply-patch+yaml' || contentType === 'application/apply-patch+json') {
    return applyPatch(state, access, route, name, query, body);
  }
  const current = state.store.mustGet(type, namespace, name);
  const sent = parseBody(body, req) as unknown as Json;
  let patched: Json;
  switch (contentType) {
    case 'application/merge-patch+json':
      patched = mergePatch(current as unknown as Json, sent);
      break;
    case 'application/strategic-merge-patch+json':
      patched = strategicMergePatch(current as unknown as Json, sent);
      break;
    case 'application/json-patch+json':
      patched = jsonPatch(current as unknown as Json, sent);
      break;
    default:
      // What kube-apiserver answers (the accepted types are in its Accept-Patch header, not here).
      throw new StatusError('UnsupportedMediaType', '415: Unsupported Media Type', {});
  }
  const next = patched as unknown as K8sObject;
  if (next.metadata?.name !== name) {
    throw new StatusError('BadRequest', 'the name of the object does not match the name on the URL');
  }
  const patchedRv = (sent as { metadata?: { resourceVersion?: string } } | null)?.metadata?.resourceVersion;
  if (!patchedRv) {
    delete next.metadata.resourceVersion; // a patch without a precondition always applies to the latest
  }
  return { code: 200, object: write(state, route, current, next, manager, query) };
}

/** An apply patch's checks before it is applied: a field manager, the body's type and name, RBAC. */
function applyPatch(
  state: ApiServerState,
  access: RequestAccess,
  route: Route,
  name: string,
  query: Query,
  body: string,
): Written {
  const { type, namespace } = route;
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
  const sentNamespace = typeof sent?.metadata?.namespace === 'string' ? sent.metadata.namespace : undefined;
  const config = prepare(state, route, sent);
  state.validator.checkApplyTypes(type, config, sentNamespace);
  if (config.metadata.name !== name) {
    throw new StatusError('BadRequest', 'the name of the object does not match the name on the URL');
  }
  const current = state.store.get(type, namespace, name);
  if (!current && route.user && route.subresource === undefined) {
    // Applying creates what does not exist yet, and Kubernetes asks RBAC for `create` too.
    access.enforce(route.user, {
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
  return { code: current ? 200 : 201, object: apply(state, route, current, config, fieldManager, query) };
}

function prepare(state: ApiServerState, route: Route, object: K8sObject): K8sObject {
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
    state.store.mustGet(resourceType('', 'namespaces'), undefined, object.metadata.namespace);
  } else {
    delete object.metadata.namespace;
  }
  if (!object.metadata.name && typeof object.metadata.generateName === 'string') {
    object.metadata.name = `${object.metadata.generateName}${randomSuffix()}`;
  }
  return object;
}

function write(
  state: ApiServerState,
  route: Route,
  current: K8sObject,
  next: K8sObject,
  manager: string,
  query: Query,
): K8sObject {
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
  return persist(state, route, current, merged, query);
}

/**
 * Server-side apply. Status follows the subresource rules: applied to the main resource it is
 * ignored (and not owned); applied to `/status` only status changes.
 */
function apply(
  state: ApiServerState,
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
    return persist(
      state,
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
    admitDefaultStorageClass(state, applied);
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
  return persist(state, route, current, next, query);
}

/**
 * Validates and stores (or, with `dryRun=All`, only validates) the next version of an object.
 * Every write passes here, so this is where a Service gets its node ports and cluster IP.
 */
function persist(
  state: ApiServerState,
  route: Route,
  current: K8sObject | undefined,
  next: K8sObject,
  query: Query,
): K8sObject {
  prepareForStorage(next, current, route.subresource, k8sNow());
  state.validator.validate(route.type, next, current);
  if (route.type.kind === 'Service') {
    state.services.assign(next, current);
  }
  if (query.get('dryRun') === 'All') {
    return next;
  }
  return current ? state.store.update(route.type, next) : state.store.create(route.type, next);
}

/** DefaultStorageClass admission: a new claim that names no class gets the default one, if any. */
function admitDefaultStorageClass(state: ApiServerState, object: K8sObject): void {
  const spec = object.spec as { storageClassName?: string | null } | undefined;
  if (object.kind !== 'PersistentVolumeClaim' || !spec || (spec.storageClassName ?? null) !== null) {
    return;
  }
  const fallback = state.store
    .list(resourceType('storage.k8s.io', 'storageclasses'))
    .find((sc) => sc.metadata.annotations?.['storageclass.kubernetes.io/is-default-class'] === 'true');
  if (fallback) {
    spec.storageClassName = fallback.metadata.name;
  }
}

function withInitialStatus(type: ResourceType, object: K8sObject): K8sObject {
  if (!(type.subresources ?? []).includes('status') || type.kind === 'Node') {
    return object;
  }
  const { status: _ignored, ...rest } = object;
  const initial = type.kind === 'Pod' ? initialPodStatus(object) : INITIAL_STATUS[type.kind];
  return initial ? { ...rest, status: initial } : rest;
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

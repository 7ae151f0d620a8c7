/**
 * Kubernetes RBAC as the API server's authorizer evaluates it: what a request asks (read off the
 * URL the way Kubernetes' RequestInfo does), and whether a ClusterRoleBinding, or a RoleBinding in
 * the request's namespace, grants it to the user. Pure functions over the RBAC objects; the API
 * server hands in a view of its live store, so a binding changed at run time counts at once.
 */
import { findType, RBAC_GROUP, type ResourceType } from './resources';
import { StatusError } from './status';
import type { K8sObject, ObjectStore } from './store';

export interface UserInfo {
  name: string;
  groups: string[];
}

export interface ResourceAttributes {
  verb: string;
  apiGroup: string;
  resource: string;
  subresource?: string;
  namespace?: string;
  name?: string;
}

export type RequestAttributes =
  ({ kind: 'resource' } & ResourceAttributes) | { kind: 'nonResource'; verb: string; path: string };

export interface PolicyRule {
  verbs: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

export interface Subject {
  kind: string;
  name: string;
  namespace?: string;
}

export interface RoleRef {
  apiGroup: string;
  kind: string;
  name: string;
}

export interface RoleBinding {
  metadata: { name: string; namespace?: string };
  subjects?: Subject[];
  roleRef: RoleRef;
}

export interface Role {
  rules?: PolicyRule[];
}

/** The RBAC objects an authorization decision reads. */
export interface RbacView {
  clusterRoleBindings(): RoleBinding[];
  roleBindings(namespace: string): RoleBinding[];
  clusterRole(name: string): Role | undefined;
  role(namespace: string, name: string): Role | undefined;
}

export interface Decision {
  allowed: boolean;
  /** Why bindings that name the user granted nothing (a role they refer to is missing), as RBAC words it. */
  reason?: string;
}

export function serviceAccountUser(namespace: string, name: string): UserInfo {
  return {
    name: `system:serviceaccount:${namespace}:${name}`,
    groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, 'system:authenticated'],
  };
}

/**
 * What every authenticated user may read in a real cluster: discovery (the `system:discovery`
 * ClusterRole) and the version and health endpoints (`system:public-info-viewer`).
 */
const PUBLIC_RULES: PolicyRule[] = [
  {
    verbs: ['get'],
    nonResourceURLs: [
      '/api',
      '/api/*',
      '/apis',
      '/apis/*',
      '/openapi',
      '/openapi/*',
      '/version',
      '/version/',
      '/healthz',
      '/livez',
      '/readyz',
    ],
  },
];

/** Parts of a namespace's own URL that are its subresources, not a resource inside it. */
const NAMESPACE_SUBRESOURCES = new Set(['status', 'finalize']);

const RESOURCE_VERBS: Record<string, string> = {
  POST: 'create',
  GET: 'get',
  HEAD: 'get',
  PUT: 'update',
  PATCH: 'patch',
  DELETE: 'delete',
};

/** Whether a GET is a watch (the simulator and this authorizer must agree on it). */
export function isWatchRequest(query: URLSearchParams): boolean {
  return query.get('watch') === 'true' || query.get('watch') === '1';
}

/** A list or watch narrowed to one name by `fieldSelector=metadata.name=x` names that object, as in Kubernetes. */
function nameFromFieldSelector(query: URLSearchParams): string | undefined {
  for (const term of (query.get('fieldSelector') ?? '').split(',')) {
    const match = /^\s*metadata\.name\s*==?\s*([^\s/%]+)\s*$/.exec(term);
    if (match && match[1] !== '.' && match[1] !== '..') {
      return match[1];
    }
  }
  return undefined;
}

/** The attributes Kubernetes authorizes a request by, from its method, path and query. */
export function requestAttributes(method: string, path: string, query: URLSearchParams): RequestAttributes {
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  const nonResource = { kind: 'nonResource' as const, verb: method.toLowerCase(), path };
  // /api/v1, /apis/<group> and /apis/<group>/<version> are discovery documents, not resources.
  if (parts.length < 3 || (parts[0] !== 'api' && parts[0] !== 'apis')) {
    return nonResource;
  }
  let rest = parts.slice(1);
  let apiGroup = '';
  if (parts[0] === 'apis') {
    if (rest.length < 3) {
      return nonResource;
    }
    [apiGroup, rest] = [rest[0] ?? '', rest.slice(1)];
  }
  rest = rest.slice(1); // the version
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length > 1) {
    namespace = rest[1]; // also for the namespace itself: a RoleBinding in it can grant reading it
    if (rest.length > 2 && !NAMESPACE_SUBRESOURCES.has(rest[2] ?? '')) {
      rest = rest.slice(2);
    }
  }
  const [resource, pathName, subresource] = rest as [string, string?, string?];
  let verb = RESOURCE_VERBS[method] ?? '';
  let name: string | undefined = pathName;
  if (name === undefined && verb === 'get') {
    verb = isWatchRequest(query) ? 'watch' : 'list';
    name = nameFromFieldSelector(query);
  } else if (name === undefined && verb === 'delete') {
    verb = 'deletecollection';
  }
  return {
    kind: 'resource',
    verb,
    apiGroup,
    resource,
    ...(subresource !== undefined ? { subresource } : {}),
    ...(namespace !== undefined ? { namespace } : {}),
    ...(name !== undefined ? { name } : {}),
  };
}

const matchesOrAll = (values: string[] | undefined, wanted: string) =>
  (values ?? []).some((value) => value === '*' || value === wanted);

/** `pods/log` is matched by `pods/log`, `*\/log` and `*`; `pods` alone does not cover its subresources. */
function resourceMatches(rule: PolicyRule, resource: string, subresource: string | undefined): boolean {
  const combined = subresource ? `${resource}/${subresource}` : resource;
  return (rule.resources ?? []).some(
    (candidate) =>
      candidate === '*' || candidate === combined || (!!subresource && candidate === `*/${subresource}`),
  );
}

function nonResourceURLMatches(rule: PolicyRule, path: string): boolean {
  return (rule.nonResourceURLs ?? []).some(
    (url) => url === '*' || url === path || (url.endsWith('*') && path.startsWith(url.replace(/\*+$/, ''))),
  );
}

/** Whether one policy rule grants a request (Kubernetes' `RuleAllows`). */
export function ruleAllows(rule: PolicyRule, request: RequestAttributes): boolean {
  if (!matchesOrAll(rule.verbs, request.verb)) {
    return false;
  }
  if (request.kind === 'nonResource') {
    return nonResourceURLMatches(rule, request.path);
  }
  const names = rule.resourceNames ?? [];
  return (
    matchesOrAll(rule.apiGroups, request.apiGroup) &&
    resourceMatches(rule, request.resource, request.subresource) &&
    (names.length === 0 || (request.name !== undefined && names.includes(request.name)))
  );
}

/**
 * Whether a binding's subject is this user. A ServiceAccount subject without a namespace means the
 * binding's own namespace (so never anything in a ClusterRoleBinding).
 */
export function subjectMatches(
  subject: Subject,
  user: UserInfo,
  bindingNamespace: string | undefined,
): boolean {
  switch (subject.kind) {
    case 'User':
      return user.name === subject.name;
    case 'Group':
      return user.groups.includes(subject.name);
    case 'ServiceAccount': {
      const namespace = subject.namespace || bindingNamespace;
      return !!namespace && user.name === `system:serviceaccount:${namespace}:${subject.name}`;
    }
    default:
      return false;
  }
}

/** The role a binding refers to, or RBAC's error when it cannot be found. */
function referencedRole(
  binding: RoleBinding,
  view: RbacView,
): { role: Role; error?: undefined } | { role?: undefined; error: string } {
  const { kind, name } = binding.roleRef;
  const namespace = binding.metadata.namespace;
  const role =
    kind === 'ClusterRole'
      ? view.clusterRole(name)
      : kind === 'Role' && namespace
        ? view.role(namespace, name)
        : undefined;
  if (role) {
    return { role };
  }
  if (kind !== 'Role' && kind !== 'ClusterRole') {
    return { error: `unsupported role reference kind: "${kind}"` };
  }
  return { error: `${kind.toLowerCase()}.${RBAC_GROUP} "${name}" not found` };
}

/**
 * Kubernetes' RBAC authorizer: ClusterRoleBindings grant their ClusterRole's rules everywhere;
 * RoleBindings grant theirs only for requests in their own namespace. Deny unless a rule allows.
 */
export function authorize(user: UserInfo, request: RequestAttributes, view: RbacView): Decision {
  if (PUBLIC_RULES.some((rule) => ruleAllows(rule, request))) {
    return { allowed: true };
  }
  const namespace = request.kind === 'resource' ? request.namespace : undefined;
  const bindings = [...view.clusterRoleBindings(), ...(namespace ? view.roleBindings(namespace) : [])];
  const errors: string[] = [];
  for (const binding of bindings) {
    const bindingNamespace = binding.metadata.namespace;
    if (!(binding.subjects ?? []).some((subject) => subjectMatches(subject, user, bindingNamespace))) {
      continue;
    }
    const { role, error } = referencedRole(binding, view);
    if (error !== undefined) {
      errors.push(error);
    } else if ((role.rules ?? []).some((rule) => ruleAllows(rule, request))) {
      return { allowed: true };
    }
  }
  // Go's aggregated error: one message alone, several in brackets.
  const joined = errors.length === 1 ? errors[0] : `[${errors.join(', ')}]`;
  return { allowed: false, ...(errors.length > 0 ? { reason: `RBAC: ${joined}` } : {}) };
}

/** The 403 a real API server answers, worded as Kubernetes words it. */
export function forbidden(user: UserInfo, request: RequestAttributes, reason?: string): StatusError {
  // The authorizer union names the authorizer whose error it passes on (`rbac: RBAC: …`).
  const because = reason ? `: rbac: ${reason}` : '';
  if (request.kind === 'nonResource') {
    return new StatusError(
      'Forbidden',
      `forbidden: User "${user.name}" cannot ${request.verb} path "${request.path}"${because}`,
      {},
    );
  }
  const { verb, apiGroup, resource, subresource, namespace, name } = request;
  const shown = subresource ? `${resource}/${subresource}` : resource;
  const scope = namespace ? `in the namespace "${namespace}"` : 'at the cluster scope';
  const why = `User "${user.name}" cannot ${verb} resource "${shown}" in API group "${apiGroup}" ${scope}${because}`;
  const qualified = apiGroup ? `${resource}.${apiGroup}` : resource;
  return new StatusError(
    'Forbidden',
    name ? `${qualified} "${name}" is forbidden: ${why}` : `${qualified} is forbidden: ${why}`,
    { ...(name ? { name } : {}), group: apiGroup, kind: resource },
  );
}

/** An RBAC view over the simulator's store: every decision reads the objects as they are now. */
export function liveRbac(store: ObjectStore): RbacView {
  const type = (plural: string): ResourceType => findType(RBAC_GROUP, 'v1', plural)!;
  const asBinding = (object: K8sObject) => object as unknown as RoleBinding;
  const asRole = (object: K8sObject | undefined) => object as unknown as Role | undefined;
  return {
    clusterRoleBindings: () => store.list(type('clusterrolebindings')).map(asBinding),
    roleBindings: (namespace) => store.list(type('rolebindings'), namespace).map(asBinding),
    clusterRole: (name) => asRole(store.get(type('clusterroles'), undefined, name)),
    role: (namespace, name) => asRole(store.get(type('roles'), namespace, name)),
  };
}

/** One decision on a token user's resource request, for tests to read back (`SimulatedApiServer.authorizations`). */
export interface AuthorizationRecord extends ResourceAttributes {
  user: string;
  allowed: boolean;
}

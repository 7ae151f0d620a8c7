import {
  authorize,
  forbidden,
  requestAttributes,
  ruleAllows,
  serviceAccountUser,
  subjectMatches,
  type RbacView,
  type RequestAttributes,
  type Role,
  type RoleBinding,
} from './rbac';

const GROUP = 'rbac.authorization.k8s.io';
const deployer = serviceAccountUser('odc', 'odc-deployer');
const query = (text = '') => new URLSearchParams(text);
const resource = (attributes: Omit<Extract<RequestAttributes, { kind: 'resource' }>, 'kind'>) =>
  ({ kind: 'resource', ...attributes }) as const;

describe('requestAttributes (what Kubernetes authorizes a request by)', () => {
  it.each([
    ['GET', '/api/v1/namespaces/gpu-dev/pods', '', { verb: 'list', resource: 'pods', namespace: 'gpu-dev' }],
    ['GET', '/api/v1/namespaces/gpu-dev/pods', 'watch=true', { verb: 'watch', namespace: 'gpu-dev' }],
    ['GET', '/api/v1/namespaces/gpu-dev/pods/web', '', { verb: 'get', name: 'web' }],
    ['GET', '/api/v1/namespaces/gpu-dev/pods/web/log', '', { verb: 'get', subresource: 'log', name: 'web' }],
    ['POST', '/api/v1/namespaces/odc/serviceaccounts/sa/token', '', { verb: 'create', subresource: 'token' }],
    ['PUT', '/apis/apps/v1/namespaces/a/deployments/d', '', { verb: 'update', apiGroup: 'apps' }],
    [
      'PATCH',
      '/apis/apps/v1/namespaces/a/deployments/d/status',
      '',
      { verb: 'patch', subresource: 'status' },
    ],
    ['DELETE', '/api/v1/namespaces/a/pods/p', '', { verb: 'delete', name: 'p' }],
    ['DELETE', '/api/v1/namespaces/a/pods', '', { verb: 'deletecollection', namespace: 'a' }],
    ['GET', '/api/v1/nodes', '', { verb: 'list', resource: 'nodes', apiGroup: '' }],
    ['GET', '/api/v1/pods', 'fieldSelector=metadata.name%3Dweb', { verb: 'list', name: 'web' }],
    // The namespace itself is "in" the namespace: a RoleBinding there can grant reading it.
    ['GET', '/api/v1/namespaces/a', '', { resource: 'namespaces', namespace: 'a', name: 'a' }],
    ['PUT', '/api/v1/namespaces/a/finalize', '', { resource: 'namespaces', subresource: 'finalize' }],
  ])('%s %s?%s', (method, path, search, expected) => {
    expect(requestAttributes(method, path, query(search))).toMatchObject({ kind: 'resource', ...expected });
  });

  it('leaves out what the URL does not say', () => {
    expect(requestAttributes('GET', '/api/v1/nodes', query())).toEqual({
      kind: 'resource',
      verb: 'list',
      apiGroup: '',
      resource: 'nodes',
    });
  });

  it.each(['/api', '/api/v1', '/apis', '/apis/apps', '/apis/apps/v1', '/version', '/openapi/v3', '/healthz'])(
    '%s is a non-resource request',
    (path) => {
      expect(requestAttributes('GET', path, query())).toEqual({ kind: 'nonResource', verb: 'get', path });
    },
  );
});

describe('ruleAllows', () => {
  const list = resource({ verb: 'list', apiGroup: '', resource: 'pods', namespace: 'a' });

  it('matches verbs, groups and resources exactly or by *', () => {
    expect(ruleAllows({ verbs: ['get', 'list'], apiGroups: [''], resources: ['pods'] }, list)).toBe(true);
    expect(ruleAllows({ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }, list)).toBe(true);
    expect(ruleAllows({ verbs: ['get'], apiGroups: [''], resources: ['pods'] }, list)).toBe(false);
    expect(ruleAllows({ verbs: ['list'], apiGroups: ['apps'], resources: ['pods'] }, list)).toBe(false);
    expect(ruleAllows({ verbs: ['list'], apiGroups: [''], resources: ['services'] }, list)).toBe(false);
    expect(ruleAllows({ verbs: ['list'], resources: ['pods'] }, list)).toBe(false); // no apiGroups: none
  });

  it('needs its own rule for a subresource (or */subresource)', () => {
    const log = resource({ verb: 'get', apiGroup: '', resource: 'pods', subresource: 'log', name: 'p' });
    expect(ruleAllows({ verbs: ['get'], apiGroups: [''], resources: ['pods'] }, log)).toBe(false);
    expect(ruleAllows({ verbs: ['get'], apiGroups: [''], resources: ['pods/log'] }, log)).toBe(true);
    expect(ruleAllows({ verbs: ['get'], apiGroups: [''], resources: ['*/log'] }, log)).toBe(true);
    expect(ruleAllows({ verbs: ['get'], apiGroups: [''], resources: ['*/status'] }, log)).toBe(false);
  });

  it('with resourceNames, allows only requests that name one of them', () => {
    const rule = {
      verbs: ['get', 'list'],
      apiGroups: [''],
      resources: ['configmaps'],
      resourceNames: ['odc'],
    };
    const get = (name?: string) =>
      resource({
        verb: name ? 'get' : 'list',
        apiGroup: '',
        resource: 'configmaps',
        ...(name ? { name } : {}),
      });
    expect(ruleAllows(rule, get('odc'))).toBe(true);
    expect(ruleAllows(rule, get('other'))).toBe(false);
    expect(ruleAllows(rule, get())).toBe(false);
  });

  it('matches non-resource URLs exactly or by a trailing *', () => {
    const metrics = { kind: 'nonResource', verb: 'get', path: '/metrics/cadvisor' } as const;
    expect(ruleAllows({ verbs: ['get'], nonResourceURLs: ['/metrics/*'] }, metrics)).toBe(true);
    expect(ruleAllows({ verbs: ['get'], nonResourceURLs: ['/metrics'] }, metrics)).toBe(false);
    expect(ruleAllows({ verbs: ['get'], apiGroups: ['*'], resources: ['*'] }, metrics)).toBe(false);
  });
});

describe('subjectMatches', () => {
  it('knows service accounts, users and groups', () => {
    expect(
      subjectMatches({ kind: 'ServiceAccount', name: 'odc-deployer', namespace: 'odc' }, deployer, 'x'),
    ).toBe(true);
    expect(subjectMatches({ kind: 'ServiceAccount', name: 'odc-deployer' }, deployer, 'odc')).toBe(true);
    expect(subjectMatches({ kind: 'ServiceAccount', name: 'odc-deployer' }, deployer, undefined)).toBe(false);
    expect(subjectMatches({ kind: 'ServiceAccount', name: 'other', namespace: 'odc' }, deployer, 'odc')).toBe(
      false,
    );
    expect(
      subjectMatches({ kind: 'User', name: 'system:serviceaccount:odc:odc-deployer' }, deployer, 'a'),
    ).toBe(true);
    expect(subjectMatches({ kind: 'Group', name: 'system:serviceaccounts:odc' }, deployer, 'a')).toBe(true);
    expect(subjectMatches({ kind: 'Group', name: 'system:masters' }, deployer, 'a')).toBe(false);
  });
});

describe('authorize', () => {
  const reader: Role = { rules: [{ verbs: ['get', 'list'], apiGroups: [''], resources: ['pods'] }] };
  const subjects = [{ kind: 'ServiceAccount', name: 'odc-deployer', namespace: 'odc' }];
  const binding = (name: string, roleRef: RoleBinding['roleRef'], namespace?: string): RoleBinding => ({
    metadata: { name, ...(namespace ? { namespace } : {}) },
    subjects,
    roleRef,
  });
  const view = (
    parts: Partial<Record<'roles' | 'clusterRoles', Record<string, Role>>> & {
      roleBindings?: RoleBinding[];
      clusterRoleBindings?: RoleBinding[];
    },
  ): RbacView => ({
    clusterRoleBindings: () => parts.clusterRoleBindings ?? [],
    roleBindings: (namespace) => (parts.roleBindings ?? []).filter((b) => b.metadata.namespace === namespace),
    clusterRole: (name) => parts.clusterRoles?.[name],
    role: (namespace, name) => parts.roles?.[`${namespace}/${name}`],
  });
  const listPods = (namespace?: string) =>
    resource({ verb: 'list', apiGroup: '', resource: 'pods', ...(namespace ? { namespace } : {}) });

  it('grants a Role through a RoleBinding in its namespace only', () => {
    const rbac = view({
      roles: { 'gpu-dev/reader': reader },
      roleBindings: [binding('b', { apiGroup: GROUP, kind: 'Role', name: 'reader' }, 'gpu-dev')],
    });
    expect(authorize(deployer, listPods('gpu-dev'), rbac)).toEqual({ allowed: true });
    expect(authorize(deployer, listPods('other'), rbac)).toEqual({ allowed: false });
    expect(authorize(deployer, listPods(), rbac)).toEqual({ allowed: false });
  });

  it('grants a ClusterRole everywhere through a ClusterRoleBinding, in one namespace through a RoleBinding', () => {
    const clusterRoles = { reader };
    const everywhere = view({
      clusterRoles,
      clusterRoleBindings: [binding('c', { apiGroup: GROUP, kind: 'ClusterRole', name: 'reader' })],
    });
    expect(authorize(deployer, listPods(), everywhere).allowed).toBe(true);
    expect(authorize(deployer, listPods('any'), everywhere).allowed).toBe(true);
    const inOne = view({
      clusterRoles,
      roleBindings: [binding('b', { apiGroup: GROUP, kind: 'ClusterRole', name: 'reader' }, 'gpu-dev')],
    });
    expect(authorize(deployer, listPods('gpu-dev'), inOne).allowed).toBe(true);
    expect(authorize(deployer, listPods(), inOne).allowed).toBe(false);
  });

  it('says which role a binding of the user refers to is missing', () => {
    const rbac = view({
      roleBindings: [binding('b', { apiGroup: GROUP, kind: 'Role', name: 'gone' }, 'gpu-dev')],
    });
    expect(authorize(deployer, listPods('gpu-dev'), rbac)).toEqual({
      allowed: false,
      reason: 'RBAC: role.rbac.authorization.k8s.io "gone" not found',
    });
  });

  it('lets every authenticated user read discovery, version and health, and nothing else by default', () => {
    const none = view({});
    for (const path of ['/api', '/apis/apps/v1', '/openapi/v3/apis/apps/v1', '/version', '/readyz']) {
      expect(authorize(deployer, { kind: 'nonResource', verb: 'get', path }, none).allowed).toBe(true);
    }
    expect(authorize(deployer, { kind: 'nonResource', verb: 'get', path: '/metrics' }, none).allowed).toBe(
      false,
    );
    expect(authorize(deployer, listPods('odc'), none).allowed).toBe(false);
  });
});

describe('forbidden', () => {
  it('words the 403 as Kubernetes does', () => {
    expect(
      forbidden(deployer, resource({ verb: 'list', apiGroup: '', resource: 'pods', namespace: 'gpu-dev' }))
        .message,
    ).toBe(
      'pods is forbidden: User "system:serviceaccount:odc:odc-deployer" cannot list resource "pods" in API group "" in the namespace "gpu-dev"',
    );
    expect(
      forbidden(deployer, resource({ verb: 'get', apiGroup: '', resource: 'nodes', name: 'n1' })).message,
    ).toBe(
      'nodes "n1" is forbidden: User "system:serviceaccount:odc:odc-deployer" cannot get resource "nodes" in API group "" at the cluster scope',
    );
    const log = resource({
      verb: 'get',
      apiGroup: '',
      resource: 'pods',
      subresource: 'log',
      namespace: 'a',
      name: 'p',
    });
    expect(forbidden(deployer, log).message).toBe(
      'pods "p" is forbidden: User "system:serviceaccount:odc:odc-deployer" cannot get resource "pods/log" in API group "" in the namespace "a"',
    );
    const apps = resource({ verb: 'create', apiGroup: 'apps', resource: 'deployments', namespace: 'a' });
    expect(forbidden(deployer, apps, 'RBAC: role.rbac.authorization.k8s.io "x" not found')).toMatchObject({
      code: 403,
      reason: 'Forbidden',
      message:
        'deployments.apps is forbidden: User "system:serviceaccount:odc:odc-deployer" cannot create resource "deployments" in API group "apps" in the namespace "a": rbac: RBAC: role.rbac.authorization.k8s.io "x" not found',
    });
    expect(forbidden(deployer, { kind: 'nonResource', verb: 'get', path: '/metrics' }).message).toBe(
      'forbidden: User "system:serviceaccount:odc:odc-deployer" cannot get path "/metrics"',
    );
  });
});

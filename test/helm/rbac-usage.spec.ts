/**
 * How the real API server's audit events become authorization records (what
 * test/helm/deployer-rbac.spec.ts reads on the real tier), and how grants are judged needed.
 */
import { auditRecords, unneededGrants, type AuditEvent, type RbacObject } from './rbac-usage';

const USER = 'system:serviceaccount:odc-system:odc-deployer';

function event(overrides: Partial<AuditEvent> & { code: number; decision?: string }): AuditEvent {
  const { code, decision = 'allow', ...rest } = overrides;
  return {
    auditID: Math.random().toString(16).slice(2),
    stage: 'ResponseComplete',
    requestURI: '/api/v1/namespaces/w/configmaps/c',
    verb: 'get',
    user: { username: USER },
    objectRef: { resource: 'configmaps', namespace: 'w', name: 'c' },
    responseStatus: { code },
    annotations: { 'authorization.k8s.io/decision': decision },
    ...rest,
  };
}

describe('audit events as authorization records', () => {
  it('a server-side apply that created its object was authorized to patch and to create', () => {
    expect(auditRecords([event({ verb: 'patch', code: 201 })], USER)).toEqual([
      {
        user: USER,
        verb: 'patch',
        apiGroup: '',
        resource: 'configmaps',
        namespace: 'w',
        name: 'c',
        allowed: true,
      },
      {
        user: USER,
        verb: 'create',
        apiGroup: '',
        resource: 'configmaps',
        namespace: 'w',
        name: 'c',
        allowed: true,
      },
    ]);
    expect(auditRecords([event({ verb: 'patch', code: 200 })], USER).map((r) => r.verb)).toEqual(['patch']);
  });

  it('refused: forbidden by the authorizer, or a 403 after it (an apply not allowed to create)', () => {
    const records = auditRecords(
      [
        event({
          verb: 'list',
          code: 403,
          decision: 'forbid',
          objectRef: { resource: 'secrets', namespace: 'w' },
        }),
        event({ verb: 'patch', code: 403 }),
        event({ verb: 'get', code: 404 }),
      ],
      USER,
    );
    expect(records.map((r) => [r.verb, r.resource, r.allowed])).toEqual([
      ['list', 'secrets', false],
      ['patch', 'configmaps', false],
      ['get', 'configmaps', true],
    ]);
  });

  it("keeps a request's last stage, a subresource and group, others' requests left out, non-resource ones only when refused", () => {
    const watch = event({
      verb: 'watch',
      code: 200,
      objectRef: { apiGroup: 'apps', resource: 'deployments', namespace: 'w' },
    });
    const records = auditRecords(
      [
        { ...watch, stage: 'ResponseStarted' },
        watch,
        event({ code: 200, objectRef: { resource: 'pods', subresource: 'log', namespace: 'w', name: 'p' } }),
        event({ code: 200, user: { username: 'system:serviceaccount:other:x' } }),
        event({ code: 200, requestURI: '/version', objectRef: undefined }),
        event({ code: 403, decision: 'forbid', requestURI: '/metrics', objectRef: undefined }),
      ],
      USER,
    );
    expect(records.map((r) => [r.verb, r.apiGroup, r.resource, r.subresource, r.allowed])).toEqual([
      ['watch', 'apps', 'deployments', undefined, true],
      ['get', '', 'pods', 'log', true],
      ['get', '', '/metrics', undefined, false],
    ]);
  });
});

describe('needed grants', () => {
  const role: RbacObject = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: { name: 'r', namespace: 'w' },
    rules: [
      { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] },
      { apiGroups: [''], resources: ['pods/log'], verbs: ['get'] },
    ],
  };
  const clusterRole: RbacObject = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name: 'c' },
    rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['list'] }],
  };
  const used = (verb: string, resource: string, namespace?: string, subresource?: string) => ({
    user: USER,
    verb,
    apiGroup: '',
    resource,
    ...(subresource ? { subresource } : {}),
    ...(namespace ? { namespace } : {}),
    allowed: true,
  });

  it("a Role's grant that the ClusterRole covers too is not needed; a refused request needs nothing", () => {
    const records = [
      used('get', 'pods', 'w'),
      used('list', 'pods', 'w'),
      used('list', 'pods'),
      { ...used('get', 'pods', 'w', 'log'), allowed: false },
    ];
    expect(unneededGrants(role, clusterRole, records, 'w')).toEqual({
      unneeded: [
        { by: 'Role', apiGroup: '', resource: 'pods', verb: 'list' },
        { by: 'Role', apiGroup: '', resource: 'pods/log', verb: 'get' },
      ],
      unneededCluster: [],
    });
  });

  it("the ClusterRole's grant is needed only outside what the Role covers", () => {
    const records = [used('get', 'pods', 'w'), used('list', 'pods', 'w'), used('get', 'pods', 'w', 'log')];
    expect(unneededGrants(role, clusterRole, records, 'w').unneededCluster).toEqual([
      { by: 'ClusterRole', apiGroup: '', resource: 'pods', verb: 'list' },
    ]);
  });
});

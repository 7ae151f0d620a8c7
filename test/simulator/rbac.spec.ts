import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PatchStrategy, type KubernetesObject, type V1PolicyRule } from '@kubernetes/client-node';
import { SimulatedApiServer } from '../../src/simulator/api-server';
import { kubeClients, statusOf } from './kube';

const run = promisify(execFile);
const hasKubectl = spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).status === 0;

const RBAC = 'rbac.authorization.k8s.io';
const DEPLOYER = 'system:serviceaccount:odc:odc-deployer';
type Named = KubernetesObject & { metadata: { name: string; namespace?: string } };
const object = (value: object) => value as Named;

describe('service accounts, RBAC and NetworkPolicy in the simulated API server', () => {
  let server: SimulatedApiServer;
  let admin: ReturnType<typeof kubeClients>;

  const serviceAccount = (namespace: string, name: string) =>
    admin.core.createNamespacedServiceAccount({ namespace, body: { metadata: { name } } });
  const tokenFor = async (name = 'odc-deployer', namespace = 'odc') =>
    (
      await admin.core.createNamespacedServiceAccountToken({
        name,
        namespace,
        body: { spec: { audiences: [] } },
      })
    ).status!.token!;
  const role = (namespace: string, name: string, rules: V1PolicyRule[]) =>
    admin.rbac.createNamespacedRole({ namespace, body: { metadata: { name }, rules } });
  const bindDeployer = (namespace: string, name: string, kind: 'Role' | 'ClusterRole', roleName: string) =>
    admin.rbac.createNamespacedRoleBinding({
      namespace,
      body: {
        metadata: { name },
        roleRef: { apiGroup: RBAC, kind, name: roleName },
        subjects: [{ kind: 'ServiceAccount', name: 'odc-deployer', namespace: 'odc' }],
      },
    });
  const configMap = (namespace: string, name: string) =>
    object({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace }, data: { a: 'b' } });

  beforeAll(async () => {
    server = await SimulatedApiServer.start();
    admin = kubeClients(server.url);
    for (const name of ['odc', 'gpu-dev', 'other']) {
      await admin.core.createNamespace({ body: { metadata: { name } } });
    }
    await serviceAccount('odc', 'odc-deployer');
    await admin.core.createNamespacedPod({
      namespace: 'gpu-dev',
      body: { metadata: { name: 'web' }, spec: { containers: [{ name: 'main', image: 'busybox' }] } },
    });
  });

  afterAll(() => server.close());

  describe('TokenRequest', () => {
    it('issues a new token for an existing service account', async () => {
      const before = Date.now();
      const response = await admin.core.createNamespacedServiceAccountToken({
        name: 'odc-deployer',
        namespace: 'odc',
        body: { spec: { audiences: [] } },
      });
      expect(response).toMatchObject({
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenRequest',
        metadata: { name: 'odc-deployer', namespace: 'odc' },
        spec: { expirationSeconds: 3600 },
      });
      const expires = response.status!.expirationTimestamp!.getTime();
      expect(expires).toBeGreaterThanOrEqual(before + 3599_000);
      expect(expires).toBeLessThanOrEqual(Date.now() + 3600_000);
      expect(response.status!.token).toMatch(/^\S{20,}$/);
      expect(await tokenFor()).not.toBe(response.status!.token);
    });

    it('is 404 for a service account that does not exist, 422 for a duration under ten minutes', async () => {
      expect(await statusOf(tokenFor('nobody'))).toMatchObject({
        code: 404,
        reason: 'NotFound',
        message: 'serviceaccounts "nobody" not found',
      });
      const short = admin.core.createNamespacedServiceAccountToken({
        name: 'odc-deployer',
        namespace: 'odc',
        body: { spec: { audiences: [], expirationSeconds: 60 } },
      });
      expect(await statusOf(short)).toMatchObject({ code: 422, reason: 'Invalid' });
    });

    it('is announced by discovery', async () => {
      const core = await admin.core.getAPIResources();
      expect(core.resources.find((r) => r.name === 'serviceaccounts/token')).toMatchObject({
        kind: 'TokenRequest',
        group: 'authentication.k8s.io',
        version: 'v1',
        verbs: ['create'],
      });
      expect(core.resources.find((r) => r.name === 'serviceaccounts')?.shortNames).toEqual(['sa']);
    });
  });

  describe('authentication', () => {
    // client-node drops the body of a 401 (its generated code has no type for it): the code, then fetch for the Status.
    const codeOf = (call: Promise<unknown>) =>
      call.then(
        () => 200,
        (error: { code: number }) => error.code,
      );
    const asBearer = (token: string, path = '/api/v1/namespaces/gpu-dev/pods') =>
      fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${token}` } });

    it('answers 401 for a token it never issued, even on discovery', async () => {
      const stranger = kubeClients(server.url, 'not-a-token');
      expect(await codeOf(stranger.core.listNamespacedPod({ namespace: 'gpu-dev' }))).toBe(401);
      expect(await codeOf(stranger.version.getCode())).toBe(401);
      const response = await asBearer('not-a-token');
      expect(response.status).toBe(401);
      expect(await response.json()).toEqual({
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: 'Unauthorized',
        reason: 'Unauthorized',
        code: 401,
      });
      const basic = await fetch(`${server.url}/version`, {
        headers: { authorization: 'Basic YWRtaW46YWRtaW4=' },
      });
      expect(basic.status).toBe(401);
    });

    it('answers 401 for the token of a deleted service account, even once the name is back', async () => {
      await serviceAccount('odc', 'short-lived');
      const token = await tokenFor('short-lived');
      expect((await asBearer(token, '/version')).status).toBe(200);
      await admin.core.deleteNamespacedServiceAccount({ namespace: 'odc', name: 'short-lived' });
      expect((await asBearer(token, '/version')).status).toBe(401);
      await serviceAccount('odc', 'short-lived');
      expect(await codeOf(kubeClients(server.url, token).version.getCode())).toBe(401);
    });

    it('lets a token user with no bindings read discovery, and nothing else', async () => {
      await serviceAccount('odc', 'nobody-bound');
      const nobody = kubeClients(server.url, await tokenFor('nobody-bound'));
      expect((await nobody.version.getCode()).gitVersion).toBe('v1.32.0-odc-sim');
      expect((await nobody.core.getAPIResources()).resources.length).toBeGreaterThan(0);
      expect((await nobody.rbac.getAPIResources()).groupVersion).toBe(`${RBAC}/v1`);
      const response = await fetch(`${server.url}/apis`, {
        headers: { authorization: `Bearer ${await tokenFor('nobody-bound')}` },
      });
      expect(response.status).toBe(200);
      expect(await statusOf(nobody.core.listNamespace())).toMatchObject({
        code: 403,
        message:
          'namespaces is forbidden: User "system:serviceaccount:odc:nobody-bound" cannot list resource "namespaces" in API group "" at the cluster scope',
      });
    });
  });

  describe('authorization', () => {
    let deployer: ReturnType<typeof kubeClients>;

    beforeAll(async () => {
      deployer = kubeClients(server.url, await tokenFor());
    });

    it('a Role and RoleBinding allow get and list in their namespace, and nothing in another', async () => {
      await role('gpu-dev', 'pod-reader', [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] }]);
      await bindDeployer('gpu-dev', 'deployer-reads-pods', 'Role', 'pod-reader');

      const pods = await deployer.core.listNamespacedPod({ namespace: 'gpu-dev' });
      expect(pods.items.map((p) => p.metadata?.name)).toEqual(['web']);
      expect(
        (await deployer.core.readNamespacedPod({ namespace: 'gpu-dev', name: 'web' })).metadata?.name,
      ).toBe('web');
      expect(await statusOf(deployer.core.listNamespacedPod({ namespace: 'other' }))).toEqual({
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: `pods is forbidden: User "${DEPLOYER}" cannot list resource "pods" in API group "" in the namespace "other"`,
        reason: 'Forbidden',
        details: { kind: 'pods' },
        code: 403,
      });
      expect(await statusOf(deployer.core.listPodForAllNamespaces())).toMatchObject({
        code: 403,
        message: `pods is forbidden: User "${DEPLOYER}" cannot list resource "pods" in API group "" at the cluster scope`,
      });
      expect(
        await statusOf(deployer.core.deleteNamespacedPod({ namespace: 'gpu-dev', name: 'web' })),
      ).toMatchObject({
        code: 403,
        message: `pods "web" is forbidden: User "${DEPLOYER}" cannot delete resource "pods" in API group "" in the namespace "gpu-dev"`,
      });
    });

    it('takes a binding changed at run time into account at once', async () => {
      await bindDeployer('other', 'temporary', 'Role', 'missing-role');
      expect(await statusOf(deployer.core.listNamespacedPod({ namespace: 'other' }))).toMatchObject({
        code: 403,
        message: `pods is forbidden: User "${DEPLOYER}" cannot list resource "pods" in API group "" in the namespace "other": rbac: RBAC: role.rbac.authorization.k8s.io "missing-role" not found`,
      });
      await role('other', 'missing-role', [{ apiGroups: [''], resources: ['pods'], verbs: ['list'] }]);
      expect((await deployer.core.listNamespacedPod({ namespace: 'other' })).items).toEqual([]);
      await admin.rbac.deleteNamespacedRoleBinding({ namespace: 'other', name: 'temporary' });
      expect(await statusOf(deployer.core.listNamespacedPod({ namespace: 'other' }))).toMatchObject({
        code: 403,
      });
    });

    it('a ClusterRoleBinding grants a ClusterRole that reads nodes', async () => {
      await admin.core.createNode({ body: { metadata: { name: 'node-1' } } });
      expect(await statusOf(deployer.core.listNode())).toMatchObject({
        code: 403,
        message: `nodes is forbidden: User "${DEPLOYER}" cannot list resource "nodes" in API group "" at the cluster scope`,
      });
      await admin.rbac.createClusterRole({
        body: {
          metadata: { name: 'odc:node-reader' },
          rules: [{ apiGroups: [''], resources: ['nodes'], verbs: ['get', 'list', 'watch'] }],
        },
      });
      await admin.rbac.createClusterRoleBinding({
        body: {
          metadata: { name: 'odc:deployer-reads-nodes' },
          roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: 'odc:node-reader' },
          subjects: [{ kind: 'ServiceAccount', name: 'odc-deployer', namespace: 'odc' }],
        },
      });
      expect((await deployer.core.listNode()).items.map((n) => n.metadata?.name)).toEqual(['node-1']);
      expect((await deployer.core.readNode({ name: 'node-1' })).metadata?.name).toBe('node-1');
      expect(await statusOf(deployer.core.deleteNode({ name: 'node-1' }))).toMatchObject({ code: 403 });
    });

    it('needs a rule of its own for a subresource (pods/log)', async () => {
      const log = () => deployer.core.readNamespacedPodLog({ namespace: 'gpu-dev', name: 'web' });
      expect(await statusOf(log())).toMatchObject({
        code: 403,
        message: `pods "web" is forbidden: User "${DEPLOYER}" cannot get resource "pods/log" in API group "" in the namespace "gpu-dev"`,
      });
      await admin.rbac.patchNamespacedRole({
        namespace: 'gpu-dev',
        name: 'pod-reader',
        body: [
          {
            op: 'add',
            path: '/rules/-',
            value: { apiGroups: [''], resources: ['pods/log'], verbs: ['get'] },
          },
        ],
      });
      expect(await log()).toBe('');
    });

    it('server-side apply of an object that does not exist yet needs create as well as patch', async () => {
      await role('gpu-dev', 'configmap-patcher', [
        { apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'patch'] },
      ]);
      await bindDeployer('gpu-dev', 'deployer-patches-configmaps', 'Role', 'configmap-patcher');
      const apply = (name: string) =>
        deployer.objects.patch(
          configMap('gpu-dev', name),
          undefined,
          undefined,
          'odc-deployer',
          true,
          PatchStrategy.ServerSideApply,
        );

      server.clearAuthorizations();
      expect(await statusOf(apply('settings'))).toMatchObject({
        code: 403,
        message: `configmaps "settings" is forbidden: User "${DEPLOYER}" cannot create resource "configmaps" in API group "" in the namespace "gpu-dev"`,
      });
      const decision = {
        user: DEPLOYER,
        apiGroup: '',
        resource: 'configmaps',
        namespace: 'gpu-dev',
        name: 'settings',
      };
      expect(server.authorizations).toEqual([
        { ...decision, verb: 'patch', allowed: true },
        { ...decision, verb: 'create', allowed: false },
      ]);

      await admin.core.createNamespacedConfigMap({
        namespace: 'gpu-dev',
        body: { metadata: { name: 'settings' } },
      });
      expect((await apply('settings')).metadata?.name).toBe('settings');

      await admin.rbac.patchNamespacedRole({
        namespace: 'gpu-dev',
        name: 'configmap-patcher',
        body: [{ op: 'add', path: '/rules/0/verbs/-', value: 'create' }],
      });
      expect((await apply('created-by-apply')).metadata?.name).toBe('created-by-apply');
    });

    it('records each decision on a token user’s resource requests, and not the discovery ones', async () => {
      server.clearAuthorizations();
      await deployer.core.getAPIResources();
      await deployer.core.listNamespacedPod({ namespace: 'gpu-dev' });
      await statusOf(deployer.core.readNamespacedSecret({ namespace: 'gpu-dev', name: 'token' }));
      await admin.core.listNamespacedPod({ namespace: 'gpu-dev' }); // the anonymous admin is not recorded
      expect(server.authorizations).toEqual([
        { user: DEPLOYER, verb: 'list', apiGroup: '', resource: 'pods', namespace: 'gpu-dev', allowed: true },
        {
          user: DEPLOYER,
          verb: 'get',
          apiGroup: '',
          resource: 'secrets',
          namespace: 'gpu-dev',
          name: 'token',
          allowed: false,
        },
      ]);
      server.clearAuthorizations();
      expect(server.authorizations).toEqual([]);
    });
  });

  describe('the new kinds', () => {
    const fixtures = [
      { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'sa', namespace: 'gpu-dev' } },
      {
        apiVersion: `${RBAC}/v1`,
        kind: 'Role',
        metadata: { name: 'r', namespace: 'gpu-dev' },
        rules: [{ apiGroups: ['apps'], resources: ['deployments'], verbs: ['*'] }],
      },
      {
        apiVersion: `${RBAC}/v1`,
        kind: 'RoleBinding',
        metadata: { name: 'rb', namespace: 'gpu-dev' },
        roleRef: { apiGroup: RBAC, kind: 'Role', name: 'r' },
        subjects: [{ kind: 'ServiceAccount', name: 'sa' }],
      },
      {
        apiVersion: `${RBAC}/v1`,
        kind: 'ClusterRole',
        metadata: { name: 'system:odc-metrics' },
        rules: [{ nonResourceURLs: ['/metrics'], verbs: ['get'] }],
      },
      {
        apiVersion: `${RBAC}/v1`,
        kind: 'ClusterRoleBinding',
        metadata: { name: 'crb' },
        roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: 'system:odc-metrics' },
        subjects: [{ kind: 'Group', apiGroup: RBAC, name: 'system:authenticated' }],
      },
      {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        metadata: { name: 'deny-ingress', namespace: 'gpu-dev' },
        spec: { podSelector: { matchLabels: { app: 'web' } }, policyTypes: ['Ingress'] },
      },
    ].map(object);
    const apply = (value: KubernetesObject, dryRun?: string) =>
      admin.objects.patch(value, undefined, dryRun, 'odc-test', true, PatchStrategy.ServerSideApply);

    it.each(fixtures.map((f) => [f.kind, f] as const))(
      '%s: server-side apply with dryRun=All stores nothing; apply, get, list and delete work',
      async (_, fixture) => {
        expect((await apply(fixture, 'All')).metadata?.name).toBe(fixture.metadata.name);
        expect(await statusOf(admin.objects.read(fixture))).toMatchObject({ code: 404 });
        expect((await apply(fixture)).metadata?.uid).toBeDefined();
        expect((await admin.objects.read(fixture)).metadata?.name).toBe(fixture.metadata.name);
        const listed = await admin.objects.list(
          fixture.apiVersion!,
          fixture.kind!,
          fixture.metadata.namespace,
        );
        expect(listed.items.map((i) => i.metadata?.name)).toContain(fixture.metadata.name);
        await admin.objects.delete(fixture);
        expect(await statusOf(admin.objects.read(fixture))).toMatchObject({ code: 404 });
      },
    );

    it.each([
      [
        'a Role rule without verbs (schema)',
        { ...fixtures[1], rules: [{ apiGroups: [''], resources: ['pods'] }] },
        'rules[0].verbs',
      ],
      [
        'a Role rule without apiGroups',
        { ...fixtures[1], rules: [{ resources: ['pods'], verbs: ['get'] }] },
        'rules[0].apiGroups',
      ],
      ['a RoleBinding without roleRef (schema)', { ...fixtures[2], roleRef: undefined }, 'roleRef'],
      [
        'a ClusterRoleBinding to a Role',
        { ...fixtures[4], roleRef: { apiGroup: RBAC, kind: 'Role', name: 'r' } },
        'roleRef.kind',
      ],
      [
        'a NetworkPolicy with an unknown policy type (schema)',
        { ...fixtures[5], spec: { podSelector: {}, policyTypes: ['Sideways'] } },
        'spec.policyTypes[0]',
      ],
      [
        'a ServiceAccount with an invalid name',
        { ...fixtures[0], metadata: { name: 'not_a_name', namespace: 'gpu-dev' } },
        'metadata.name',
      ],
    ])('rejects %s with 422', async (_, invalid, field) => {
      const status = await statusOf(apply(object(invalid), 'All'));
      expect(status).toMatchObject({ code: 422, reason: 'Invalid' });
      expect(status.details?.causes?.map((c) => c.field)).toContain(field);
    });

    it('keeps a binding’s roleRef as it was (422 on a change)', async () => {
      await apply(fixtures[0]!);
      await apply(fixtures[1]!);
      await apply(fixtures[2]!);
      const changed = { ...fixtures[2], roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: 'view' } };
      expect(await statusOf(apply(object(changed)))).toMatchObject({
        code: 422,
        details: { causes: [expect.objectContaining({ field: 'roleRef' })] },
      });
    });
  });

  (hasKubectl ? describe : describe.skip)('through kubectl', () => {
    let work: string;
    const kubectl = async (...args: string[]) =>
      (
        await run('kubectl', [`--server=${server.url}`, `--cache-dir=${join(work, 'cache')}`, ...args], {
          env: { ...process.env, KUBECONFIG: join(work, 'none') },
        })
      ).stdout;
    const failure = (...args: string[]) =>
      kubectl(...args).then(
        () => '',
        (error: { stderr: string }) => error.stderr,
      );

    beforeAll(() => {
      work = mkdtempSync(join(tmpdir(), 'odc-kubectl-rbac-'));
    });

    afterAll(() => rmSync(work, { recursive: true, force: true }));

    it('creates a token (a protobuf TokenRequest) that then holds its user to the Role', async () => {
      const token = (await kubectl('create', 'token', 'odc-deployer', '-n', 'odc')).trim();
      const holder = kubeClients(server.url, token);
      expect((await holder.core.listNamespacedPod({ namespace: 'gpu-dev' })).items).toHaveLength(1);
      expect(await statusOf(holder.core.listNamespacedSecret({ namespace: 'gpu-dev' }))).toMatchObject({
        code: 403,
        message: `secrets is forbidden: User "${DEPLOYER}" cannot list resource "secrets" in API group "" in the namespace "gpu-dev"`,
      });
      const request = JSON.parse(
        await kubectl('create', 'token', 'odc-deployer', '-n', 'odc', '--duration=20m', '-o', 'json'),
      ) as { spec: { expirationSeconds: number }; status: { token: string } };
      expect(request.spec.expirationSeconds).toBe(1200);
      expect(request.status.token).not.toBe(token);
      expect(await failure('create', 'token', 'nobody', '-n', 'odc')).toContain(
        'serviceaccounts "nobody" not found',
      );
    });

    it('prints the new kinds with their columns', async () => {
      expect(await kubectl('get', 'sa', '-n', 'odc', 'odc-deployer', '--no-headers')).toMatch(
        /^odc-deployer\s+0\s+\S+\n$/,
      );
      expect(
        await kubectl('get', 'rolebindings', '-n', 'gpu-dev', 'deployer-reads-pods', '-o', 'wide'),
      ).toMatch(
        /NAME\s+ROLE\s+AGE\s+USERS\s+GROUPS\s+SERVICEACCOUNTS\ndeployer-reads-pods\s+Role\/pod-reader\s+\S+\s+odc\/odc-deployer\n/,
      );
      expect(await kubectl('get', 'clusterrole', 'odc:node-reader', '--no-headers')).toMatch(
        /^odc:node-reader\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\n$/,
      );
      await admin.networking.createNamespacedNetworkPolicy({
        namespace: 'gpu-dev',
        body: { metadata: { name: 'only-web' }, spec: { podSelector: { matchLabels: { app: 'web' } } } },
      });
      expect(await kubectl('get', 'netpol', '-n', 'gpu-dev', '--no-headers')).toMatch(
        /^only-web\s+app=web\s+\S+\n$/,
      );
    });
  });
});

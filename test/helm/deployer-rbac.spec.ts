/**
 * The deployer chart grants the deployer exactly what it needs. Its RBAC objects (from the
 * example render, itself checked against the template) go into a simulated cluster that enforces
 * RBAC; the deployer runs with the chart's service account token and goes through every endpoint
 * it serves. Then: no call was refused, and every verb on every resource the Role and ClusterRole
 * grant was needed, by a call that nothing else granted.
 */
import { PatchStrategy } from '@kubernetes/client-node';
import request from 'supertest';
import type { DeploymentSpec } from '../../src/deployer/contract';
import { sampleReservationSpec } from '../../src/deployer/sample-spec';
import { SimulatedCluster } from '../../src/simulator/cluster';
import { withDefaults } from '../../src/simulator/config';
import type { AuthorizationRecord, PolicyRule } from '../../src/simulator/rbac';
import { DEPLOYER_TOKEN } from '../deployer/fixtures';
import { kubeClients, kubeConfigWithToken } from '../simulator/kube';
import { startTestApp, type TestApp } from '../support/app';
import { eventually } from '../support/eventually';
import { FAST_TIMINGS, h100Pool } from '../support/simulator';
import { exampleObjects, templateObjects, type K8sObject } from './charts';

const RELEASE_NAMESPACE = 'odc-system';
const WORKLOADS = 'odc-workloads';
const RBAC_KINDS = ['ServiceAccount', 'Role', 'RoleBinding', 'ClusterRole', 'ClusterRoleBinding'];

type RbacObject = K8sObject & { rules: PolicyRule[] };

/** One verb on one resource (`pods/log` for a subresource) that a rule grants. */
interface Grant {
  by: 'Role' | 'ClusterRole';
  apiGroup: string;
  resource: string;
  verb: string;
}

function grantsOf(role: RbacObject): Grant[] {
  return role.rules.flatMap((rule) =>
    (rule.apiGroups ?? []).flatMap((apiGroup) =>
      (rule.resources ?? []).flatMap((resource) =>
        rule.verbs.map((verb) => ({ by: role.kind as Grant['by'], apiGroup, resource, verb })),
      ),
    ),
  );
}

const resourceOf = (decision: AuthorizationRecord) =>
  decision.subresource ? `${decision.resource}/${decision.subresource}` : decision.resource;

const sameAccess = (grant: Omit<Grant, 'by'>, decision: AuthorizationRecord) =>
  grant.apiGroup === decision.apiGroup &&
  grant.resource === resourceOf(decision) &&
  grant.verb === decision.verb;

/** A reservation whose pod mounts its scratch claim (file transfers need a volume to work on). */
function reservation(externalId: string): DeploymentSpec {
  const spec = sampleReservationSpec(externalId, WORKLOADS);
  const template = (spec.deployment!.spec as { template: { spec: Record<string, unknown> } }).template;
  template.spec.volumes = [{ name: 'home', persistentVolumeClaim: { claimName: `${externalId}-scratch` } }];
  return spec;
}

describe("the deployer chart's RBAC", () => {
  let cluster: SimulatedCluster;
  let app: TestApp;
  const rbac = exampleObjects('odc-deployer.yaml').filter((o) => RBAC_KINDS.includes(o.kind)) as RbacObject[];
  const role = rbac.find((o) => o.kind === 'Role')!;
  const clusterRole = rbac.find((o) => o.kind === 'ClusterRole')!;

  const api = () => request(app.runtime.deployer!.getHttpServer());
  const authed = (req: request.Test) => req.set('authorization', `Bearer ${DEPLOYER_TOKEN}`);

  beforeAll(async () => {
    cluster = await SimulatedCluster.start(
      withDefaults({
        nodePools: [h100Pool(2)],
        // Snapshots of its disks are of a driver the policy allows, so they can be imported.
        storageClasses: [{ name: 'standard', default: true, provisioner: 'ebs.csi.aws.com' }],
        timings: FAST_TIMINGS,
      }),
    );
    const admin = kubeClients(cluster.url);
    for (const name of [RELEASE_NAMESPACE, WORKLOADS]) {
      await admin.core.createNamespace({ body: { metadata: { name } } });
    }
    for (const object of rbac) {
      await admin.objects.patch(object, undefined, undefined, 'helm', true, PatchStrategy.ServerSideApply);
    }
    const token = await admin.core.createNamespacedServiceAccountToken({
      namespace: RELEASE_NAMESPACE,
      name: 'odc-deployer',
      body: { spec: { audiences: [], expirationSeconds: 3600 } },
    });
    const kubeconfig = kubeConfigWithToken(cluster.url, token.status!.token!).exportConfig();
    app = await startTestApp({
      roles: 'deployer',
      env: {
        ODC_KUBECONFIG_BASE64: Buffer.from(kubeconfig).toString('base64'),
        ODC_DEPLOYER_NAMESPACES: WORKLOADS,
        ODC_DEPLOYER_TOKEN: DEPLOYER_TOKEN,
      },
    });
  });

  afterAll(async () => {
    await app?.close();
    await cluster?.close();
  });

  it('are the rules the chart templates write', () => {
    const templated = templateObjects('odc-deployer', 'rbac.yaml');
    for (const kind of ['Role', 'ClusterRole']) {
      expect(templated.find((o) => o.kind === kind)!.rules).toEqual(rbac.find((o) => o.kind === kind)!.rules);
    }
  });

  it('grant nothing wide: no wildcard, no Secrets, no escalation verbs', () => {
    const grants = [...grantsOf(role), ...grantsOf(clusterRole)];
    expect(grants.length).toBeGreaterThan(0);
    for (const grant of grants) {
      expect([grant.apiGroup, grant.resource, grant.verb]).not.toContain('*');
      expect(grant.resource).not.toMatch(
        /^(secrets|serviceaccounts|roles|rolebindings|clusterroles|clusterrolebindings)/,
      );
      expect(['escalate', 'bind', 'impersonate']).not.toContain(grant.verb);
    }
  });

  it('let the deployer serve every endpoint, and every grant is needed', async () => {
    cluster.api.clearAuthorizations();

    await authed(api().get('/api/v1/health')).expect(200);
    const capacity = await authed(api().get('/api/v1/capacity')).expect(200);
    expect(capacity.body.nodes).toHaveLength(2);

    // A reservation: apply (every kind of the spec), status with events, URL, logs, lists.
    await authed(api().post('/api/v1/deployments')).send(reservation('res-rbac')).expect(201);
    await authed(api().post('/api/v1/deployments')).send(reservation('res-rbac')).expect(200);
    await eventually(
      async () => (await authed(api().get('/api/v1/deployments/res-rbac/status')).expect(200)).body,
      (status) => status.pods?.[0]?.phase === 'Running',
    );
    await authed(api().get('/api/v1/deployments/res-rbac/url-ready')).expect(200);
    await authed(api().get('/api/v1/deployments/res-rbac/logs?tailLines=5')).expect(200);
    await authed(api().get('/api/v1/deployments')).expect(200);
    await authed(api().get('/api/v1/deployments?external_id=res-rbac')).expect(200);

    // A file transfer: a Job next to the pod, followed until it ends.
    const transfer = await authed(api().post('/api/v1/deployments/res-rbac/file-transfers/upload'))
      .send({ image: 'amazon/aws-cli:2.22.0', args: ['s3', 'cp', 's3://b/data', '/data'] })
      .expect(201);
    await eventually(
      async () =>
        (
          await authed(api().get(`/api/v1/deployments/res-rbac/file-transfers/${transfer.body.id}`)).expect(
            200,
          )
        ).body,
      (state) => state.state === 'succeeded',
    );

    // From a Deployment to a bare Pod: the Deployment is pruned, the Pod applied.
    const asPod = reservation('res-rbac');
    const template = (asPod.deployment!.spec as { template: { spec: Record<string, unknown> } }).template;
    asPod.pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'res-rbac-pod', namespace: WORKLOADS, labels: { app: 'res-rbac' } },
      spec: template.spec,
    };
    delete asPod.deployment;
    await authed(api().post('/api/v1/deployments')).send(asPod).expect(201);

    // Disks: a claim, a snapshot of it (read with its content's handle), an import of that
    // snapshot (a pre-provisioned content), labels changed on both, a static volume of an
    // existing disk; all removed again.
    await authed(api().post('/api/v1/volumes')).send({ name: 'alice-work', size: '10Gi' }).expect(201);
    await authed(api().get('/api/v1/volumes/alice-work')).expect(200);
    await authed(api().get('/api/v1/volumes')).expect(200);
    await authed(api().post('/api/v1/snapshots'))
      .send({ name: 'alice-work-s1', volume: 'alice-work' })
      .expect(201);
    const taken = await eventually(
      async () => (await authed(api().get('/api/v1/snapshots/alice-work-s1')).expect(200)).body,
      (snapshot) => snapshot.snapshot_handle !== undefined,
    );
    await authed(api().post('/api/v1/snapshots'))
      .send({
        name: 'alice-work-import',
        source: { snapshot_handle: taken.snapshot_handle, driver: taken.driver },
      })
      .expect(201);
    await authed(api().get('/api/v1/snapshots/alice-work-import')).expect(200);
    const listed = await authed(api().get('/api/v1/snapshots')).expect(200);
    expect(listed.body.map((s: { snapshot_handle?: string }) => s.snapshot_handle)).toEqual([
      taken.snapshot_handle,
      taken.snapshot_handle,
    ]);
    const quarantine = { labels: { 'odc.dev/quarantined': 'true' } };
    await authed(api().patch('/api/v1/volumes/alice-work')).send(quarantine).expect(200);
    await authed(api().patch('/api/v1/snapshots/alice-work-s1')).send(quarantine).expect(200);
    await authed(api().delete('/api/v1/snapshots/alice-work-import')).expect(204);
    await authed(api().delete('/api/v1/snapshots/alice-work-s1')).expect(204);
    await authed(api().delete('/api/v1/volumes/alice-work')).expect(204);
    await authed(api().post('/api/v1/volumes'))
      .send({
        name: 'bob-adopted',
        size: '50Gi',
        static_volume: { driver: 'ebs.csi.aws.com', volume_handle: 'vol-0abc', zone: 'us-east-1a' },
      })
      .expect(201);
    await authed(api().delete('/api/v1/volumes/bob-adopted')).expect(204);

    await authed(api().delete('/api/v1/deployments/res-rbac')).expect(204);

    const decisions = cluster.api.authorizations;
    expect(decisions.filter((d) => d.user !== 'system:serviceaccount:odc-system:odc-deployer')).toEqual([]);
    expect(decisions.filter((d) => !d.allowed)).toEqual([]);

    // The Role's grants, each needed in the workload namespace by a call the ClusterRole does not cover.
    const clusterGrants = grantsOf(clusterRole);
    const unneeded = grantsOf(role).filter(
      (grant) =>
        !decisions.some(
          (d) =>
            d.namespace === WORKLOADS && sameAccess(grant, d) && !clusterGrants.some((c) => sameAccess(c, d)),
        ),
    );
    // The ClusterRole's, each needed by a call outside what the Role covers (cluster-wide, or a
    // cluster-scoped resource).
    const roleGrants = grantsOf(role);
    const unneededCluster = clusterGrants.filter(
      (grant) =>
        !decisions.some(
          (d) =>
            sameAccess(grant, d) && !(d.namespace === WORKLOADS && roleGrants.some((r) => sameAccess(r, d))),
        ),
    );
    expect({ unneeded, unneededCluster }).toEqual({ unneeded: [], unneededCluster: [] });
  });
});

/**
 * The deployer chart grants the deployer exactly what it needs. The chart's RBAC goes into a
 * Kubernetes that enforces it — on the simulator, the RBAC objects of the example render (itself
 * checked against what helm renders); on the real API server (ODC_TEST_KUBE=real), the chart itself
 * by `helm install` — and the deployer runs with a token of the chart's ServiceAccount
 * (TokenRequest) and goes through every endpoint it serves. Then, from the record of the requests'
 * authorizations (the simulator's own, or the real API server's audit log): no request was refused,
 * and every verb on every resource the Role and ClusterRole grant was needed, by a request that
 * nothing else granted.
 */
import { join, dirname } from 'node:path';
import { existsSync, readFileSync } from 'node:fs';
import { AuthenticationV1Api, KubeConfig, PatchStrategy, StorageV1Api } from '@kubernetes/client-node';
import request from 'supertest';
import type { DeploymentSpec } from '../../src/deployer/contract';
import { sampleReservationSpec } from '../../src/deployer/sample-spec';
import { DEPLOYER_TOKEN } from '../deployer/fixtures';
import { startTestApp, type TestApp } from '../support/app';
import { eventually } from '../support/eventually';
import {
  FAST_TIMINGS,
  h100Pool,
  KUBE_TARGET,
  realKubeconfigPath,
  startKubeTarget,
  uniqueName,
  type KubeTarget,
} from '../support/simulator';
import { EXAMPLES_DIR, exampleObjects, templateObjects } from './charts';
import { helmWorkspace, type HelmWorkspace } from './helm';
import {
  auditLogRecords,
  grantsOf,
  simulatorRecords,
  unneededGrants,
  type AccessRecordSource,
  type RbacObject,
} from './rbac-usage';

/** The CSI driver of the simulated cluster's default class: one the deployer's policy allows by default. */
const SIMULATED_DRIVER = 'ebs.csi.aws.com';

/** The provisioner of the target's default StorageClass (the real tier's CSI driver, or SIMULATED_DRIVER). */
async function defaultProvisioner(k: KubeTarget['k']): Promise<string> {
  const classes = await k.kc.makeApiClient(StorageV1Api).listStorageClass();
  const provisioner = classes.items.find(
    (c) => c.metadata?.annotations?.['storageclass.kubernetes.io/is-default-class'] === 'true',
  )?.provisioner;
  if (!provisioner) {
    throw new Error('the target has no default StorageClass (the real tier makes one: docs/kube-tier.md)');
  }
  return provisioner;
}

/** The release (and so its objects and ServiceAccount) and its namespaces: unique on the real API server. */
const RELEASE = uniqueName('odc-deployer');
const RELEASE_NAMESPACE = uniqueName('odc-system');
const WORKLOADS = uniqueName('odc-workloads');
const SERVICE_ACCOUNT = `system:serviceaccount:${RELEASE_NAMESPACE}:${RELEASE}`;
const RBAC_KINDS = ['ServiceAccount', 'Role', 'RoleBinding', 'ClusterRole', 'ClusterRoleBinding'];

/** A reservation whose pod mounts its scratch claim (file transfers need a volume to work on). */
function reservation(externalId: string): DeploymentSpec {
  const spec = sampleReservationSpec(externalId, WORKLOADS);
  const template = (spec.deployment!.spec as { template: { spec: Record<string, unknown> } }).template;
  template.spec.volumes = [{ name: 'home', persistentVolumeClaim: { claimName: `${externalId}-scratch` } }];
  return spec;
}

/** The target's API server, as the chart's ServiceAccount. */
function kubeConfigWithToken(target: KubeTarget, token: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ ...target.kubeconfig.getCurrentCluster()!, name: 'cluster' }],
    users: [{ name: 'service-account', token }],
    contexts: [{ name: 'service-account', cluster: 'cluster', user: 'service-account' }],
    currentContext: 'service-account',
  });
  return kc;
}

/** The real tier's audit log (`KUBE_AUDIT_LOG` in its cluster.env). */
function auditLogPath(): string {
  const dir = dirname(realKubeconfigPath());
  const env = join(dir, 'cluster.env');
  const named = existsSync(env) ? /^KUBE_AUDIT_LOG=(.+)$/m.exec(readFileSync(env, 'utf8'))?.[1] : undefined;
  return named ?? join(dir, 'logs', 'audit.log');
}

describe("the deployer chart's RBAC", () => {
  let target: KubeTarget;
  let helm: HelmWorkspace | undefined;
  let records: AccessRecordSource;
  let app: TestApp;
  let role: RbacObject;
  let clusterRole: RbacObject;
  const rendered = exampleObjects('odc-deployer.yaml').filter((o) =>
    RBAC_KINDS.includes(o.kind),
  ) as RbacObject[];

  const api = () => request(app.runtime.deployer!.getHttpServer());
  const authed = (req: request.Test) => req.set('authorization', `Bearer ${DEPLOYER_TOKEN}`);

  /** The chart's RBAC objects in the target, as helm installs them (on the simulator: as it renders them). */
  async function installChart(): Promise<void> {
    if (KUBE_TARGET === 'simulator') {
      for (const object of rendered) {
        await target.k.objects.patch(
          object,
          undefined,
          undefined,
          'helm',
          true,
          PatchStrategy.ServerSideApply,
        );
      }
      return;
    }
    helm = await helmWorkspace();
    await helm.helm([
      'install',
      RELEASE,
      helm.chart('odc-deployer'),
      `--kubeconfig=${realKubeconfigPath()}`,
      `--namespace=${RELEASE_NAMESPACE}`,
      `--values=${join(EXAMPLES_DIR, 'odc-deployer.values.yaml')}`,
      `--set=workloadNamespaces={${WORKLOADS}}`,
    ]);
  }

  beforeAll(async () => {
    target = await startKubeTarget(
      {
        nodePools: [h100Pool(2)],
        // Snapshots of its disks are of a driver the policy allows, so they can be imported.
        storageClasses: [{ name: 'standard', default: true, provisioner: SIMULATED_DRIVER }],
        timings: FAST_TIMINGS,
      },
      [RELEASE_NAMESPACE, WORKLOADS],
    );
    await installChart();
    const [installedRole, installedClusterRole] = await Promise.all([
      target.k.rbac.readNamespacedRole({ namespace: WORKLOADS, name: RELEASE }),
      target.k.rbac.readClusterRole({ name: RELEASE }),
    ]);
    role = { ...(installedRole as RbacObject), kind: 'Role' };
    clusterRole = { ...(installedClusterRole as RbacObject), kind: 'ClusterRole' };

    const token = await target.k.core.createNamespacedServiceAccountToken({
      namespace: RELEASE_NAMESPACE,
      name: RELEASE,
      body: { spec: { audiences: [], expirationSeconds: 3600 } },
    });
    const asServiceAccount = kubeConfigWithToken(target, token.status!.token!);
    if (target.kind === 'simulator') {
      records = simulatorRecords(target.simulated);
    } else {
      // The end of the deployer's requests: a SelfSubjectReview of the same account, left out.
      const authentication = asServiceAccount.makeApiClient(AuthenticationV1Api);
      records = auditLogRecords(
        auditLogPath(),
        () =>
          authentication.createSelfSubjectReview({
            body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
          }),
        (event) => event.objectRef?.resource === 'selfsubjectreviews',
      );
    }
    // The snapshots imported are of the cluster's own driver.
    const driver = await defaultProvisioner(target.k);
    app = await startTestApp({
      roles: 'deployer',
      env: {
        ODC_KUBECONFIG_BASE64: Buffer.from(asServiceAccount.exportConfig()).toString('base64'),
        ODC_DEPLOYER_NAMESPACES: WORKLOADS,
        ODC_DEPLOYER_TOKEN: DEPLOYER_TOKEN,
        // The static volume below is an EBS one; snapshots imported are the cluster's driver's.
        ODC_DEPLOYER_ALLOWED_CSI_DRIVERS: [...new Set([SIMULATED_DRIVER, driver])].join(','),
      },
    });
  });

  afterAll(async () => {
    await app?.close();
    if (helm) {
      await helm.helm([
        'uninstall',
        RELEASE,
        `--kubeconfig=${realKubeconfigPath()}`,
        `--namespace=${RELEASE_NAMESPACE}`,
        '--wait',
      ]);
      helm.close();
    }
    await target?.close();
  });

  it('are the rules the chart templates write, as installed', () => {
    const templated = templateObjects('odc-deployer', 'rbac.yaml');
    for (const kind of ['Role', 'ClusterRole']) {
      const rules = rendered.find((o) => o.kind === kind)!.rules;
      expect(templated.find((o) => o.kind === kind)!.rules).toEqual(rules);
      expect((kind === 'Role' ? role : clusterRole).rules).toEqual(rules);
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
    await records.start();

    await authed(api().get('/api/v1/health')).expect(200);
    const capacity = await authed(api().get('/api/v1/capacity')).expect(200);
    expect(capacity.body.nodes).toHaveLength((await target.k.core.listNode()).items.length);

    // A reservation: apply (every kind of the spec), status with events, URL, logs, lists.
    await authed(api().post('/api/v1/deployments')).send(reservation('res-rbac')).expect(201);
    await authed(api().post('/api/v1/deployments')).send(reservation('res-rbac')).expect(200);
    await eventually(
      async () => (await authed(api().get('/api/v1/deployments/res-rbac/status')).expect(200)).body,
      (status) => status.pods?.[0]?.phase === 'Running',
      30_000,
    );
    await authed(api().get('/api/v1/deployments/res-rbac/url-ready')).expect(200);
    // kwok runs no containers: the real API server finds no kubelet to ask for logs (it is asked, allowed).
    await authed(api().get('/api/v1/deployments/res-rbac/logs?tailLines=5')).expect(
      KUBE_TARGET === 'real' ? 502 : 200,
    );
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
      30_000,
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
      30_000,
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

    const made = await records.records(SERVICE_ACCOUNT);
    expect(made.length).toBeGreaterThan(0);
    expect(made.filter((record) => !record.allowed)).toEqual([]);
    expect(unneededGrants(role, clusterRole, made, WORKLOADS)).toEqual({ unneeded: [], unneededCluster: [] });
  }, 120_000);
});

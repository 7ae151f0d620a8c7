/**
 * Both charts against the real API server (ODC_TEST_KUBE=real: `npm run test:kube`): `helm install
 * --dry-run=server` of the control plane's chart with each of its examples and with its deployer,
 * and every example, rendered by helm into namespaces of the test's, accepted object by object by
 * a server-side dry run (validation and admission, PodSecurity included). The deployer's chart is
 * installed for real by test/helm/deployer-rbac.spec.ts. On the simulator these are skipped:
 * test/helm/chart.spec.ts checks the committed renders there.
 */
import { ApisApi, PatchStrategy, type ApiException } from '@kubernetes/client-node';
import { join } from 'node:path';
import {
  KUBE_TARGET,
  realKubeconfigPath,
  startKubeTarget,
  uniqueName,
  type KubeTarget,
} from '../support/simulator';
import { EXAMPLES, EXAMPLES_DIR, kindAndName, parseObjects, type ChartName, type K8sObject } from './charts';
import { helmWorkspace, type HelmWorkspace } from './helm';

const describeReal = KUBE_TARGET === 'real' ? describe : describe.skip;

const NAMESPACE = uniqueName('odc-system');
const WORKLOADS = uniqueName('odc-workloads');

/** Kinds of CRDs the real tier does not install (no cert-manager, no Prometheus Operator). */
const NOT_ON_THE_TIER = ['cert-manager.io/v1/Certificate', 'monitoring.coreos.com/v1/ServiceMonitor'];
const kindOf = (object: K8sObject) => `${object.apiVersion}/${object.kind}`;

/** Values that keep an example's objects in the test's namespaces, and off CRDs the tier lacks. */
function placement(chart: ChartName): string[] {
  return chart === 'odc-deployer'
    ? [`--set=workloadNamespaces={${WORKLOADS}}`]
    : ['--set=metrics.serviceMonitor.enabled=false'];
}

describeReal('[real API server only] the Helm charts', () => {
  let target: KubeTarget;
  let helm: HelmWorkspace;
  const kubeconfig = () => `--kubeconfig=${realKubeconfigPath()}`;

  beforeAll(async () => {
    target = await startKubeTarget({}, [NAMESPACE, WORKLOADS]);
    helm = await helmWorkspace();
  });

  afterAll(async () => {
    helm?.close();
    await target?.close();
  });

  const odcExamples = EXAMPLES.filter((e) => e.chart === 'odc').map((e) => e.values);

  it.each(odcExamples)('helm install --dry-run=server helm/odc -f %s succeeds', async (values) => {
    const output = await helm.helm([
      'install',
      'odc',
      helm.chart('odc'),
      kubeconfig(),
      `--namespace=${NAMESPACE}`,
      `--values=${join(EXAMPLES_DIR, values)}`,
      ...placement('odc'),
      '--dry-run=server',
    ]);
    expect(output).toMatch(/^STATUS: pending-install$/m);
    expect(output).toMatch(/^DESCRIPTION: Dry run complete$/m);
    // Nothing was installed: no release, no objects.
    expect(await helm.helm(['list', kubeconfig(), `--namespace=${NAMESPACE}`, '--short'])).toBe('');
    expect((await target.k.apps.listNamespacedDeployment({ namespace: NAMESPACE })).items).toEqual([]);
  });

  it('helm install --dry-run=server helm/odc with its deployer succeeds', async () => {
    const output = await helm.helm([
      'install',
      'odc',
      helm.chart('odc'),
      kubeconfig(),
      `--namespace=${NAMESPACE}`,
      `--values=${join(EXAMPLES_DIR, 'odc.values.yaml')}`,
      ...placement('odc'),
      '--set=deployer.enabled=true,deployer.tls.secretName=odc-deployer-tls',
      '--set=deployer.auth.tokenSecret.name=odc-deployer-token',
      `--set=deployer.workloadNamespaces={${WORKLOADS}}`,
      '--dry-run=server',
    ]);
    expect(output).toMatch(/^DESCRIPTION: Dry run complete$/m);
    expect(output).toContain('# Source: odc/charts/deployer/templates/deployment.yaml');
  });

  it('--dry-run=server asks the API server: the ServiceMonitor of odc.values.yaml has no CRD here', async () => {
    await expect(
      helm.helm([
        'install',
        'odc',
        helm.chart('odc'),
        kubeconfig(),
        `--namespace=${NAMESPACE}`,
        `--values=${join(EXAMPLES_DIR, 'odc.values.yaml')}`,
        '--dry-run=server',
      ]),
    ).rejects.toThrow(/no matches for kind "ServiceMonitor" in version "monitoring.coreos.com\/v1"/);
  });

  it('the kinds left out below are not served by the tier (else, stop leaving them out)', async () => {
    const { groups } = await target.k.kc.makeApiClient(ApisApi).getAPIVersions();
    const served = new Set(groups.flatMap((group) => group.versions.map((v) => v.groupVersion)));
    const groupVersion = (kind: string) => kind.split('/').slice(0, 2).join('/');
    expect(NOT_ON_THE_TIER.filter((kind) => served.has(groupVersion(kind)))).toEqual([]);
  });

  it.each(EXAMPLES.map((e) => [e.values, e.chart] as const))(
    '%s: every object helm renders passes a server-side dry run',
    async (values, chart) => {
      const rendered = await helm.helm([
        'template',
        uniqueName(chart),
        helm.chart(chart),
        `--namespace=${NAMESPACE}`,
        `--values=${join(EXAMPLES_DIR, values)}`,
        ...(chart === 'odc-deployer' ? placement(chart) : []),
      ]);
      const objects = parseObjects(rendered, values).filter((o) => !NOT_ON_THE_TIER.includes(kindOf(o)));
      expect(objects.length).toBeGreaterThan(0);
      for (const object of objects) {
        const applied = await target.k.objects
          .patch(object, undefined, 'All', 'helm', true, PatchStrategy.ServerSideApply)
          .catch((error: ApiException<string>) => {
            throw new Error(`${values}: ${kindAndName(object)} refused: ${error.code} ${error.body}`);
          });
        expect(applied).toMatchObject({ kind: object.kind, metadata: { name: object.metadata.name } });
      }
      // A dry run stores nothing.
      expect((await target.k.apps.listNamespacedDeployment({ namespace: NAMESPACE })).items).toEqual([]);
    },
  );
});

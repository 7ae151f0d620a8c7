/**
 * The Helm charts, checked with Node alone (`npm test` needs no helm): values against their
 * schemas, templates well-formed once their actions are blanked, the committed example renders
 * (made by the real helm, scripts/helm/examples.sh, and checked by `npm run helm:check`) in step
 * with the templates and accepted by a Kubernetes API server (the simulator, server-side dry run;
 * test/helm/charts-real.spec.ts does it on the real one).
 */
import { PatchStrategy, type ApiException } from '@kubernetes/client-node';
import Ajv from 'ajv';
import { SimulatedApiServer } from '../../src/simulator/api-server';
import { kubeClients } from '../simulator/kube';
import {
  blankTemplate,
  chartSchema,
  chartValues,
  CHARTS,
  coalesce,
  EXAMPLES,
  exampleFiles,
  exampleObjects,
  exampleValues,
  kindAndName,
  parseObjects,
  templateFiles,
  templateObjects,
  type ChartName,
  type K8sObject,
} from './charts';

function validatorFor(chart: ChartName) {
  return new Ajv({ strict: true, allowUnionTypes: true, allErrors: true }).compile(chartSchema(chart));
}

function errorsOf(chart: ChartName, values: unknown): string[] {
  const validate = validatorFor(chart);
  return validate(values) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
}

describe('Helm values', () => {
  it.each(CHARTS)(
    '%s: the schema compiles in strict mode and the default values.yaml satisfies it',
    (chart) => {
      expect(errorsOf(chart, chartValues(chart))).toEqual([]);
    },
  );

  it.each(EXAMPLES.map((e) => [e.values, e.chart] as const))(
    '%s over the defaults satisfies the %s schema',
    (file, chart) => {
      expect(errorsOf(chart, coalesce(chartValues(chart), exampleValues(file)))).toEqual([]);
    },
  );

  it("the odc chart's deployer block, enabled, satisfies the deployer chart's schema (Helm checks a subchart's values too)", () => {
    const block = {
      enabled: true,
      tls: { secretName: 'odc-deployer-tls' },
      auth: { tokenSecret: { name: 't' } },
    };
    expect(errorsOf('odc', coalesce(chartValues('odc'), { deployer: block }))).toEqual([]);
    expect(errorsOf('odc-deployer', coalesce(chartValues('odc-deployer'), block))).toEqual([]);
  });

  it('coalesces values as Helm does: maps merge, lists and scalars replace, null removes', () => {
    expect(
      coalesce({ a: { b: 1, c: [1, 2] }, d: 'x', e: 1 }, { a: { c: [3] }, d: 'y', e: null, f: true }),
    ).toEqual({ a: { b: 1, c: [3] }, d: 'y', f: true });
  });

  it("every file under helm/examples is an example's values or its rendered manifest", () => {
    const listed = EXAMPLES.flatMap((e) => [e.values, e.manifest]).sort();
    expect(exampleFiles()).toEqual(listed);
  });

  it('rejects a misspelt key, a wrong type and a bad enum (the schema can fail)', () => {
    const odc = chartValues('odc') as Record<string, Record<string, unknown>>;
    expect(errorsOf('odc', { ...odc, coordinater: { replicas: 2 } })).toEqual([
      ' must NOT have additional properties',
    ]);
    expect(errorsOf('odc', { ...odc, worker: { ...odc.worker, replicas: 'two' } })).toEqual([
      '/worker/replicas must be integer',
    ]);
    expect(
      errorsOf('odc', { ...odc, secrets: { ...odc.secrets, masterKey: 'short' } }).length,
    ).toBeGreaterThan(0);
    expect(errorsOf('odc', { ...odc, config: { ODC_ROLES: 'worker' } }).length).toBeGreaterThan(0);
    const deployer = chartValues('odc-deployer') as Record<string, Record<string, unknown>>;
    expect(
      errorsOf('odc-deployer', { ...deployer, service: { ...deployer.service, type: 'External' } }),
    ).toEqual(['/service/type must be equal to one of the allowed values']);
    expect(errorsOf('odc-deployer', { ...deployer, workloadNamespaces: [] })).toEqual([
      '/workloadNamespaces must NOT have fewer than 1 items',
    ]);
    expect(
      errorsOf('odc-deployer', {
        ...deployer,
        tls: { certManager: { enabled: true, issuerRef: { name: '' } } },
      }).length,
    ).toBeGreaterThan(0);
  });

  it('rejects a schema that is not valid JSON Schema', () => {
    const broken = { ...chartSchema('odc'), properties: { image: { type: 'picture' } } };
    expect(() => new Ajv({ strict: true }).compile(broken)).toThrow(/schema is invalid/);
  });
});

describe('Helm templates', () => {
  const templates = CHARTS.flatMap((chart) => templateFiles(chart).map((file) => [chart, file] as const));

  it.each(templates)('%s/templates/%s is well-formed YAML of named Kubernetes objects', (chart, file) => {
    const objects = templateObjects(chart, file);
    expect(objects.length).toBeGreaterThan(0);
    for (const object of objects) {
      expect(object).toMatchObject({
        apiVersion: expect.stringMatching(/^([a-z0-9.-]+\/)?v\d/),
        kind: expect.stringMatching(/^[A-Z]\w+$/),
        metadata: { name: expect.stringMatching(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/) },
      });
    }
  });

  it('blanking catches a malformed template', () => {
    const malformed =
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ include "odc.fullname" . }}\n data: [\n';
    expect(() => parseObjects(blankTemplate(malformed, 'odc'), 'malformed.yaml')).toThrow(/malformed.yaml/);
  });

  it.each(CHARTS)(
    '%s: the examples hold exactly the objects its templates make (kinds and names)',
    (chart) => {
      const fromTemplates = new Set(
        templateFiles(chart).flatMap((file) => templateObjects(chart, file).map(kindAndName)),
      );
      const fromExamples = new Set(
        EXAMPLES.filter((e) => e.chart === chart).flatMap((e) => exampleObjects(e.manifest).map(kindAndName)),
      );
      expect([...fromExamples].sort()).toEqual([...fromTemplates].sort());
    },
  );
});

/** Kinds from CRDs the simulator does not serve, and the models that validate them instead. */
type CrdModel = new (data: never) => { validate(): void };
const CRD_MODELS: Record<string, () => Promise<CrdModel>> = {
  'cert-manager.io/v1/Certificate': async () =>
    (await import('@kubernetes-models/cert-manager/cert-manager.io/v1/Certificate')).Certificate,
  'monitoring.coreos.com/v1/ServiceMonitor': async () =>
    (await import('@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor'))
      .ServiceMonitor,
};

describe('Helm examples against a Kubernetes API server', () => {
  let server: SimulatedApiServer;
  let k: ReturnType<typeof kubeClients>;

  beforeAll(async () => {
    server = await SimulatedApiServer.start();
    k = kubeClients(server.url);
    for (const name of ['odc-system', 'odc-workloads']) {
      await k.core.createNamespace({ body: { metadata: { name } } });
    }
  });

  afterAll(async () => {
    await server.close();
  });

  const dryRunApply = (object: K8sObject) =>
    k.objects.patch(object, undefined, 'All', 'helm', true, PatchStrategy.ServerSideApply);

  async function rejection(call: Promise<unknown>): Promise<{ code: number; message: string }> {
    try {
      await call;
    } catch (error) {
      const { code, body } = error as ApiException<string>;
      return { code, message: String((typeof body === 'string' ? JSON.parse(body) : body).message) };
    }
    throw new Error('expected the API server to refuse the object');
  }

  it.each(EXAMPLES.map((e) => e.manifest))('%s: every object passes a server-side dry run', async (file) => {
    const objects = exampleObjects(file);
    for (const object of objects) {
      const model = CRD_MODELS[`${object.apiVersion}/${object.kind}`];
      if (model) {
        const Model = await model();
        expect(() => new Model(object as never).validate()).not.toThrow();
        continue;
      }
      const applied = await dryRunApply(object).catch((error: ApiException<string>) => {
        throw new Error(`${file}: ${kindAndName(object)} refused: ${error.code} ${error.body}`);
      });
      expect(applied).toMatchObject({ kind: object.kind, metadata: { name: object.metadata.name } });
    }
    // A dry run stores nothing.
    const deployments = await k.apps.listNamespacedDeployment({ namespace: 'odc-system' });
    expect(deployments.items).toEqual([]);
  });

  it('the API server refuses a broken example object, and the CRD models a broken custom object', async () => {
    const deployment = exampleObjects('odc-deployer.yaml').find((o) => o.kind === 'Deployment')!;
    const broken = structuredClone(deployment) as K8sObject & { spec: { replicas: unknown } };
    broken.spec.replicas = 'two';
    // A mistyped value in a server-side apply: kube-apiserver answers a bare 500 naming the field
    // (kubernetes/kubernetes#139253), and so does the simulator, held to it.
    expect(await rejection(dryRunApply(broken))).toMatchObject({
      code: 500,
      message: expect.stringMatching(/failed to create typed patch object.*replicas/),
    });

    const role = exampleObjects('odc-deployer.yaml').find((o) => o.kind === 'Role')!;
    expect(await rejection(dryRunApply({ ...role, rules: [{ verbs: 'get' }] }))).toMatchObject({ code: 422 });

    const certificate = exampleObjects('odc-deployer-cert-manager.yaml').find(
      (o) => o.kind === 'Certificate',
    )!;
    const Certificate = await CRD_MODELS['cert-manager.io/v1/Certificate']!();
    expect(() =>
      new Certificate({ ...certificate, spec: { dnsNames: ['x'] } } as never).validate(),
    ).toThrow();
  });
});

import { AppError } from '../infra/errors/app-error';
import { sampleReservationSpec } from './sample-spec';
import { parseDeploymentSpec } from './spec-validation';

const sample = () => sampleReservationSpec('res-1', 'gpu-dev') as unknown as Record<string, unknown>;

/** The 400 a body gets: its code and the fields it names. */
function refusal(body: unknown): { code: string; fields: string[] } {
  try {
    parseDeploymentSpec(body);
  } catch (error) {
    if (error instanceof AppError) {
      const fields = (error.details?.fields ?? []).map((f) => f.field);
      return { code: error.code, fields };
    }
    throw error;
  }
  throw new Error('the body was accepted');
}

/** `{"a":{"a":…}}`, `depth` objects deep, built without recursion. */
function nested(depth: number): Record<string, unknown> {
  let value: Record<string, unknown> = { leaf: 'x' };
  for (let i = 0; i < depth; i += 1) {
    value = { a: value };
  }
  return value;
}

describe('parseDeploymentSpec', () => {
  it('accepts the sample spec, with or without a disk claim', () => {
    expect(() => parseDeploymentSpec(sample())).not.toThrow();
    const withDisk = {
      ...sample(),
      metadata: { ...(sample().metadata as object), disk_claim: 'odc-disk-1-g1' },
    };
    expect(parseDeploymentSpec(withDisk).metadata.disk_claim).toBe('odc-disk-1-g1');
  });

  it('refuses a list where the contract has one object (it would apply every item)', () => {
    const { deployment } = sample();
    expect(refusal({ ...sample(), deployment: [deployment, deployment] })).toEqual({
      code: 'invalid_spec',
      fields: ['deployment'],
    });
    expect(refusal({ ...sample(), service: [] }).fields).toEqual(['service']);
  });

  it('refuses a second workload (a deployment and a pod): each would hold its own GPUs', () => {
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'gpu-dev' }, spec: {} };
    expect(refusal({ ...sample(), pod }).fields).toEqual(['pod']);
  });

  it('refuses objects nested deeper than any Kubernetes object here, without overflowing the stack', () => {
    const configMap = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'k', namespace: 'gpu-dev' } };
    for (const depth of [40, 20_000]) {
      expect(refusal({ ...sample(), config_maps: [{ ...configMap, data: nested(depth) }] })).toEqual({
        code: 'invalid_spec',
        fields: ['config_maps[0]'],
      });
    }
    expect(
      refusal({ ...sample(), metadata: { ...(sample().metadata as object), x: nested(20_000) } }).fields,
    ).toEqual(['metadata']);
  });

  it('refuses a disk claim that is not a claim name', () => {
    const metadata = { ...(sample().metadata as object), disk_claim: ['odc-disk-1'] };
    expect(refusal({ ...sample(), metadata }).fields).toEqual(['metadata.disk_claim']);
  });
});

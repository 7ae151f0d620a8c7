import request from 'supertest';
import type { DeploymentSpec } from '../../src/deployer/contract';
import { reservationSpec, startDeployer, type DeployerUnderTest } from './fixtures';
import { pathsOf, type Json } from '../support/json-paths';

function replaced(spec: Json, path: (string | number)[], value: Json): Json {
  const copy = structuredClone(spec);
  let node = copy as Record<string | number, Json>;
  path.slice(0, -1).forEach((key) => (node = node[key] as Record<string | number, Json>));
  node[path.at(-1)!] = value;
  return copy;
}

/**
 * Whatever shape a caller sends, the deployer answers 2xx or a 4xx with a code: never a 500. Each
 * value of the sample spec (the root of the spec excepted) is replaced in turn by a value of every
 * other JSON type.
 */
describe('deployer: garbled deployment specs', () => {
  let deployer: DeployerUnderTest;

  beforeAll(async () => {
    // Hundreds of applies: the client-side rate limit is not what is tested here.
    deployer = await startDeployer({
      env: { ODC_DEPLOYER_KUBE_QPS: '10000', ODC_DEPLOYER_KUBE_BURST: '10000' },
    });
  });

  afterAll(() => deployer.close());

  it('never answers 500, whatever value any field of the spec is replaced by', async () => {
    const spec = reservationSpec('res-garbled') as unknown as Json;
    const garbage: Json[] = ['x', -1, 1.5, true, null, [], {}, [{}], { a: 'b' }];
    const failures: string[] = [];
    let calls = 0;
    for (const path of pathsOf(spec).filter((p) => p.length > 0)) {
      for (const value of garbage) {
        const res = await deployer
          .authed(deployer.api().post('/api/v1/deployments'))
          .send(replaced(spec, path, value) as unknown as DeploymentSpec);
        calls += 1;
        if (res.status >= 500 || (res.status >= 400 && typeof res.body.code !== 'string')) {
          failures.push(
            `${path.join('.')} = ${JSON.stringify(value)}: ${res.status} ${JSON.stringify(res.body)}`,
          );
        }
      }
    }
    await deployer.authed(deployer.api().delete('/api/v1/deployments/res-garbled')).expect(204);
    expect(calls).toBeGreaterThan(300);
    expect(failures).toEqual([]);
  }, 60_000);

  it('never answers 500 to a body that is not a spec at all', async () => {
    for (const body of [
      '"text"',
      '42',
      '[]',
      '{}',
      '{"metadata": []}',
      '{"metadata": {"external_id": {}}}',
    ]) {
      const res = await deployer
        .authed(request(deployer.app.runtime.deployer!.getHttpServer()).post('/api/v1/deployments'))
        .set('content-type', 'application/json')
        .send(body);
      expect(res.status).toBe(400);
      expect(typeof res.body.code).toBe('string');
    }
  });
});

import { join } from 'node:path';
import { projectRoot } from '../app/version';
import { DEFAULT_TIMINGS, loadSimulatorConfig, withDefaults } from './config';

describe('simulator configuration', () => {
  it('loads the example file', () => {
    const config = loadSimulatorConfig(join(projectRoot(), 'config/simulator.example.yaml'));
    expect(config.name).toBe('sim-example');
    expect(config.nodePools.map((p) => [p.name, p.count, p.gpu?.count ?? 0])).toEqual([
      ['h100', 4, 8],
      ['a10g', 2, 4],
      ['cpu', 1, 0],
    ]);
    expect(config.nodePools[0]!.taints).toEqual([
      { key: 'nvidia.com/gpu', value: 'present', effect: 'NoSchedule' },
    ]);
    expect(config.faults.errorRate).toBe(0);
    expect(config.storageBackend).toBe('default');
  });

  it('fills what a partial configuration leaves out', () => {
    const config = withDefaults({ nodePools: [], timings: { startMs: 5 } as never });
    expect(config.timings).toEqual({ ...DEFAULT_TIMINGS, startMs: 5 });
    expect(config.storageClasses).toEqual([{ name: 'standard', default: true }]);
    expect(config.storageBackend).toBe('default');
    expect(withDefaults({ storageBackend: 'us-east-1' }).storageBackend).toBe('us-east-1');
  });
});

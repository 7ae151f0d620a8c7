import type { DeploymentStatus, PodSummary } from '../../deployer/contract';
import { dueWarning } from './expiry.task';
import { statusesToAsk } from './status-sync.task';
import { workloadProblem, workloadReady } from './workload-health';

describe('dueWarning', () => {
  const marks = [30, 15, 5];

  it('warns at each mark once, in turn', () => {
    expect(dueWarning(marks, [], 40)).toEqual({ done: [] });
    expect(dueWarning(marks, [], 29.5)).toEqual({ warn: 30, done: [30] });
    expect(dueWarning(marks, [30], 20)).toEqual({ done: [] });
    expect(dueWarning(marks, [30], 14)).toEqual({ warn: 15, done: [15] });
    expect(dueWarning(marks, [30, 15], 0)).toEqual({ warn: 5, done: [5] });
    expect(dueWarning(marks, [30, 15, 5], -1)).toEqual({ done: [] });
  });

  it('gives a short reservation only the warning that is due, not late ones for marks it started past', () => {
    expect(dueWarning(marks, [], 10)).toEqual({ warn: 15, done: [30, 15] });
    expect(dueWarning(marks, [], 3)).toEqual({ warn: 5, done: [30, 15, 5] });
  });
});

const pod = (extra: Partial<PodSummary> = {}): PodSummary => ({
  name: 'p',
  phase: 'Running',
  ready: true,
  node: 'n1',
  restarts: 0,
  ...extra,
});
const status = (pods: PodSummary[], extra: Partial<DeploymentStatus> = {}): DeploymentStatus => ({
  external_id: 'odc-1',
  exists: true,
  ready_replicas: pods.filter((p) => p.ready).length,
  pods,
  warnings: [],
  ssh: { node_port: 30022, host_ip: '10.0.0.10' },
  ...extra,
});

describe('workload health', () => {
  it('is ready with a ready pod and the SSH port known', () => {
    expect(workloadReady(status([pod()]))).toBe(true);
    expect(workloadReady(status([pod({ ready: false })]))).toBe(false);
    expect(workloadReady(status([pod()], { ssh: undefined }))).toBe(false);
    expect(workloadProblem(status([pod()]))).toBeUndefined();
  });

  it('names what is wrong: gone, failed or lost pods, images, crash loops past a few restarts', () => {
    expect(workloadProblem(undefined)).toBe('its objects are gone from the cluster');
    expect(workloadProblem(status([pod({ phase: 'Failed', ready: false })]))).toBe(
      'its pod failed on node n1',
    );
    expect(
      workloadProblem(
        status([pod({ ready: false, phase: 'Pending', last_termination_reason: 'ErrImagePull' })]),
      ),
    ).toBe('its image cannot be started (ErrImagePull)');
    expect(
      workloadProblem(status([pod({ last_termination_reason: 'OOMKilled', restarts: 1 })])),
    ).toBeUndefined();
    expect(workloadProblem(status([pod({ last_termination_reason: 'OOMKilled', restarts: 3 })]))).toBe(
      'its container keeps crashing (OOMKilled, 3 restarts)',
    );
  });
});

describe('statusesToAsk', () => {
  it('asks about provisioning reservations every round and running ones once per health period', () => {
    const period = 10_000;
    expect(statusesToAsk(1_000, Number.NEGATIVE_INFINITY, period)).toEqual(['provisioning', 'active']);
    expect(statusesToAsk(1_200, 1_000, period)).toEqual(['provisioning']);
    expect(statusesToAsk(10_999, 1_000, period)).toEqual(['provisioning']);
    expect(statusesToAsk(11_000, 1_000, period)).toEqual(['provisioning', 'active']);
  });
});

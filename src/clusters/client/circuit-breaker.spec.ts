import { CircuitBreaker } from './circuit-breaker';

describe('CircuitBreaker', () => {
  let now: number;
  const breaker = () => new CircuitBreaker(3, 1000, () => now);

  beforeEach(() => {
    now = 0;
  });

  function fail(circuit: CircuitBreaker, times: number): void {
    for (let i = 0; i < times; i++) {
      expect(circuit.tryAcquire()).toBe(true);
      circuit.recordFailure();
    }
  }

  it('lets calls through while closed', () => {
    const circuit = breaker();
    fail(circuit, 2);
    expect(circuit.state).toBe('closed');
    expect(circuit.tryAcquire()).toBe(true);
  });

  it('opens after the given number of consecutive failures and refuses calls', () => {
    const circuit = breaker();
    fail(circuit, 3);
    expect(circuit.state).toBe('open');
    expect(circuit.tryAcquire()).toBe(false);
    now = 999;
    expect(circuit.tryAcquire()).toBe(false);
    expect(circuit.remainingOpenMs).toBe(1);
  });

  it('counts only consecutive failures: a success in between starts over', () => {
    const circuit = breaker();
    fail(circuit, 2);
    circuit.recordSuccess();
    fail(circuit, 2);
    expect(circuit.state).toBe('closed');
  });

  it('lets one probe through after the open period, and closes when it succeeds', () => {
    const circuit = breaker();
    fail(circuit, 3);
    now = 1000;
    expect(circuit.tryAcquire()).toBe(true);
    expect(circuit.state).toBe('half_open');
    expect(circuit.tryAcquire()).toBe(false); // only the probe
    circuit.recordSuccess();
    expect(circuit.state).toBe('closed');
    expect(circuit.tryAcquire()).toBe(true);
  });

  it('opens again for a whole period when the probe fails', () => {
    const circuit = breaker();
    fail(circuit, 3);
    now = 1500;
    expect(circuit.tryAcquire()).toBe(true);
    circuit.recordFailure();
    expect(circuit.state).toBe('open');
    now = 2499;
    expect(circuit.tryAcquire()).toBe(false);
    now = 2500;
    expect(circuit.tryAcquire()).toBe(true);
  });

  it('does not extend the open period for calls that started before it opened', () => {
    const circuit = breaker();
    fail(circuit, 3);
    now = 600;
    circuit.recordFailure();
    expect(circuit.remainingOpenMs).toBe(400);
  });
});

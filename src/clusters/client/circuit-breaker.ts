export type CircuitState = 'closed' | 'open' | 'half_open';

/**
 * Stops calling a deployer that keeps failing, so callers fail fast instead of each waiting for its
 * timeouts. Closed: calls go; `failuresToOpen` consecutive failures open it. Open: calls are refused
 * for `openMs`; then the next call goes alone as a probe (half-open) while the others are still
 * refused: its success closes the circuit, its failure opens it again for another `openMs`.
 *
 * Callers report every call they were let through (success or failure) exactly once, else a probe
 * would hold the half-open circuit forever. What counts as a failure is theirs to say.
 */
export class CircuitBreaker {
  private current: CircuitState = 'closed';
  private consecutiveFailures = 0;
  private openedAt = 0;

  constructor(
    private readonly failuresToOpen: number,
    private readonly openMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** For metrics: half-open only while a probe is in flight (an open circuit past its time is still open). */
  get state(): CircuitState {
    return this.current;
  }

  /** How long an open circuit still refuses calls (0 otherwise). */
  get remainingOpenMs(): number {
    return this.current === 'open' ? Math.max(0, this.openedAt + this.openMs - this.now()) : 0;
  }

  /** Whether a call may go now; when an open circuit's time is up, the caller becomes the probe. */
  tryAcquire(): boolean {
    switch (this.current) {
      case 'closed':
        return true;
      case 'half_open':
        return false; // the probe has not reported yet
      case 'open':
        if (this.remainingOpenMs > 0) {
          return false;
        }
        this.current = 'half_open';
        return true;
    }
  }

  recordSuccess(): void {
    this.consecutiveFailures = 0;
    this.current = 'closed';
  }

  recordFailure(): void {
    if (this.current === 'open') {
      return; // a call from before it opened: the open period stays as it is
    }
    this.consecutiveFailures += 1;
    if (this.current === 'half_open' || this.consecutiveFailures >= this.failuresToOpen) {
      this.current = 'open';
      this.openedAt = this.now();
    }
  }
}

/**
 * client-go's client-side rate limiter: a bucket of `burst` tokens refilled at `qps` per second.
 * Each Kubernetes call takes one, waiting for it when the bucket is empty, so a storm of
 * deployments cannot flood the API server (which would throttle every client of the cluster).
 */
export class TokenBucket {
  private tokens: number;
  private refilledAt: number;

  constructor(
    private readonly qps: number,
    private readonly burst: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = burst;
    this.refilledAt = now();
  }

  /** Milliseconds the caller must wait before its call; 0 when a token is at hand. */
  reserve(): number {
    const now = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.refilledAt) / 1000) * this.qps);
    this.refilledAt = now;
    this.tokens -= 1;
    if (this.tokens >= 0) {
      return 0;
    }
    // In debt: callers queue in order, each until the refill has paid its own token back.
    return (-this.tokens / this.qps) * 1000;
  }

  async take(): Promise<void> {
    const wait = this.reserve();
    if (wait > 0) {
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}

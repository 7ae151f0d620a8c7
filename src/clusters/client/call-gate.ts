/**
 * At most `limit` calls in flight; the others wait their turn, first come first served. A call
 * that fails frees its place like one that succeeds.
 */
export class CallGate {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) {
      throw new Error(`a gate needs a whole number of places, at least 1 (not ${limit})`);
    }
  }

  /** Calls in flight now. */
  get inFlight(): number {
    return this.running;
  }

  async run<T>(call: () => Promise<T>): Promise<T> {
    if (this.running >= this.limit) {
      // The place is handed over by the call that frees it, so `running` never exceeds the limit.
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.running += 1;
    }
    try {
      return await call();
    } finally {
      const next = this.waiting.shift();
      if (next) {
        next();
      } else {
        this.running -= 1;
      }
    }
  }
}

/** Kubernetes timestamps: RFC 3339 in UTC, whole seconds. */
export function k8sNow(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, 'Z');
}

/** Timers a controller owns: failures are reported, never thrown, and `clear()` cancels what is pending. */
export class ControllerTimers {
  private readonly pending = new Set<NodeJS.Timeout>();

  constructor(private readonly run: (work: () => void) => void) {}

  after(ms: number, work: () => void): void {
    const timer = setTimeout(() => {
      this.pending.delete(timer);
      this.run(work);
    }, ms);
    this.pending.add(timer);
  }

  clear(): void {
    this.pending.forEach(clearTimeout);
    this.pending.clear();
  }
}

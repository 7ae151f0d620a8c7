/**
 * The storage system behind simulated clusters, as a cloud region's block storage is behind real
 * ones: a snapshot cut in one cluster is found by its handle from every cluster of the process
 * that names the same backend (`storageBackend` in the config), and from no other.
 */

export interface BackendSnapshot {
  /** The CSI driver that cut it: only that driver finds it again. */
  driver: string;
  /** A Kubernetes quantity: the size of the volume it was cut from. */
  restoreSize: string;
  /** When it was cut (RFC 3339). */
  creationTime: string;
}

/** Process-wide, as the storage outlives any one cluster that uses it. */
const BACKENDS = new Map<string, StorageBackend>();

export class StorageBackend {
  private readonly snapshots = new Map<string, BackendSnapshot>();

  private constructor(readonly name: string) {}

  /** The backend of that name, shared with every other cluster of this process that names it. */
  static named(name: string): StorageBackend {
    let backend = BACKENDS.get(name);
    if (!backend) {
      backend = new StorageBackend(name);
      BACKENDS.set(name, backend);
    }
    return backend;
  }

  /** Its snapshots by handle, to be loaded by a later process. */
  state(): Record<string, BackendSnapshot> {
    return Object.fromEntries([...this.snapshots].map(([handle, snapshot]) => [handle, { ...snapshot }]));
  }

  load(state: Record<string, BackendSnapshot>): void {
    for (const [handle, snapshot] of Object.entries(state)) {
      this.register(handle, snapshot);
    }
  }

  register(handle: string, snapshot: BackendSnapshot): void {
    this.snapshots.set(handle, { ...snapshot });
  }

  /** The snapshot with this handle, when `driver` made it (another driver cannot reach it). */
  find(handle: string, driver: string | undefined): BackendSnapshot | undefined {
    const snapshot = this.snapshots.get(handle);
    return snapshot && snapshot.driver === driver ? { ...snapshot } : undefined;
  }

  has(handle: string): boolean {
    return this.snapshots.has(handle);
  }

  remove(handle: string): void {
    this.snapshots.delete(handle);
  }
}

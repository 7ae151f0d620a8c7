/**
 * A simulated cluster that outlives its process: its objects, its storage backend's snapshots and
 * its port, in one JSON file, written shortly after each change (and at close) by a rename, so a
 * process killed at any point leaves the last whole state. A development start keeps it under
 * ODC_DATA_DIR, so the local cluster remembers what the database does.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { BackendSnapshot } from './storage-backend';
import type { ObjectStore, StoreState } from './store';

const FORMAT = 1;
/** Writes coalesce for this long: a burst of changes is one write. */
const SAVE_DELAY_MS = 200;

export interface SavedCluster {
  format: typeof FORMAT;
  /** The port it listened on, taken again when free so kubeconfigs and URLs stay right. */
  port: number;
  store: StoreState;
  backend: Record<string, BackendSnapshot>;
}

/** The saved cluster in `file`, or undefined when there is none (or it is of another format). */
export function readSavedCluster(file: string): SavedCluster | undefined {
  if (!existsSync(file)) {
    return undefined;
  }
  const saved = JSON.parse(readFileSync(file, 'utf8')) as Partial<SavedCluster>;
  return saved.format === FORMAT ? (saved as SavedCluster) : undefined;
}

/** Saves the cluster after changes, coalesced, and once more when stopped. */
export class ClusterSaver {
  private timer: NodeJS.Timeout | undefined;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly file: string,
    store: ObjectStore,
    private readonly snapshot: () => SavedCluster,
  ) {
    mkdirSync(dirname(file), { recursive: true });
    this.unsubscribe = store.subscribe(() => this.saveSoon());
  }

  saveNow(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const temporary = `${this.file}.${process.pid}.tmp`;
    writeFileSync(temporary, JSON.stringify(this.snapshot()), { mode: 0o600 });
    renameSync(temporary, this.file);
  }

  stop(): void {
    this.unsubscribe();
    this.saveNow();
  }

  private saveSoon(): void {
    this.timer ??= setTimeout(() => this.saveNow(), SAVE_DELAY_MS).unref();
  }
}

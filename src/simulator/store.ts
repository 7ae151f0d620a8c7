import { randomUUID } from 'node:crypto';
import { k8sNow } from './time';
import { cloneJson } from '../infra/kubernetes/json-clone';
import { sameJson } from '../infra/kubernetes/json-equal';
import { typeKey, type ResourceType } from './resources';
import { alreadyExists, conflict, notFound, StatusError } from './status';

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string; controller?: boolean }[];
  finalizers?: string[];
  managedFields?: unknown[];
  [key: string]: unknown;
}

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [key: string]: unknown;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreEvent {
  type: WatchEventType;
  resource: ResourceType;
  object: K8sObject;
  /** The version before a MODIFIED event (watches with selectors need it to see objects leave). */
  previous?: K8sObject;
  resourceVersion: number;
}

type Listener = (event: StoreEvent) => void;

/** Everything the store holds, as `state()` saves it and `load()` takes it back. */
export interface StoreState {
  revision: number;
  objects: { type: string; object: K8sObject }[];
}

/** How many past events a watch can resume from before it gets 410 Gone (real servers keep ~5 min). */
const HISTORY = 20_000;

function reportListenerError(error: unknown): void {
  process.emitWarning(
    `simulated cluster: a controller failed: ${error instanceof Error ? error.stack : String(error)}`,
  );
}

/** Runs a controller's deferred work so that a failure is reported, never a crash of the process. */
export function safely(work: () => void): void {
  try {
    work();
  } catch (error) {
    reportListenerError(error);
  }
}

/** The store copies on every read and write: callers never share its objects. */
const clone = cloneJson;

function objectKey(namespace: string | undefined, name: string): string {
  return `${namespace ?? ''}/${name}`;
}

/** Everything but metadata and status: a change here bumps `metadata.generation`, as Kubernetes does. */
function specOf(object: K8sObject): Record<string, unknown> {
  const { metadata: _metadata, status: _status, ...rest } = object;
  return rest;
}

/**
 * The simulated etcd: objects by resource type, one global resourceVersion counter, and an event
 * history so watches can resume from a resourceVersion.
 */
export class ObjectStore {
  private revision = 0;
  private readonly objects = new Map<string, Map<string, K8sObject>>();
  private readonly types = new Map<string, ResourceType>();
  private readonly history: StoreEvent[] = [];
  private readonly listeners = new Set<Listener>();
  /** owner uid → the objects that name it in ownerReferences (the garbage collector asks on every delete). */
  private readonly dependents = new Map<string, Map<string, { type: ResourceType; key: string }>>();
  private readonly byUid = new Map<string, { type: ResourceType; key: string }>();

  /** A listener that throws must not break the write that triggered it, nor the other listeners. */
  constructor(private readonly onListenerError: (error: unknown) => void = reportListenerError) {}

  get resourceVersion(): string {
    return String(this.revision);
  }

  /** The oldest resourceVersion a watch can still resume after. */
  get oldestResumable(): number {
    const oldest = this.history[0];
    return oldest ? oldest.resourceVersion - 1 : this.revision;
  }

  get(type: ResourceType, namespace: string | undefined, name: string): K8sObject | undefined {
    const object = this.bucket(type).get(objectKey(namespace, name));
    return object ? clone(object) : undefined;
  }

  mustGet(type: ResourceType, namespace: string | undefined, name: string): K8sObject {
    const object = this.get(type, namespace, name);
    if (!object) {
      throw notFound(type.plural, name, type.group);
    }
    return object;
  }

  list(
    type: ResourceType,
    namespace?: string,
    filter: (object: K8sObject) => boolean = () => true,
  ): K8sObject[] {
    const items: K8sObject[] = [];
    for (const object of this.bucket(type).values()) {
      if ((namespace === undefined || object.metadata.namespace === namespace) && filter(object)) {
        items.push(clone(object));
      }
    }
    return items.sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1));
  }

  /** Objects of every type whose ownerReferences name this uid. */
  dependentsOf(uid: string): { type: ResourceType; object: K8sObject }[] {
    return [...(this.dependents.get(uid)?.values() ?? [])].flatMap(({ type, key }) => {
      const object = this.bucket(type).get(key);
      return object ? [{ type, object: clone(object) }] : [];
    });
  }

  findByUid(uid: string): { type: ResourceType; object: K8sObject } | undefined {
    const location = this.byUid.get(uid);
    const object = location ? this.bucket(location.type).get(location.key) : undefined;
    return location && object ? { type: location.type, object: clone(object) } : undefined;
  }

  create(type: ResourceType, object: K8sObject): K8sObject {
    const bucket = this.bucket(type);
    const key = objectKey(object.metadata.namespace, object.metadata.name);
    if (bucket.has(key)) {
      throw alreadyExists(type.plural, object.metadata.name, type.group);
    }
    const stored = clone(object);
    stored.metadata.uid = randomUUID();
    stored.metadata.creationTimestamp = k8sNow();
    if (type.generation) {
      stored.metadata.generation = 1;
    } else {
      delete stored.metadata.generation;
    }
    return this.commit(type, bucket, key, stored, 'ADDED');
  }

  /**
   * Replaces an object. With `metadata.resourceVersion` set it must match the stored one (optimistic
   * concurrency); unchanged content keeps the resourceVersion (a no-op write is not an event).
   */
  update(type: ResourceType, object: K8sObject, options: { keepGeneration?: boolean } = {}): K8sObject {
    const bucket = this.bucket(type);
    const key = objectKey(object.metadata.namespace, object.metadata.name);
    const current = bucket.get(key);
    if (!current) {
      throw notFound(type.plural, object.metadata.name, type.group);
    }
    const expected = object.metadata.resourceVersion;
    if (expected !== undefined && expected !== '' && expected !== current.metadata.resourceVersion) {
      throw conflict(type.plural, object.metadata.name, type.group);
    }
    const next = clone(object);
    for (const field of [
      'uid',
      'creationTimestamp',
      'generation',
      'resourceVersion',
      'deletionTimestamp',
    ] as const) {
      if (current.metadata[field] === undefined) {
        delete next.metadata[field];
      } else {
        next.metadata[field] = current.metadata[field] as never;
      }
    }
    if (sameJson(next, current)) {
      return clone(current);
    }
    const deleting = object.metadata.deletionTimestamp !== undefined && !current.metadata.deletionTimestamp;
    // A spec change counts, and so does the start of a graceful deletion (BeforeDelete); a pod's
    // binding (its own subresource) does not.
    if (
      type.generation &&
      !options.keepGeneration &&
      (deleting || !sameJson(specOf(next), specOf(current)))
    ) {
      next.metadata.generation = (current.metadata.generation ?? 1) + 1;
    }
    if (deleting) {
      next.metadata.deletionTimestamp = object.metadata.deletionTimestamp;
    }
    return this.commit(type, bucket, key, next, 'MODIFIED');
  }

  remove(type: ResourceType, namespace: string | undefined, name: string): K8sObject {
    const bucket = this.bucket(type);
    const key = objectKey(namespace, name);
    const current = bucket.get(key);
    if (!current) {
      throw notFound(type.plural, name, type.group);
    }
    bucket.delete(key);
    this.index(type, key, current, undefined);
    this.revision += 1;
    const removed = {
      ...clone(current),
      metadata: { ...clone(current.metadata), resourceVersion: String(this.revision) },
    };
    this.emit({ type: 'DELETED', resource: type, object: removed, resourceVersion: this.revision });
    return clone(removed);
  }

  /** Events after `since` (for a resuming watch); throws Gone when they are no longer kept. */
  eventsSince(since: number): StoreEvent[] {
    if (since < this.oldestResumable) {
      throw new StatusError('Gone', `too old resource version: ${since} (${this.oldestResumable})`);
    }
    return this.history.filter((event) => event.resourceVersion > since);
  }

  /** Every object and the revision, to be loaded by a store of a later process. */
  state(): StoreState {
    const objects = [...this.objects.entries()].flatMap(([type, bucket]) =>
      [...bucket.values()].map((object) => ({ type, object: clone(object) })),
    );
    return { revision: this.revision, objects };
  }

  /**
   * Takes back what `state()` saved, as it was (uids, resourceVersions), with no events: `announceAll` tells the controllers once they listen. Types this version does not
   * serve are skipped.
   */
  load(state: StoreState, typeOfKey: (key: string) => ResourceType | undefined): void {
    for (const { type: key, object } of state.objects) {
      const type = typeOfKey(key);
      if (!type) {
        continue;
      }
      const bucket = this.bucket(type);
      const bucketKey = objectKey(object.metadata.namespace, object.metadata.name);
      // The saved object replaces one the store starts with (the built-in namespaces).
      this.index(type, bucketKey, bucket.get(bucketKey), object);
      bucket.set(bucketKey, clone(object));
    }
    this.revision = Math.max(this.revision, state.revision);
  }

  /**
   * Every object, to the listeners, as ADDED: what a controller's informer lists when it starts,
   * so controllers of a restarted cluster pick up the work its objects still need. Not kept for
   * watches (their clients list first).
   */
  announceAll(): void {
    for (const [key, bucket] of this.objects) {
      const resource = this.types.get(key)!;
      for (const object of bucket.values()) {
        const event: StoreEvent = {
          type: 'ADDED',
          resource,
          object: clone(object),
          resourceVersion: Number(object.metadata.resourceVersion),
        };
        for (const listener of this.listeners) {
          try {
            listener(event);
          } catch (error) {
            this.onListenerError(error);
          }
        }
      }
    }
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private bucket(type: ResourceType): Map<string, K8sObject> {
    const key = typeKey(type);
    let bucket = this.objects.get(key);
    if (!bucket) {
      bucket = new Map();
      this.objects.set(key, bucket);
      this.types.set(key, type);
    }
    return bucket;
  }

  private commit(
    type: ResourceType,
    bucket: Map<string, K8sObject>,
    key: string,
    object: K8sObject,
    eventType: WatchEventType,
  ): K8sObject {
    this.revision += 1;
    object.metadata.resourceVersion = String(this.revision);
    const previous = bucket.get(key);
    this.index(type, key, previous, object);
    bucket.set(key, object);
    this.emit({
      type: eventType,
      resource: type,
      object: clone(object),
      ...(previous ? { previous: clone(previous) } : {}),
      resourceVersion: this.revision,
    });
    return clone(object);
  }

  private index(
    type: ResourceType,
    key: string,
    before: K8sObject | undefined,
    after: K8sObject | undefined,
  ): void {
    const id = `${typeKey(type)}|${key}`;
    if (before?.metadata.uid) {
      this.byUid.delete(before.metadata.uid);
    }
    if (after?.metadata.uid) {
      this.byUid.set(after.metadata.uid, { type, key });
    }
    for (const ref of before?.metadata.ownerReferences ?? []) {
      this.dependents.get(ref.uid)?.delete(id);
      if (this.dependents.get(ref.uid)?.size === 0) {
        this.dependents.delete(ref.uid);
      }
    }
    for (const ref of after?.metadata.ownerReferences ?? []) {
      let owned = this.dependents.get(ref.uid);
      if (!owned) {
        owned = new Map();
        this.dependents.set(ref.uid, owned);
      }
      owned.set(id, { type, key });
    }
  }

  private emit(event: StoreEvent): void {
    this.history.push(event);
    if (this.history.length > HISTORY * 1.25) {
      this.history.splice(0, this.history.length - HISTORY); // trimmed in chunks: O(1) amortised
    }
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error) {
        this.onListenerError(error);
      }
    }
  }
}

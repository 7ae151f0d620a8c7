/**
 * Kubernetes' garbage collector and finalizer handling, reacting to store events:
 * - an object deleted (or deleted in the background) takes its dependents (ownerReferences) along;
 * - an object being deleted in the foreground waits for its dependents, then goes;
 * - an object with a deletionTimestamp and no finalizers left is removed.
 */
import { k8sNow } from './time';
import type { ObjectStore, K8sObject, StoreEvent } from './store';
import type { ResourceType } from './resources';

export const FOREGROUND = 'foregroundDeletion';
const ORPHAN = 'orphan';

export type PropagationPolicy = 'Background' | 'Foreground' | 'Orphan';

export class GarbageCollector {
  private readonly unsubscribe: () => void;
  private pending = Promise.resolve();

  constructor(private readonly store: ObjectStore) {
    this.unsubscribe = store.subscribe((event) => this.schedule(event));
  }

  stop(): void {
    this.unsubscribe();
  }

  /** Resolves when every cascade started so far has finished (tests use it to observe the end state). */
  settled(): Promise<void> {
    return this.pending;
  }

  /**
   * Deletes an object the way the API server's DELETE does; returns what the response shows: the
   * object, gone, or, while finalizers hold it (foreground and orphan deletions add theirs), marked
   * with its deletionTimestamp.
   */
  delete(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    policy: PropagationPolicy,
  ): K8sObject {
    const current = this.store.mustGet(type, namespace, name);
    const finalizers = new Set(current.metadata.finalizers ?? []);
    if (policy === 'Foreground') {
      finalizers.add(FOREGROUND);
    }
    if (policy === 'Orphan') {
      finalizers.add(ORPHAN);
    }
    if (finalizers.size === 0) {
      return this.store.remove(type, namespace, name);
    }
    if (current.metadata.deletionTimestamp && policy !== 'Foreground') {
      return current;
    }
    current.metadata.finalizers = [...finalizers];
    current.metadata.deletionTimestamp ??= k8sNow();
    current.metadata.deletionGracePeriodSeconds ??= 0;
    delete current.metadata.resourceVersion;
    return this.store.update(type, current);
  }

  private schedule(event: StoreEvent): void {
    this.pending = this.pending.then(() => this.react(event)).catch(() => undefined);
  }

  private react(event: StoreEvent): void {
    const { object } = event;
    if (event.type === 'DELETED') {
      for (const dependent of this.store.dependentsOf(object.metadata.uid!)) {
        this.deleteQuietly(dependent.type, dependent.object, 'Background');
      }
      this.finishForegroundOwners(object);
      return;
    }
    if (!object.metadata.deletionTimestamp) {
      return;
    }
    const finalizers = object.metadata.finalizers ?? [];
    if (finalizers.includes(ORPHAN)) {
      // The orphan finalizer: dependents lose their owner reference, then the owner goes.
      this.orphanDependents(object);
      this.removeFinalizer(event.resource, object, ORPHAN);
      return;
    }
    if (finalizers.includes(FOREGROUND)) {
      const dependents = this.store.dependentsOf(object.metadata.uid!);
      if (dependents.length === 0) {
        this.removeFinalizer(event.resource, object, FOREGROUND);
      }
      for (const dependent of dependents.filter((d) => !d.object.metadata.deletionTimestamp)) {
        this.deleteQuietly(dependent.type, dependent.object, 'Foreground');
      }
    } else if (finalizers.length === 0) {
      this.deleteQuietly(event.resource, object, 'Background');
    }
  }

  /** An owner waiting in the foreground may be free to go once this dependent is gone. */
  private finishForegroundOwners(dependent: K8sObject): void {
    for (const reference of dependent.metadata.ownerReferences ?? []) {
      for (const { type, object } of this.findByUid(reference.uid)) {
        if (
          object.metadata.finalizers?.includes(FOREGROUND) &&
          this.store.dependentsOf(object.metadata.uid!).length === 0
        ) {
          this.removeFinalizer(type, object, FOREGROUND);
        }
      }
    }
  }

  private findByUid(uid: string): { type: ResourceType; object: K8sObject }[] {
    const found = this.store.findByUid(uid);
    return found ? [found] : [];
  }

  private removeFinalizer(type: ResourceType, object: K8sObject, finalizer: string): void {
    const current = this.store.get(type, object.metadata.namespace, object.metadata.name);
    if (!current) {
      return;
    }
    current.metadata.finalizers = (current.metadata.finalizers ?? []).filter((f) => f !== finalizer);
    if (current.metadata.finalizers.length === 0) {
      this.store.remove(type, current.metadata.namespace, current.metadata.name);
      return;
    }
    delete current.metadata.resourceVersion;
    this.store.update(type, current);
  }

  private orphanDependents(owner: K8sObject): void {
    for (const { type, object } of this.store.dependentsOf(owner.metadata.uid!)) {
      object.metadata.ownerReferences = object.metadata.ownerReferences!.filter(
        (ref) => ref.uid !== owner.metadata.uid,
      );
      if (object.metadata.ownerReferences.length === 0) {
        delete object.metadata.ownerReferences;
      }
      delete object.metadata.resourceVersion;
      this.store.update(type, object);
    }
  }

  private deleteQuietly(type: ResourceType, object: K8sObject, policy: PropagationPolicy): void {
    try {
      this.delete(type, object.metadata.namespace, object.metadata.name, policy);
    } catch {
      // already gone: another cascade got there first
    }
  }
}

import { randomBytes } from 'node:crypto';
import { k8sNow } from './time';
import type { ObjectStore, K8sObject } from './store';
import { RESOURCE_TYPES } from './resources';

const EVENT_TYPE = RESOURCE_TYPES.find((t) => t.kind === 'Event')!;

/** Writes core/v1 Events about objects, as the controllers of a real cluster do. */
export class EventRecorder {
  constructor(
    private readonly store: ObjectStore,
    private readonly component: string,
  ) {}

  record(object: K8sObject, type: 'Normal' | 'Warning', reason: string, message: string): void {
    const now = k8sNow();
    const namespace = object.metadata.namespace ?? 'default';
    this.store.create(EVENT_TYPE, {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: `${object.metadata.name}.${randomBytes(8).toString('hex')}`, namespace },
      involvedObject: {
        apiVersion: object.apiVersion,
        kind: object.kind,
        name: object.metadata.name,
        namespace: object.metadata.namespace,
        uid: object.metadata.uid,
        resourceVersion: object.metadata.resourceVersion,
      },
      reason,
      message,
      type,
      source: { component: this.component },
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
      reportingComponent: this.component,
    });
  }
}

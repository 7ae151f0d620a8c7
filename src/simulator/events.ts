import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { k8sNow } from './time';
import type { ObjectStore, K8sObject } from './store';
import { RESOURCE_TYPES } from './resources';

const EVENT_TYPE = RESOURCE_TYPES.find((t) => t.kind === 'Event')!;

/**
 * Writes core/v1 Events about objects, as the components of a real cluster do: `record` as the
 * controllers' (legacy) recorder writes them (source, first/last timestamp, count), `recordAction`
 * as kube-scheduler's events.k8s.io recorder does (eventTime, action, reporting instance).
 */
export class EventRecorder {
  constructor(
    private readonly store: ObjectStore,
    private readonly component: string,
  ) {}

  record(object: K8sObject, type: 'Normal' | 'Warning', reason: string, message: string): void {
    const now = k8sNow();
    this.store.create(EVENT_TYPE, {
      ...this.about(object, type, reason, message),
      source: { component: this.component },
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
      eventTime: null,
      reportingComponent: this.component,
      reportingInstance: '',
    });
  }

  recordAction(
    object: K8sObject,
    type: 'Normal' | 'Warning',
    reason: string,
    action: string,
    message: string,
  ): void {
    this.store.create(EVENT_TYPE, {
      ...this.about(object, type, reason, message),
      source: {},
      firstTimestamp: null,
      lastTimestamp: null,
      eventTime: new Date().toISOString().replace('Z', '000Z'),
      action,
      reportingComponent: this.component,
      reportingInstance: `${this.component}-${hostname()}`,
    });
  }

  private about(object: K8sObject, type: string, reason: string, message: string): K8sObject {
    const namespace = object.metadata.namespace ?? 'default';
    return {
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
    };
  }
}

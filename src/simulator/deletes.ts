/**
 * DELETE of one object, of a collection, or of a namespace (with everything in it), cascading to
 * dependents as the propagation policy asks.
 */
import { k8sNow } from './time';
import { resourceType, type ApiServerState, type Query, type Route } from './api-context';
import type { PropagationPolicy } from './garbage-collector';
import { queryFilter } from './reads';
import { RESOURCE_TYPES, type ResourceType } from './resources';
import { StatusError } from './status';
import type { K8sObject } from './store';

const PROTECTED_NAMESPACES = new Set(['default', 'kube-system', 'kube-public']);

/** `body`: the request's DeleteOptions, if any (it may name the propagation policy). */
export function remove(state: ApiServerState, route: Route, query: Query, body: string): unknown {
  const { type, namespace, name } = route;
  if (!name) {
    return deleteCollection(state, route, query);
  }
  if (query.get('dryRun') === 'All') {
    return state.store.mustGet(type, namespace, name);
  }
  if (type.kind === 'Namespace') {
    return deleteNamespace(state, name);
  }
  return deleted(
    state,
    type,
    state.garbageCollector.delete(type, namespace, name, propagation(query, body, type)),
  );
}

/**
 * What a DELETE answers: an object finalizers still hold, as it now is; one that is gone, as its
 * registry returns it (the object, or a Status of success naming it). A pod is answered as a
 * graceful deletion marks it (the simulator's kubelets let it go at once).
 */
function deleted(state: ApiServerState, type: ResourceType, object: K8sObject): unknown {
  const { namespace, name, uid } = object.metadata;
  if (state.store.get(type, namespace, name)?.metadata.uid === uid) {
    return object;
  }
  if (type.kind === 'Pod') {
    const spec = object.spec as { nodeName?: string; terminationGracePeriodSeconds?: number } | undefined;
    return {
      ...object,
      metadata: {
        ...object.metadata,
        deletionTimestamp: object.metadata.deletionTimestamp ?? k8sNow(),
        deletionGracePeriodSeconds: spec?.nodeName ? (spec.terminationGracePeriodSeconds ?? 30) : 0,
        generation: (object.metadata.generation ?? 1) + 1,
      },
    };
  }
  if (type.returnsDeleted) {
    return object;
  }
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Success',
    details: { name, ...(type.group ? { group: type.group } : {}), kind: type.plural, uid },
  };
}

/** As the namespace controller does: everything in the namespace goes, then the namespace. */
function deleteNamespace(state: ApiServerState, name: string): K8sObject {
  if (PROTECTED_NAMESPACES.has(name)) {
    throw new StatusError(
      'Forbidden',
      `namespaces "${name}" is forbidden: this namespace may not be deleted`,
      {
        name,
        kind: 'namespaces',
      },
    );
  }
  const namespaceType = resourceType('', 'namespaces');
  const namespace = state.store.mustGet(namespaceType, undefined, name);
  for (const type of RESOURCE_TYPES.filter((t) => t.namespaced)) {
    for (const object of state.store.list(type, name)) {
      state.garbageCollector.delete(type, name, object.metadata.name, 'Background');
    }
  }
  state.store.remove(namespaceType, undefined, name);
  return {
    ...namespace,
    metadata: {
      ...namespace.metadata,
      deletionTimestamp: k8sNow(),
    },
    status: { phase: 'Terminating' },
  };
}

function deleteCollection(state: ApiServerState, route: Route, query: Query): unknown {
  const policy = propagation(query, '', route.type);
  for (const object of state.store.list(route.type, route.namespace, queryFilter(route.type.kind, query))) {
    state.garbageCollector.delete(route.type, object.metadata.namespace, object.metadata.name, policy);
  }
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success' };
}

/**
 * The propagation policy a DELETE asks for; without one, the kind's default: Background, but
 * Orphan for batch/v1 Jobs (their registry keeps the old default, so their pods stay).
 */
function propagation(query: Query, body: string, type: ResourceType): PropagationPolicy {
  let policy = query.get('propagationPolicy');
  if (!policy && body.trim()) {
    try {
      policy = (JSON.parse(body) as { propagationPolicy?: string }).propagationPolicy ?? null;
    } catch {
      throw new StatusError('BadRequest', 'the body of a DELETE must be DeleteOptions');
    }
  }
  if (policy && !['Background', 'Foreground', 'Orphan'].includes(policy)) {
    throw new StatusError('BadRequest', `unsupported propagationPolicy "${policy}"`);
  }
  return (policy as PropagationPolicy | null) ?? (type.kind === 'Job' ? 'Orphan' : 'Background');
}

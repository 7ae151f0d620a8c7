/** GET of one object or a list, as JSON or as the Table kubectl prints; selectors filter lists. */
import type { ApiServerState, Query, Route } from './api-context';
import { apiVersionOf } from './resources';
import {
  matches,
  parseFieldSelector,
  parseSelector,
  selectableFields,
  selectedFieldValue,
} from './selectors';
import { StatusError } from './status';
import type { K8sObject } from './store';
import { asTable, wantsTable } from './tables';

/** `accept`: the request's Accept header, which may ask for a Table. */
export function read(state: ApiServerState, route: Route, query: Query, accept: string | undefined): unknown {
  const { type, namespace, name } = route;
  if (wantsTable(accept)) {
    const objects = name
      ? [state.store.mustGet(type, namespace, name)]
      : state.store.list(type, namespace, queryFilter(type.kind, query));
    return asTable(type.kind, objects, state.store.resourceVersion, query.get('includeObject'));
  }
  if (name) {
    return state.store.mustGet(type, namespace, name);
  }
  return list(state, route, query);
}

/** The objects a request's label and field selectors select. */
export function queryFilter(kind: string, query: Query): (object: K8sObject) => boolean {
  const labels = parseSelector(query.get('labelSelector') ?? undefined);
  const fields = parseFieldSelector(query.get('fieldSelector') ?? undefined);
  const selectable = selectableFields(kind);
  for (const requirement of fields) {
    if (!selectable.includes(requirement.key)) {
      // A kind with field labels of its own refuses in its conversion function; the rest (and
      // custom resources) in the generic check of metadata fields.
      throw new StatusError(
        'BadRequest',
        selectable.length > 2
          ? `field label not supported: ${requirement.key}`
          : `"${requirement.key}" is not a known field selector: only "${selectable.join('", "')}"`,
      );
    }
  }
  return (object) =>
    matches(labels, (key) => object.metadata.labels?.[key]) &&
    matches(fields, (key) => selectedFieldValue(object, key));
}

function list(state: ApiServerState, route: Route, query: Query): unknown {
  const items = state.store
    .list(route.type, route.namespace, queryFilter(route.type.kind, query))
    .map(({ apiVersion: _a, kind: _k, ...item }) => item);
  return {
    kind: `${route.type.kind}List`,
    apiVersion: apiVersionOf(route.type),
    metadata: { resourceVersion: state.store.resourceVersion },
    items,
  };
}

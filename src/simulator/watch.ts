/** Watches: a chunked stream of ADDED, MODIFIED and DELETED events, one JSON object a line. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ApiServerState, Query, Route } from './api-context';
import { queryFilter } from './reads';
import type { K8sObject, StoreEvent } from './store';

/**
 * Streams the backlog (since `resourceVersion`, or every object now) and then each change until
 * the client goes, `timeoutSeconds` pass, or the server closes.
 */
export function watch(
  state: ApiServerState,
  req: IncomingMessage,
  res: ServerResponse,
  route: Route,
  query: Query,
): void {
  const filter = queryFilter(route.type.kind, query);
  const matches = (object: K8sObject | undefined) =>
    object !== undefined &&
    (route.namespace === undefined || object.metadata.namespace === route.namespace) &&
    (route.name === undefined || object.metadata.name === route.name) &&
    filter(object);
  // As a real server does for a filtered watch: an object that starts matching is ADDED, one that
  // stops matching is DELETED.
  const translate = (event: StoreEvent): { type: string; object: K8sObject } | undefined => {
    if (event.resource !== route.type) {
      return undefined;
    }
    const now = event.type !== 'DELETED' && matches(event.object);
    const before = event.type === 'DELETED' ? matches(event.object) : matches(event.previous);
    if (event.type === 'MODIFIED' && now && !before) {
      return { type: 'ADDED', object: event.object };
    }
    if (event.type === 'MODIFIED' && before && !now) {
      return { type: 'DELETED', object: event.object };
    }
    return now || (event.type === 'DELETED' && before)
      ? { type: event.type, object: event.object }
      : undefined;
  };
  const since = query.get('resourceVersion');
  const backlog =
    since && since !== '0'
      ? state.store.eventsSince(Number(since)).flatMap((event) => translate(event) ?? [])
      : state.store.list(route.type, route.namespace, matches).map((object) => ({ type: 'ADDED', object }));
  res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
  res.flushHeaders(); // clients wait for the headers before they start reading events
  const write = (event: { type: string; object: K8sObject }) => res.write(`${JSON.stringify(event)}\n`);
  backlog.forEach(write);
  const unsubscribe = state.store.subscribe((event) => {
    const translated = translate(event);
    if (translated) {
      write(translated);
    }
  });
  const end = () => {
    clearTimeout(timer);
    unsubscribe();
    state.openWatches.delete(end);
    res.end();
  };
  const timeout = Number(query.get('timeoutSeconds') ?? 0);
  const timer = timeout > 0 ? setTimeout(end, timeout * 1000) : undefined;
  state.openWatches.add(end);
  req.on('close', end);
}

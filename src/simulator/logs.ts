/** `GET …/pods/{name}/log`: the lines the kubelet simulation provides, tailed and timestamped on request. */
import { k8sNow } from './time';
import type { ApiServerState, Query, Route } from './api-context';
import type { K8sObject } from './store';

/** A container's log lines; the kubelet simulation provides them. */
export type PodLogs = (pod: K8sObject, container: string | undefined) => string[];

/** The log as the kubelet returns it: one line each, newline-terminated. */
export function podLog(
  state: ApiServerState,
  podLogs: PodLogs | undefined,
  route: Route,
  query: Query,
): string {
  const pod = state.store.mustGet(route.type, route.namespace, route.name!);
  const container = query.get('container') ?? undefined;
  let lines = podLogs?.(pod, container) ?? [];
  const tail = query.get('tailLines');
  if (tail !== null) {
    lines = lines.slice(-Number(tail));
  }
  if (query.get('timestamps') === 'true') {
    // The kubelet prefixes each line with the time it was written; the simulated lines date from the start.
    const at = (pod.status as { startTime?: string } | undefined)?.startTime ?? k8sNow();
    lines = lines.map((line) => `${at} ${line}`);
  }
  return lines.map((line) => `${line}\n`).join('');
}

/**
 * What the simulated API server's request handlers are given: the route a request names and the
 * server's state, passed to each handler rather than reached for.
 */
import type { GarbageCollector } from './garbage-collector';
import type { UserInfo } from './rbac';
import { RESOURCE_TYPES, type ResourceType } from './resources';
import type { ServiceAllocator } from './service-allocator';
import type { ObjectStore } from './store';
import type { ServiceAccountTokens } from './tokens';
import type { ObjectValidator } from './validation';

export interface Route {
  type: ResourceType;
  namespace?: string;
  name?: string;
  subresource?: string;
  /** Who sent the request when it carried a service-account token; undefined for the anonymous admin. */
  user?: UserInfo;
}

export type Query = URLSearchParams;

export interface ApiServerState {
  readonly store: ObjectStore;
  readonly garbageCollector: GarbageCollector;
  /** Node ports and cluster IPs of Services, as the Service registry allocates them. */
  readonly services: ServiceAllocator;
  readonly validator: ObjectValidator;
  readonly tokens: ServiceAccountTokens;
  /** How to end each watch still streaming, so that closing the server ends them all. */
  readonly openWatches: Set<() => void>;
}

export function resourceType(group: string, plural: string): ResourceType {
  return RESOURCE_TYPES.find((t) => t.group === group && t.plural === plural)!;
}

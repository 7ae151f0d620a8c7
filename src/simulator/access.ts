/**
 * Who a request is from and whether it may proceed. Requests without credentials act as the
 * cluster admin; service-account bearer tokens are held to RBAC, and each decision on a resource
 * is kept for tests to read back.
 */
import { resourceType, type ApiServerState } from './api-context';
import {
  authorize,
  forbidden,
  liveRbac,
  serviceAccountUser,
  type AuthorizationRecord,
  type RbacView,
  type RequestAttributes,
  type ResourceAttributes,
  type UserInfo,
} from './rbac';
import { StatusError } from './status';

/** Authorization decisions kept for tests; older ones are dropped so a long run cannot grow without bound. */
const KEPT_AUTHORIZATIONS = 10_000;

export class RequestAccess {
  private readonly rbac: RbacView;
  private readonly decisions: AuthorizationRecord[] = [];

  constructor(private readonly state: ApiServerState) {
    this.rbac = liveRbac(state.store);
  }

  /** Every RBAC decision on a service-account user's resource request so far, oldest first (a copy). */
  get authorizations(): readonly AuthorizationRecord[] {
    return [...this.decisions];
  }

  clearAuthorizations(): void {
    this.decisions.length = 0;
  }

  /**
   * No credentials: the anonymous admin of a local development cluster (every client of the
   * simulator relies on it). A bearer token: the ServiceAccount it was issued to, while that
   * account exists. Anything else: 401.
   */
  authenticate(header: string | undefined): UserInfo | undefined {
    if (header === undefined) {
      return undefined;
    }
    const token = /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1];
    const holder = token === undefined ? undefined : this.state.tokens.holderOf(token);
    const account =
      holder && this.state.store.get(resourceType('', 'serviceaccounts'), holder.namespace, holder.name);
    if (!holder || account?.metadata.uid !== holder.uid) {
      throw new StatusError('Unauthorized', 'Unauthorized');
    }
    return serviceAccountUser(holder.namespace, holder.name);
  }

  /** Allows the request or throws 403; decisions on resources are recorded. */
  enforce(user: UserInfo, request: RequestAttributes): void {
    const decision = authorize(user, request, this.rbac);
    if (request.kind === 'resource') {
      this.record(user, request, decision.allowed);
    }
    if (!decision.allowed) {
      throw forbidden(user, request, decision.reason);
    }
  }

  /** `request` as requestAttributes builds it: its optional attributes are absent, not undefined. */
  private record(user: UserInfo, request: { kind: 'resource' } & ResourceAttributes, allowed: boolean): void {
    const { kind: _resource, ...attributes } = request;
    this.decisions.push({ user: user.name, ...attributes, allowed });
    if (this.decisions.length > KEPT_AUTHORIZATIONS * 1.25) {
      this.decisions.splice(0, this.decisions.length - KEPT_AUTHORIZATIONS); // in chunks: O(1) amortised
    }
  }
}

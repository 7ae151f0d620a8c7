/**
 * What a workload did with its RBAC, and whether each grant was needed: the record of its requests'
 * authorizations comes from the simulator (which records every decision) or from the real API
 * server's audit log; the judgement is the same for both (test/helm/deployer-rbac.spec.ts).
 */
import { openSync, readSync, closeSync, statSync } from 'node:fs';
import type { AuthorizationRecord, PolicyRule } from '../../src/simulator/rbac';
import type { SimulatedCluster } from '../../src/simulator/cluster';
import type { K8sObject } from './charts';

export type RbacObject = K8sObject & { rules: PolicyRule[] };

/** One verb on one resource (`pods/log` for a subresource) that a rule grants. */
export interface Grant {
  by: 'Role' | 'ClusterRole';
  apiGroup: string;
  resource: string;
  verb: string;
}

export function grantsOf(role: RbacObject): Grant[] {
  return role.rules.flatMap((rule) =>
    (rule.apiGroups ?? []).flatMap((apiGroup) =>
      (rule.resources ?? []).flatMap((resource) =>
        rule.verbs.map((verb) => ({ by: role.kind as Grant['by'], apiGroup, resource, verb })),
      ),
    ),
  );
}

/** One authorization of one request: who, which verb on what, allowed or not. */
export type AccessRecord = AuthorizationRecord;

const resourceOf = (record: AccessRecord) =>
  record.subresource ? `${record.resource}/${record.subresource}` : record.resource;

const sameAccess = (grant: Omit<Grant, 'by'>, record: AccessRecord) =>
  grant.apiGroup === record.apiGroup && grant.resource === resourceOf(record) && grant.verb === record.verb;

/**
 * The grants no allowed request needed. A Role's grant is needed by a request in the workload
 * namespace that the ClusterRole does not cover; a ClusterRole's by one outside what the Role
 * covers (cluster-wide, or a cluster-scoped resource).
 */
export function unneededGrants(
  role: RbacObject,
  clusterRole: RbacObject,
  records: readonly AccessRecord[],
  workloadNamespace: string,
): { unneeded: Grant[]; unneededCluster: Grant[] } {
  const allowed = records.filter((record) => record.allowed);
  const roleGrants = grantsOf(role);
  const clusterGrants = grantsOf(clusterRole);
  const unneeded = roleGrants.filter(
    (grant) =>
      !allowed.some(
        (record) =>
          record.namespace === workloadNamespace &&
          sameAccess(grant, record) &&
          !clusterGrants.some((c) => sameAccess(c, record)),
      ),
  );
  const unneededCluster = clusterGrants.filter(
    (grant) =>
      !allowed.some(
        (record) =>
          sameAccess(grant, record) &&
          !(record.namespace === workloadNamespace && roleGrants.some((r) => sameAccess(r, record))),
      ),
  );
  return { unneeded, unneededCluster };
}

/** Where a spec reads what a user's requests were authorized to do, from a point in time on. */
export interface AccessRecordSource {
  /** Forgets what came before. */
  start(): Promise<void>;
  /** The user's requests since `start`, in order. */
  records(user: string): Promise<AccessRecord[]>;
}

/** The simulator's own record of every authorization decision on a resource. */
export function simulatorRecords(cluster: SimulatedCluster): AccessRecordSource {
  return {
    start: async () => cluster.api.clearAuthorizations(),
    records: async (user) => cluster.api.authorizations.filter((record) => record.user === user),
  };
}

/** The fields of a kube-apiserver audit event (audit.k8s.io/v1, level Metadata) read here. */
export interface AuditEvent {
  auditID: string;
  stage: string;
  requestURI: string;
  verb: string;
  user: { username: string };
  objectRef?: {
    apiGroup?: string;
    resource?: string;
    subresource?: string;
    namespace?: string;
    name?: string;
  };
  responseStatus?: { code?: number };
  annotations?: Record<string, string>;
}

/**
 * A user's requests as authorization records: one per request (its last stage), allowed when the
 * authorizer allowed it and the answer is not 403. A server-side apply that created its object (a
 * patch answered 201) was authorized for `create` as well (kube-apiserver asks, without an audit
 * event of its own). A request for no resource (`/version`, discovery) is kept only when refused.
 */
export function auditRecords(events: readonly AuditEvent[], user: string): AccessRecord[] {
  const lastStage = new Map<string, AuditEvent>();
  for (const event of events) {
    if (event.user?.username === user) {
      lastStage.set(event.auditID, event);
    }
  }
  return [...lastStage.values()].flatMap((event): AccessRecord[] => {
    const code = event.responseStatus?.code;
    const allowed = event.annotations?.['authorization.k8s.io/decision'] === 'allow' && code !== 403;
    const ref = event.objectRef;
    if (!ref?.resource) {
      return allowed ? [] : [{ user, verb: event.verb, apiGroup: '', resource: event.requestURI, allowed }];
    }
    const record: AccessRecord = {
      user,
      verb: event.verb,
      apiGroup: ref.apiGroup ?? '',
      resource: ref.resource,
      ...(ref.subresource ? { subresource: ref.subresource } : {}),
      ...(ref.namespace ? { namespace: ref.namespace } : {}),
      ...(ref.name ? { name: ref.name } : {}),
      allowed,
    };
    return event.verb === 'patch' && code === 201 ? [record, { ...record, verb: 'create' }] : [record];
  });
}

/**
 * The real API server's audit log (JSON lines; `npm run kube:up` logs every request of a
 * ServiceAccount outside kube-system). `mark` makes one request as the user that is recognised
 * by `isMark` and left out: once it is in the log, so are the requests before it (the log is
 * written as each request completes).
 */
export function auditLogRecords(
  path: string,
  mark: () => Promise<unknown>,
  isMark: (event: AuditEvent) => boolean,
): AccessRecordSource {
  let offset = 0;
  const eventsSince = (from: number): AuditEvent[] => {
    const size = statSync(path).size;
    const buffer = Buffer.alloc(Math.max(0, size - from));
    const fd = openSync(path, 'r');
    try {
      readSync(fd, buffer, 0, buffer.length, from);
    } finally {
      closeSync(fd);
    }
    const text = buffer.toString('utf8');
    // A line still being written is left for later.
    return text
      .slice(0, text.lastIndexOf('\n') + 1)
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as AuditEvent);
  };
  return {
    start: async () => {
      offset = statSync(path).size;
    },
    records: async (user) => {
      await mark();
      const deadline = Date.now() + 10_000;
      for (;;) {
        const events = eventsSince(offset);
        const marks = events.filter((event) => event.user?.username === user && isMark(event));
        if (marks.length > 0) {
          return auditRecords(
            events.filter((event) => !isMark(event)),
            user,
          );
        }
        if (Date.now() > deadline) {
          throw new Error(`the audit log ${path} has no request of ${user} marking the end, after 10 s`);
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
  };
}

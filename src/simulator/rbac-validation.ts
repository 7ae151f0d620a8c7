/**
 * Kubernetes' RBAC validation beyond the OpenAPI schema: the mistakes a chart's Role can make that
 * a real API server refuses (a rule without apiGroups, a binding to an unknown kind of role, a
 * changed roleRef), so the simulator refuses them too.
 */
import { sameJson } from '../infra/kubernetes/json-equal';
import { RBAC_GROUP } from './resources';
import type { PolicyRule, RoleRef, Subject } from './rbac';
import type { StatusCause } from './status';
import type { K8sObject } from './store';

const required = (field: string, detail = ''): StatusCause => ({
  reason: 'FieldValueRequired',
  message: detail ? `Required value: ${detail}` : 'Required value',
  field,
});

const notSupported = (field: string, value: string, supported: string[]): StatusCause => ({
  reason: 'FieldValueNotSupported',
  message: `Unsupported value: "${value}": supported values: ${supported.map((s) => `"${s}"`).join(', ')}`,
  field,
});

const isEmpty = (list: unknown[] | undefined) => (list ?? []).length === 0;

function ruleCauses(rule: PolicyRule, namespaced: boolean, at: string): StatusCause[] {
  const causes: StatusCause[] = [];
  if (isEmpty(rule.verbs)) {
    causes.push(required(`${at}.verbs`, 'verbs must contain at least one value'));
  }
  if (!isEmpty(rule.nonResourceURLs)) {
    const urls = JSON.stringify(rule.nonResourceURLs);
    if (namespaced) {
      causes.push({
        reason: 'FieldValueInvalid',
        message: `Invalid value: ${urls}: namespaced rules cannot apply to non-resource URLs`,
        field: `${at}.nonResourceURLs`,
      });
    }
    if (!isEmpty(rule.apiGroups) || !isEmpty(rule.resources) || !isEmpty(rule.resourceNames)) {
      causes.push({
        reason: 'FieldValueInvalid',
        message: `Invalid value: ${urls}: rules cannot apply to both regular resources and non-resource URLs`,
        field: `${at}.nonResourceURLs`,
      });
    }
    return causes;
  }
  if (isEmpty(rule.apiGroups)) {
    causes.push(required(`${at}.apiGroups`, 'resource rules must supply at least one api group'));
  }
  if (isEmpty(rule.resources)) {
    causes.push(required(`${at}.resources`, 'resource rules must supply at least one resource'));
  }
  return causes;
}

/** Role and ClusterRole: every rule is either about resources or about non-resource URLs. */
export function roleCauses(object: K8sObject): StatusCause[] {
  const rules = (object.rules ?? []) as PolicyRule[];
  return rules.flatMap((rule, index) => ruleCauses(rule, object.kind === 'Role', `rules[${index}]`));
}

function subjectCauses(subject: Subject & { apiGroup?: string }, namespaced: boolean, at: string) {
  switch (subject.kind) {
    case 'ServiceAccount':
      return !namespaced && !subject.namespace ? [required(`${at}.namespace`)] : [];
    case 'User':
    case 'Group':
      return subject.apiGroup && subject.apiGroup !== RBAC_GROUP
        ? [notSupported(`${at}.apiGroup`, subject.apiGroup, [RBAC_GROUP])]
        : [];
    default:
      return [notSupported(`${at}.kind`, subject.kind, ['ServiceAccount', 'User', 'Group'])];
  }
}

/** RoleBinding and ClusterRoleBinding: a role of the right kind, known subjects, and a roleRef that never changes. */
export function bindingCauses(object: K8sObject, current: K8sObject | undefined): StatusCause[] {
  const namespaced = object.kind === 'RoleBinding';
  const roleRef = object.roleRef as RoleRef;
  const kinds = namespaced ? ['Role', 'ClusterRole'] : ['ClusterRole'];
  const causes: StatusCause[] = [];
  if (roleRef.apiGroup !== RBAC_GROUP) {
    causes.push(notSupported('roleRef.apiGroup', roleRef.apiGroup, [RBAC_GROUP]));
  }
  if (!kinds.includes(roleRef.kind)) {
    causes.push(notSupported('roleRef.kind', roleRef.kind, kinds));
  }
  ((object.subjects ?? []) as Subject[]).forEach((subject, index) =>
    causes.push(...subjectCauses(subject, namespaced, `subjects[${index}]`)),
  );
  if (current && !sameJson(current.roleRef, roleRef)) {
    causes.push({
      reason: 'FieldValueInvalid',
      message: `Invalid value: ${JSON.stringify(roleRef)}: cannot change roleRef`,
      field: 'roleRef',
    });
  }
  return causes;
}

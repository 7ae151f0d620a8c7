import { AppError, type FieldProblem } from '../infra/errors/app-error';
import { APPLY_ORDER, SPEC_VERSION, type DeploymentSpec } from './contract';
import { DeployerErrorCode } from './deployer.errors';
import { DNS_LABEL, DNS_SUBDOMAIN } from '../infra/kubernetes/names';

const LIST_FIELDS = new Set(['config_maps', 'persistent_volumes', 'persistent_volume_claims']);

/**
 * How deep a field of a spec may nest. The deepest objects sent here (a Deployment's affinity
 * terms, projected volumes) reach about 15 levels; the bound keeps every later step (the policy,
 * JSON.stringify for the apply, comparisons) far from the stack's limit.
 */
export const MAX_SPEC_DEPTH = 32;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Whether a JSON value nests deeper than `limit`; a loop, as a recursion could overflow on it. */
export function nestsDeeper(value: unknown, limit: number): boolean {
  const pending: [node: unknown, depth: number][] = [[value, 0]];
  while (pending.length > 0) {
    const [node, depth] = pending.pop()!;
    if (typeof node !== 'object' || node === null) {
      continue;
    }
    if (depth >= limit) {
      return true;
    }
    for (const child of Object.values(node)) {
      pending.push([child, depth + 1]);
    }
  }
  return false;
}

function manifestProblems(value: unknown, field: string): FieldProblem[] {
  if (!isObject(value)) {
    return [{ field, problems: ['must be a Kubernetes object'] }];
  }
  const problems: string[] = [];
  if (typeof value.apiVersion !== 'string' || typeof value.kind !== 'string') {
    problems.push('apiVersion and kind are required');
  }
  if (!isObject(value.metadata) || typeof value.metadata.name !== 'string' || value.metadata.name === '') {
    problems.push('metadata.name is required');
  } else if (!DNS_SUBDOMAIN.test(value.metadata.name)) {
    problems.push('metadata.name must be a DNS-1123 subdomain (lower case, digits, - and .)');
  }
  return problems.length > 0 ? [{ field, problems }] : [];
}

/** The shape of a DeploymentSpec (its objects' own rules are Kubernetes' and the policy's). */
export function parseDeploymentSpec(body: unknown): DeploymentSpec {
  const fields: FieldProblem[] = [];
  if (!isObject(body) || !isObject(body.metadata)) {
    throw new AppError(DeployerErrorCode.InvalidSpec, 'A deployment spec needs metadata', {
      fields: [{ field: 'metadata', problems: ['is required'] }],
    });
  }
  const parts = Object.entries(body).flatMap(([field, value]) =>
    Array.isArray(value)
      ? value.map((item, index) => [`${field}[${index}]`, item] as const)
      : [[field, value] as const],
  );
  const deep = parts.find(([, value]) => nestsDeeper(value, MAX_SPEC_DEPTH));
  if (deep) {
    throw new AppError(DeployerErrorCode.InvalidSpec, 'The deployment spec is invalid', {
      fields: [{ field: deep[0], problems: [`nests deeper than ${MAX_SPEC_DEPTH} levels`] }],
    });
  }
  const metadata = body.metadata;
  if (
    metadata.disk_claim !== undefined &&
    !(typeof metadata.disk_claim === 'string' && DNS_SUBDOMAIN.test(metadata.disk_claim))
  ) {
    fields.push({ field: 'metadata.disk_claim', problems: ['must be the name of a claim'] });
  }
  if (typeof metadata.external_id !== 'string' || !DNS_LABEL.test(metadata.external_id)) {
    fields.push({
      field: 'metadata.external_id',
      problems: ['must be a DNS-1123 label (lower case, digits, -; at most 63)'],
    });
  }
  if (metadata.spec_version !== SPEC_VERSION) {
    fields.push({
      field: 'metadata.spec_version',
      problems: [`this deployer speaks spec version ${SPEC_VERSION}`],
    });
  }
  for (const key of ['reservation_id', 'user_id', 'username']) {
    if (typeof metadata[key] !== 'string') {
      fields.push({ field: `metadata.${key}`, problems: ['must be a string'] });
    }
  }
  for (const key of Object.keys(body)) {
    if (key !== 'metadata' && !(APPLY_ORDER as string[]).includes(key)) {
      fields.push({ field: key, problems: ['is not part of a deployment spec'] });
    }
  }
  for (const field of APPLY_ORDER) {
    const value = body[field];
    if (value === undefined || value === null) {
      continue;
    }
    if (LIST_FIELDS.has(field) !== Array.isArray(value)) {
      fields.push({
        field,
        problems: [LIST_FIELDS.has(field) ? 'must be a list' : 'must be one object, not a list'],
      });
      continue;
    }
    const list = Array.isArray(value) ? value : [value];
    list.forEach((item, index) =>
      fields.push(...manifestProblems(item, Array.isArray(value) ? `${field}[${index}]` : field)),
    );
  }
  if (!body.deployment && !body.pod) {
    fields.push({ field: 'deployment', problems: ['a deployment or a pod is required'] });
  } else if (body.deployment && body.pod) {
    // Each would hold the policy's GPUs of its own.
    fields.push({ field: 'pod', problems: ['a spec has one workload: a deployment or a pod, not both'] });
  }
  if (fields.length > 0) {
    throw new AppError(DeployerErrorCode.InvalidSpec, 'The deployment spec is invalid', { fields });
  }
  return body as unknown as DeploymentSpec;
}

/**
 * What the API server checks before storing an object: the official OpenAPI schema of the kind
 * (compiled validators from `kubernetes-models`), name rules, and the few semantic rules of
 * Kubernetes' own validation that our clients can trip over (a container needs an image, …).
 */
import { sameJson } from '../infra/kubernetes/json-equal';
import { isQuantity } from '../infra/kubernetes/quantity';
import { bindingCauses, roleCauses } from './rbac-validation';
import { apiVersionOf, typeKey, RESOURCE_TYPES, type ResourceType } from './resources';
import { invalid, StatusError, type StatusCause } from './status';
import type { K8sObject } from './store';

interface SchemaError {
  instancePath: string;
  keyword: string;
  params: Record<string, unknown>;
}
type SchemaValidator = ((data: unknown) => boolean) & { errors?: SchemaError[] | null };

const GROUP_PREFIX: Record<string, string> = {
  '': 'Core',
  apps: 'Apps',
  'networking.k8s.io': 'Networking',
  policy: 'Policy',
  batch: 'Batch',
  'storage.k8s.io': 'Storage',
  'rbac.authorization.k8s.io': 'Rbac',
};

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** Kinds whose names must be DNS-1123 labels (they become host names), not subdomains. */
const LABEL_NAMED = new Set(['Namespace', 'Service']);
/** RBAC names only have to fit in a URL path segment: `system:discovery` is a ClusterRole's name. */
const PATH_SEGMENT_NAMED = new Set(['Role', 'ClusterRole', 'RoleBinding', 'ClusterRoleBinding']);

/** Loads the compiled schema validators once (ES modules, hence asynchronous). */
export async function loadSchemaValidators(): Promise<Map<string, SchemaValidator>> {
  const validators = new Map<string, SchemaValidator>();
  for (const type of RESOURCE_TYPES) {
    const prefix = GROUP_PREFIX[type.group];
    if (prefix === undefined) {
      continue; // snapshot.storage.k8s.io is a CRD: no official schema ships with kubernetes-models
    }
    const module = `kubernetes-models/_schemas/IoK8sApi${prefix}${type.version.toUpperCase()}${type.kind}`;
    const { validate } = (await import(module)) as { validate: SchemaValidator };
    validators.set(typeKey(type), validate);
  }
  return validators;
}

function field(instancePath: string): string {
  return instancePath
    .split('/')
    .slice(1)
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((path, part) => (/^\d+$/.test(part) ? `${path}[${part}]` : path ? `${path}.${part}` : part), '');
}

function schemaCauses(errors: SchemaError[]): StatusCause[] {
  return errors.map((error) => {
    const at = field(error.instancePath);
    if (error.keyword === 'required') {
      const missing = String(error.params.missingProperty);
      return {
        reason: 'FieldValueRequired',
        message: 'Required value',
        field: at ? `${at}.${missing}` : missing,
      };
    }
    if (error.keyword === 'type') {
      return {
        reason: 'FieldValueTypeInvalid',
        message: `Invalid value: expected ${String(error.params.type)}`,
        field: at,
      };
    }
    if (error.keyword === 'enum') {
      const allowed = (error.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ');
      return {
        reason: 'FieldValueNotSupported',
        message: `Unsupported value: supported values: ${allowed}`,
        field: at,
      };
    }
    return { reason: 'FieldValueInvalid', message: `Invalid value: ${error.keyword}`, field: at };
  });
}

function nameCauses(type: ResourceType, object: K8sObject): StatusCause[] {
  const name = object.metadata?.name;
  if (!name) {
    return [
      {
        reason: 'FieldValueRequired',
        message: 'Required value: name or generateName is required',
        field: 'metadata.name',
      },
    ];
  }
  if (PATH_SEGMENT_NAMED.has(type.kind)) {
    return pathSegmentCauses(name);
  }
  const [pattern, what] = LABEL_NAMED.has(type.kind)
    ? [DNS1123_LABEL, 'a lowercase RFC 1123 label']
    : [DNS1123_SUBDOMAIN, 'a lowercase RFC 1123 subdomain'];
  const limit = LABEL_NAMED.has(type.kind) ? 63 : 253;
  if (!pattern.test(name) || name.length > limit) {
    return [
      {
        reason: 'FieldValueInvalid',
        message: `Invalid value: "${name}": must be ${what} (lower case alphanumeric characters, '-' or '.', starting and ending with an alphanumeric character, at most ${limit} characters)`,
        field: 'metadata.name',
      },
    ];
  }
  return [];
}

function pathSegmentCauses(name: string): StatusCause[] {
  const problem =
    name === '.' || name === '..'
      ? `may not be '${name}'`
      : ['/', '%'].filter((c) => name.includes(c)).map((c) => `may not contain '${c}'`)[0];
  return problem
    ? [
        {
          reason: 'FieldValueInvalid',
          message: `Invalid value: "${name}": ${problem}`,
          field: 'metadata.name',
        },
      ]
    : [];
}

type Containers = {
  name?: unknown;
  image?: unknown;
  resources?: { requests?: Record<string, unknown>; limits?: Record<string, unknown> };
}[];

function podSpecCauses(spec: { containers?: Containers } | undefined, at: string): StatusCause[] {
  if (!spec) {
    return [{ reason: 'FieldValueRequired', message: 'Required value', field: at }];
  }
  if (!Array.isArray(spec.containers) || spec.containers.length === 0) {
    return [{ reason: 'FieldValueRequired', message: 'Required value', field: `${at}.containers` }];
  }
  return spec.containers.flatMap((container, index) => {
    const causes: StatusCause[] = [];
    if (typeof container.name !== 'string' || !DNS1123_LABEL.test(container.name)) {
      causes.push({
        reason: 'FieldValueRequired',
        message: 'Required value',
        field: `${at}.containers[${index}].name`,
      });
    }
    if (typeof container.image !== 'string' || container.image.trim() === '') {
      causes.push({
        reason: 'FieldValueRequired',
        message: 'Required value',
        field: `${at}.containers[${index}].image`,
      });
    }
    return causes;
  });
}

const QUANTITY_MESSAGE =
  "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

function quantityCauses(values: Record<string, unknown> | undefined, at: string): StatusCause[] {
  return Object.entries(values ?? {})
    .filter(([, value]) => !isQuantity(value))
    .map(([name, value]) => ({
      reason: 'FieldValueInvalid',
      message: `Invalid value: ${JSON.stringify(value)}: ${QUANTITY_MESSAGE}`,
      field: `${at}[${name}]`,
    }));
}

function resourceCauses(spec: { containers?: Containers } | undefined, at: string): StatusCause[] {
  return (spec?.containers ?? []).flatMap((container, index) => [
    ...quantityCauses(container.resources?.requests, `${at}.containers[${index}].resources.requests`),
    ...quantityCauses(container.resources?.limits, `${at}.containers[${index}].resources.limits`),
  ]);
}

const POD_MUTABLE =
  'pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,' +
  '`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds`';

/** A pod's spec is immutable but for images, deadlines and tolerations. */
function podUpdateCauses(next: Record<string, unknown>, current: Record<string, unknown>): StatusCause[] {
  const withoutImages = (list: unknown) =>
    Array.isArray(list) ? list.map((c: Record<string, unknown>) => ({ ...c, image: undefined })) : list;
  const comparable = (spec: Record<string, unknown>) => ({
    ...spec,
    activeDeadlineSeconds: undefined,
    terminationGracePeriodSeconds: undefined,
    tolerations: undefined,
    containers: withoutImages(spec.containers),
    initContainers: withoutImages(spec.initContainers),
  });
  return sameJson(comparable(next), comparable(current))
    ? []
    : [{ reason: 'FieldValueForbidden', message: `Forbidden: ${POD_MUTABLE}`, field: 'spec' }];
}

type Template = { metadata?: { labels?: Record<string, string> }; spec?: { containers?: Containers } };

function workloadCauses(object: K8sObject, current: K8sObject | undefined): StatusCause[] {
  const spec = (object.spec ?? {}) as {
    template?: Template;
    selector?: { matchLabels?: Record<string, string> };
  };
  const causes = [
    ...podSpecCauses(spec.template?.spec, 'spec.template.spec'),
    ...resourceCauses(spec.template?.spec, 'spec.template.spec'),
  ];
  if (object.kind === 'Job') {
    return causes;
  }
  if (!spec.selector) {
    causes.push({ reason: 'FieldValueRequired', message: 'Required value', field: 'spec.selector' });
  }
  const labels = spec.template?.metadata?.labels ?? {};
  if (Object.entries(spec.selector?.matchLabels ?? {}).some(([key, value]) => labels[key] !== value)) {
    causes.push({
      reason: 'FieldValueInvalid',
      message: `Invalid value: ${JSON.stringify(labels)}: \`selector\` does not match template \`labels\``,
      field: 'spec.template.metadata.labels',
    });
  }
  if (current && !sameJson(spec.selector, (current.spec as { selector?: unknown }).selector)) {
    causes.push({
      reason: 'FieldValueInvalid',
      message: `Invalid value: ${JSON.stringify(spec.selector)}: field is immutable`,
      field: 'spec.selector',
    });
  }
  return causes;
}

/** Kubernetes' semantic checks that the OpenAPI schema cannot express, for the kinds that need them. */
function semanticCauses(object: K8sObject, current: K8sObject | undefined): StatusCause[] {
  const spec = object.spec as Record<string, unknown> | undefined;
  switch (object.kind) {
    case 'Pod':
      return [
        ...podSpecCauses(spec, 'spec'),
        ...resourceCauses(spec, 'spec'),
        ...(current && spec ? podUpdateCauses(spec, current.spec as Record<string, unknown>) : []),
      ];
    case 'Deployment':
    case 'ReplicaSet':
    case 'Job':
      return workloadCauses(object, current);
    case 'PersistentVolumeClaim':
      return quantityCauses(
        (spec?.resources as { requests?: Record<string, unknown> } | undefined)?.requests,
        'spec.resources.requests',
      );
    case 'Role':
    case 'ClusterRole':
      return roleCauses(object);
    case 'RoleBinding':
    case 'ClusterRoleBinding':
      return bindingCauses(object, current);
    default:
      return [];
  }
}

/** How structured-merge-diff names the types it expected and got. */
const SMD_TYPE_NAMES: Record<string, string> = {
  integer: 'numeric (int or float)',
  number: 'numeric (int or float)',
  string: 'string',
  boolean: 'boolean',
  object: 'map',
  array: 'list',
};

function valueAt(root: unknown, instancePath: string): unknown {
  return instancePath
    .split('/')
    .slice(1)
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce<unknown>((value, part) => (value as Record<string, unknown> | undefined)?.[part], root);
}

function smdTypeOf(value: unknown): string {
  if (Array.isArray(value)) {
    return 'list';
  }
  if (value === null) {
    return 'null';
  }
  return typeof value === 'object' ? 'map' : typeof value === 'number' ? 'numeric' : typeof value;
}

export class ObjectValidator {
  constructor(private readonly schemas: Map<string, SchemaValidator>) {}

  /**
   * A server-side apply body whose values do not have their schema's types (a string where a port
   * number goes) never becomes an object: kube-apiserver fails converting it to a typed patch and,
   * as that error is no Status, answers a bare 500 (managedfields/internal/structuredmerge.go;
   * kubernetes/kubernetes#139253, #122480). The field path is written with indexes where the real
   * one names list items by their keys.
   */
  checkApplyTypes(type: ResourceType, config: K8sObject): void {
    const schema = this.schemas.get(typeKey(type));
    if (!schema || schema(config)) {
      return;
    }
    const mismatch = (schema.errors ?? []).find((error) => error.keyword === 'type');
    if (!mismatch) {
      return;
    }
    const at = field(mismatch.instancePath);
    const expected = String(mismatch.params.type);
    const name = config.metadata?.namespace
      ? `${config.metadata.namespace}/${config.metadata.name}`
      : (config.metadata?.name ?? '');
    throw new StatusError(
      'InternalError',
      `failed to create typed patch object (${name}; ${apiVersionOf(type)}, Kind=${type.kind}): .${at}: expected ${SMD_TYPE_NAMES[expected] ?? expected}, got ${smdTypeOf(valueAt(config, mismatch.instancePath))}`,
    );
  }

  /** Throws 422 Invalid with every cause, as the API server does. */
  validate(type: ResourceType, object: K8sObject, current?: K8sObject): void {
    const causes = [...nameCauses(type, object)];
    if (object.apiVersion !== apiVersionOf(type) || object.kind !== type.kind) {
      causes.push({
        reason: 'FieldValueInvalid',
        message: `Invalid value: "${object.apiVersion}, Kind=${object.kind}": must be ${apiVersionOf(type)}, Kind=${type.kind}`,
        field: 'kind',
      });
    }
    const schema = this.schemas.get(typeKey(type));
    if (schema && !schema(object)) {
      causes.push(...schemaCauses(schema.errors ?? []));
    }
    if (causes.length === 0) {
      causes.push(...semanticCauses(object, current));
    }
    if (causes.length > 0) {
      throw invalid(type.kind, object.metadata?.name ?? '', causes, type.group);
    }
  }
}

/**
 * What the API server checks before storing an object: the official OpenAPI schema of the kind
 * (compiled validators from `kubernetes-models`), name rules, and the few semantic rules of
 * Kubernetes' own validation that our clients can trip over (a container needs an image, …).
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { sameJson } from '../infra/kubernetes/json-equal';
import { isQuantity } from '../infra/kubernetes/quantity';
import { bindingCauses, roleCauses } from './rbac-validation';
import { apiVersionOf, typeKey, RESOURCE_TYPES, type ResourceType } from './resources';
import { mergeKeyFor, type Json } from './patch';
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
const DNS1123_LABEL_MESSAGE =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const DNS1123_SUBDOMAIN_MESSAGE =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
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
  const label = LABEL_NAMED.has(type.kind);
  const [pattern, limit, message] = label
    ? [DNS1123_LABEL, 63, DNS1123_LABEL_MESSAGE]
    : [DNS1123_SUBDOMAIN, 253, DNS1123_SUBDOMAIN_MESSAGE];
  // apimachinery's IsDNS1123Label/IsDNS1123Subdomain: the length, then the form, a cause each.
  const problems = [
    ...(name.length > limit ? [`must be no more than ${limit} characters`] : []),
    ...(pattern.test(name) ? [] : [message]),
  ];
  return problems.map((problem) => ({
    reason: 'FieldValueInvalid',
    message: `Invalid value: ${JSON.stringify(name)}: ${problem}`,
    field: 'metadata.name',
  }));
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
      return [
        ...claimRequiredCauses(spec),
        ...quantityCauses(
          (spec?.resources as { requests?: Record<string, unknown> } | undefined)?.requests,
          'spec.resources.requests',
        ),
      ];
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

/**
 * A claim must say how it is mounted and how big it is, even when it names its volume or a data
 * source: kube-apiserver's words ("at least 1 access mode is required", "spec.resources[storage]:
 * Required value").
 */
function claimRequiredCauses(spec: Record<string, unknown> | undefined): StatusCause[] {
  const accessModes = spec?.accessModes as unknown[] | undefined;
  const requests = (spec?.resources as { requests?: Record<string, unknown> } | undefined)?.requests;
  return [
    ...(accessModes && accessModes.length > 0
      ? []
      : [
          {
            reason: 'FieldValueRequired',
            message: 'Required value: at least 1 access mode is required',
            field: 'spec.accessModes',
          },
        ]),
    ...(requests?.storage !== undefined
      ? []
      : [{ reason: 'FieldValueRequired', message: 'Required value', field: 'spec.resources[storage]' }]),
  ];
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

/** A field path as structured-merge-diff prints it: list items by their keys (`[port=22,protocol="TCP"]`). */
function keyedPath(root: unknown, instancePath: string): string {
  const parts = instancePath
    .split('/')
    .slice(1)
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'));
  let value = root;
  let text = '';
  let field = '';
  for (const part of parts) {
    const list = Array.isArray(value) ? (value as Json[]) : undefined;
    value = (value as Record<string, unknown> | undefined)?.[part];
    if (!list) {
      text += `.${part}`;
      field = part;
      continue;
    }
    const key = mergeKeyFor(field, list);
    if (!key) {
      text += `[${part}]`;
      continue;
    }
    const item = value as Record<string, unknown>;
    const keys: [string, unknown][] =
      field === 'ports'
        ? [
            [key, item[key]],
            ['protocol', item.protocol ?? 'TCP'],
          ]
        : [[key, item[key]]];
    text += `[${keys.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(',')}]`;
  }
  return text;
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

/** The TypeScript declarations of a kind (kubernetes-models), to name the Go struct a field is in. */
function declarationsOf(type: ResourceType): string | undefined {
  const folder = type.group === '' ? 'v1' : `${type.group}/${type.version}`;
  return packageFile(`kubernetes-models/${folder}/${type.kind}.d.ts`);
}

/** A file of an installed package (their `exports` do not list the declarations). */
function packageFile(path: string): string | undefined {
  for (let dir = __dirname; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', path);
    if (existsSync(candidate)) {
      return candidate;
    }
    if (dirname(dir) === dir) {
      return undefined;
    }
  }
}

/**
 * The Go struct holding the field at `instancePath` (`ServicePort` for `/spec/ports/0/port`), read
 * off kubernetes-models' declarations, which follow the Go types one file per struct.
 */
function goStructAt(type: ResourceType, instancePath: string): string {
  let file = declarationsOf(type);
  let struct = type.kind;
  const parts = instancePath
    .split('/')
    .slice(1)
    .filter((part) => !/^\d+$/.test(part));
  for (const part of parts.slice(0, -1)) {
    if (!file) {
      break;
    }
    const text = readFileSync(file, 'utf8');
    const reference = new RegExp(`"${part}"\\??: (?:Array<)?(I\\w+)`).exec(text)?.[1];
    const from = reference
      ? new RegExp(`import \\{ ${reference} \\} from "([^"]+)"`).exec(text)?.[1]
      : undefined;
    if (!from) {
      break;
    }
    const target = from.endsWith('.js') ? from.replace(/\.js$/, '.d.ts') : `${from}.d.ts`;
    file = from.startsWith('.') ? join(dirname(file), target) : packageFile(target);
    struct = basename(target, '.d.ts');
  }
  return struct;
}

/** How encoding/json names a JSON value it could not put into a Go field. */
function jsonKindOf(value: unknown): string {
  if (Array.isArray(value)) {
    return 'array';
  }
  if (value === null) {
    return 'null';
  }
  return typeof value === 'object' ? 'object' : typeof value === 'boolean' ? 'bool' : typeof value;
}

const GO_TYPES: Record<string, string> = {
  integer: 'int32',
  number: 'float64',
  string: 'string',
  boolean: 'bool',
};

export class ObjectValidator {
  constructor(private readonly schemas: Map<string, SchemaValidator>) {}

  /**
   * A create or update body kube-apiserver cannot even decode into its Go type: a value of the
   * wrong JSON type, or a quantity that does not parse. That is a 400 BadRequest, before any
   * validation (so no 422 with causes), worded as the decoder words it.
   */
  checkDecodable(type: ResourceType, object: K8sObject): void {
    const cannot = (why: string) =>
      new StatusError(
        'BadRequest',
        `${type.kind} in version "${type.version}" cannot be handled as a ${type.kind}: ${why}`,
      );
    const spec = object.spec as Record<string, unknown> | undefined;
    const quantities =
      object.kind === 'Pod'
        ? resourceCauses(spec, 'spec')
        : object.kind === 'PersistentVolumeClaim'
          ? quantityCauses(
              (spec?.resources as { requests?: Record<string, unknown> } | undefined)?.requests,
              'spec.resources.requests',
            )
          : ['Deployment', 'ReplicaSet', 'Job'].includes(object.kind)
            ? resourceCauses(
                (spec?.template as { spec?: { containers?: Containers } } | undefined)?.spec,
                'spec.template.spec',
              )
            : [];
    if (quantities.length > 0) {
      throw cannot(QUANTITY_MESSAGE);
    }
    const schema = this.schemas.get(typeKey(type));
    if (!schema || schema(object)) {
      return;
    }
    // A quantity's schema is "string or number" (oneOf): the quantity check above speaks for it.
    const errors = schema.errors ?? [];
    const inOneOf = new Set(errors.filter((e) => e.keyword === 'oneOf').map((e) => e.instancePath));
    const mismatch = errors.find((e) => e.keyword === 'type' && !inOneOf.has(e.instancePath));
    if (!mismatch || mismatch.instancePath === '') {
      return;
    }
    const fieldPath = mismatch.instancePath
      .split('/')
      .slice(1)
      .filter((part) => !/^\d+$/.test(part))
      .join('.');
    const expected = String(mismatch.params.type);
    throw cannot(
      `json: cannot unmarshal ${jsonKindOf(valueAt(object, mismatch.instancePath))} into Go struct field ${goStructAt(type, mismatch.instancePath)}.${fieldPath} of type ${GO_TYPES[expected] ?? expected}`,
    );
  }

  /**
   * A server-side apply body whose values do not have their schema's types (a string where a port
   * number goes) never becomes an object: kube-apiserver fails converting it to a typed patch and,
   * as that error is no Status, answers a bare 500 (managedfields/internal/structuredmerge.go;
   * kubernetes/kubernetes#139253, #122480). The field path is written with indexes where the real
   * one names list items by their keys.
   */
  checkApplyTypes(type: ResourceType, config: K8sObject, sentNamespace: string | undefined): void {
    const schema = this.schemas.get(typeKey(type));
    if (!schema || schema(config)) {
      return;
    }
    const mismatch = (schema.errors ?? []).find((error) => error.keyword === 'type');
    if (!mismatch) {
      return;
    }
    const expected = String(mismatch.params.type);
    // The name as the body gave it: kube-apiserver names the object before defaulting the namespace.
    const name = `${sentNamespace ?? ''}/${config.metadata?.name ?? ''}`;
    throw new StatusError(
      'InternalError',
      `failed to create typed patch object (${name}; ${type.group}/${type.version}, Kind=${type.kind}): ${keyedPath(config, mismatch.instancePath)}: expected ${SMD_TYPE_NAMES[expected] ?? expected}, got ${smdTypeOf(valueAt(config, mismatch.instancePath))}`,
      undefined,
      true,
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

/**
 * Kubernetes label and field selectors (the query syntax of `?labelSelector=` and
 * `?fieldSelector=`): equality (`a=b`, `a==b`, `a!=b`), set-based (`a in (x,y)`, `a notin (x)`),
 * existence (`a`, `!a`).
 */
export type Requirement =
  | { key: string; op: 'eq' | 'neq'; value: string }
  | { key: string; op: 'in' | 'notin'; values: string[] }
  | { key: string; op: 'exists' | 'notexists' };

export class SelectorError extends Error {}

const KEY = /^[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?$/;

/** Splits on commas that are not inside parentheses. */
function splitTerms(selector: string): string[] {
  const terms: string[] = [];
  let depth = 0;
  let current = '';
  for (const char of selector) {
    if (char === '(') {
      depth += 1;
    } else if (char === ')') {
      depth -= 1;
    }
    if (char === ',' && depth === 0) {
      terms.push(current);
      current = '';
    } else {
      current += char;
    }
  }
  terms.push(current);
  return terms.map((t) => t.trim()).filter((t) => t.length > 0);
}

const NAME_PART = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const PREFIX_PART = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** apimachinery's IsQualifiedName, worded as a label selector's parse error carries it. */
function keyProblem(key: string): string | undefined {
  const slash = key.lastIndexOf('/');
  const [prefix, name] = slash >= 0 ? [key.slice(0, slash), key.slice(slash + 1)] : [undefined, key];
  if (name.length === 0) {
    return 'name part must be non-empty';
  }
  if (name.length > 63) {
    return 'name part must be no more than 63 characters';
  }
  if (!NAME_PART.test(name)) {
    return "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
  }
  if (prefix !== undefined && (prefix.length === 0 || !PREFIX_PART.test(prefix))) {
    return "prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
  }
  return undefined;
}

function checkKey(key: string, selector: string): string {
  if (!KEY.test(key)) {
    const problem = keyProblem(key);
    throw new SelectorError(
      problem
        ? `unable to parse requirement: <nil>: Invalid value: ${JSON.stringify(key)}: ${problem}`
        : `unable to parse requirement: invalid label key "${key}" in "${selector}"`,
    );
  }
  return key;
}

function parseTerm(term: string, selector: string): Requirement {
  const set = /^(\S+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(term);
  if (set) {
    const values = (set[3] ?? '')
      .split(',')
      .map((v) => v.trim())
      .filter((v) => v.length > 0);
    return { key: checkKey(set[1] ?? '', selector), op: set[2] as 'in' | 'notin', values };
  }
  const equality = /^([^=!\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(term);
  if (equality) {
    return {
      key: checkKey(equality[1] ?? '', selector),
      op: equality[2] === '!=' ? 'neq' : 'eq',
      value: equality[3] ?? '',
    };
  }
  if (term.startsWith('!')) {
    return { key: checkKey(term.slice(1).trim(), selector), op: 'notexists' };
  }
  return { key: checkKey(term, selector), op: 'exists' };
}

export function parseSelector(selector: string | undefined): Requirement[] {
  return selector ? splitTerms(selector).map((term) => parseTerm(term, selector)) : [];
}

export function matches(requirements: Requirement[], values: (key: string) => string | undefined): boolean {
  return requirements.every((r) => {
    const value = values(r.key);
    switch (r.op) {
      case 'eq':
        return value === r.value;
      case 'neq':
        return value !== r.value;
      case 'in':
        return value !== undefined && r.values.includes(value);
      case 'notin':
        return value === undefined || !r.values.includes(value);
      case 'exists':
        return value !== undefined;
      case 'notexists':
        return value === undefined;
    }
  });
}

/**
 * A field selector: only `=`, `==` and `!=` terms, comma-separated (fields.ParseSelector). Anything
 * else is refused as kube-apiserver refuses it.
 */
export function parseFieldSelector(selector: string | undefined): Requirement[] {
  if (!selector) {
    return [];
  }
  return selector
    .split(',')
    .filter((term) => term.length > 0)
    .map((term) => {
      const match = /^([^=!]*)(==|=|!=)(.*)$/.exec(term);
      if (!match || (match[3] ?? '').includes('=')) {
        throw new SelectorError(`invalid selector: '${selector}'; can't understand '${term}'`);
      }
      return {
        key: (match[1] ?? '').trim(),
        op: match[2] === '!=' ? 'neq' : 'eq',
        value: (match[3] ?? '').trim(),
      };
    });
}

/** The fields a real API server lets you select on: every kind's, and those of some kinds. */
const COMMON_FIELDS = ['metadata.name', 'metadata.namespace'];
const KIND_FIELDS: Record<string, string[]> = {
  Pod: [
    'spec.nodeName',
    'spec.restartPolicy',
    'spec.schedulerName',
    'spec.serviceAccountName',
    'spec.hostNetwork',
    'status.phase',
    'status.podIP',
    'status.nominatedNodeName',
  ],
  Event: [
    'type',
    'reason',
    'source',
    'reportingComponent',
    'involvedObject.kind',
    'involvedObject.name',
    'involvedObject.namespace',
    'involvedObject.uid',
    'involvedObject.apiVersion',
    'involvedObject.resourceVersion',
    'involvedObject.fieldPath',
  ],
  Node: ['spec.unschedulable'],
  Namespace: ['status.phase'],
  Secret: ['type'],
  Service: ['spec.clusterIP', 'spec.type'],
  ReplicaSet: ['status.replicas'],
  Job: ['status.successful'],
};

export function selectableFields(kind: string): string[] {
  return [...COMMON_FIELDS, ...(KIND_FIELDS[kind] ?? [])];
}

/** Fields whose value is not simply the one at their path (registries' field-set functions). */
const FIELD_VALUES: Record<string, (object: Record<string, unknown>) => string | undefined> = {
  'spec.hostNetwork': (object) => String(fieldValue(object, 'spec.hostNetwork') === 'true'),
  'spec.unschedulable': (object) => String(fieldValue(object, 'spec.unschedulable') === 'true'),
  source: (object) => fieldValue(object, 'source.component'),
};

/** A field's value as a field selector compares it. */
export function selectedFieldValue(object: Record<string, unknown>, path: string): string | undefined {
  return (FIELD_VALUES[path] ?? ((o: Record<string, unknown>) => fieldValue(o, path)))(object);
}

export function fieldValue(object: Record<string, unknown>, path: string): string | undefined {
  let current: unknown = object;
  for (const part of path.split('.')) {
    if (typeof current !== 'object' || current === null) {
      return undefined;
    }
    current = (current as Record<string, unknown>)[part];
  }
  // A real API server compares unset fields as the empty string (e.g. spec.nodeName= for unscheduled pods).
  if (current === undefined) {
    return '';
  }
  return typeof current === 'string' || typeof current === 'number' || typeof current === 'boolean'
    ? String(current)
    : undefined;
}

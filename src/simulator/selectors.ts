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

function checkKey(key: string, selector: string): string {
  if (!KEY.test(key)) {
    throw new SelectorError(`unable to parse requirement: invalid label key "${key}" in "${selector}"`);
  }
  return key;
}

function parseTerm(term: string, selector: string): Requirement {
  const set = /^(\S+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(term);
  if (set) {
    const values = set[3]
      .split(',')
      .map((v) => v.trim())
      .filter((v) => v.length > 0);
    return { key: checkKey(set[1], selector), op: set[2] as 'in' | 'notin', values };
  }
  const equality = /^([^=!\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(term);
  if (equality) {
    return {
      key: checkKey(equality[1], selector),
      op: equality[2] === '!=' ? 'neq' : 'eq',
      value: equality[3],
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

/** The fields a real API server lets you select on: every kind's, and those of some kinds. */
const COMMON_FIELDS = ['metadata.name', 'metadata.namespace'];
const KIND_FIELDS: Record<string, string[]> = {
  Pod: ['spec.nodeName', 'status.phase'],
  Event: [
    'type',
    'reason',
    'involvedObject.kind',
    'involvedObject.name',
    'involvedObject.namespace',
    'involvedObject.uid',
  ],
};

export function selectableFields(kind: string): string[] {
  return [...COMMON_FIELDS, ...(KIND_FIELDS[kind] ?? [])];
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

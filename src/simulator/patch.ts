/**
 * The patch formats of the Kubernetes API: JSON merge patch (RFC 7386), strategic merge patch
 * (merge-patch, but lists of known kinds merge by key: containers and volumes by name, …) and JSON
 * patch (RFC 6902).
 */
import { StatusError } from './status';
import { cloneJson } from '../infra/kubernetes/json-clone';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Lists that strategic merge (and server-side apply) merge item by item, by this key. */
export const MERGE_KEYS: Record<string, string> = {
  containers: 'name',
  initContainers: 'name',
  ephemeralContainers: 'name',
  env: 'name',
  envFrom: '',
  volumes: 'name',
  volumeMounts: 'mountPath',
  imagePullSecrets: 'name',
  ports: 'containerPort',
  conditions: 'type',
};

export function mergeKeyFor(field: string, items: Json[]): string | undefined {
  const key = MERGE_KEYS[field];
  if (!key) {
    return undefined;
  }
  // Service ports merge by `port`, container ports by `containerPort`.
  if (
    field === 'ports' &&
    items.every((item) => isObject(item) && 'port' in item && !('containerPort' in item))
  ) {
    return 'port';
  }
  return items.every((item) => isObject(item) && key in item) ? key : undefined;
}

export function mergePatch(target: Json, patch: Json): Json {
  if (!isObject(patch)) {
    return cloneJson(patch);
  }
  const result: JsonObject = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) {
      delete result[key];
    } else {
      result[key] = mergePatch(result[key] ?? null, value);
    }
  }
  return result;
}

function mergeList(field: string, target: Json[], patch: Json[]): Json[] {
  const key = mergeKeyFor(field, [...target, ...patch]);
  if (!key) {
    return cloneJson(patch);
  }
  const result = [...target];
  for (const item of patch) {
    const itemObject = item as JsonObject;
    const index = result.findIndex((existing) => (existing as JsonObject)[key] === itemObject[key]);
    if (itemObject.$patch === 'replace') {
      result.splice(index >= 0 ? index : result.length, index >= 0 ? 1 : 0, strategicMergePatch(null, item));
      continue;
    }
    if (itemObject.$patch === 'delete') {
      if (index >= 0) {
        result.splice(index, 1);
      }
    } else if (index >= 0) {
      result[index] = strategicMergePatch(result[index]!, item);
    } else {
      result.push(strategicMergePatch(null, item));
    }
  }
  return result;
}

/**
 * Strategic merge patch, with the directives `kubectl apply` sends: `$patch` (replace, delete),
 * `$retainKeys`, `$setElementOrder/<list>` and `$deleteFromPrimitiveList/<list>`. Directives are
 * instructions, never data: none of them is stored.
 */
export function strategicMergePatch(target: Json, patch: Json): Json {
  if (!isObject(patch)) {
    return cloneJson(patch);
  }
  if (patch.$patch === 'replace') {
    return strategicMergePatch(null, { ...patch, $patch: null });
  }
  const result: JsonObject = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (key.startsWith('$')) {
      continue;
    }
    if (value === null) {
      delete result[key];
    } else if (isObject(value) && value.$patch === 'delete') {
      delete result[key];
    } else if (Array.isArray(value) && Array.isArray(result[key])) {
      result[key] = mergeList(key, result[key], value);
    } else {
      result[key] = strategicMergePatch(result[key] ?? null, value);
    }
  }
  applyListDirectives(result, patch);
  if (Array.isArray(patch.$retainKeys)) {
    const retained = new Set(patch.$retainKeys as string[]);
    for (const key of Object.keys(result)) {
      if (!retained.has(key)) {
        delete result[key];
      }
    }
  }
  return result;
}

function applyListDirectives(result: JsonObject, patch: JsonObject): void {
  for (const [directive, value] of Object.entries(patch)) {
    const [name, field] = directive.split('/');
    const list = field ? result[field] : undefined;
    if (!field || !Array.isArray(list) || !Array.isArray(value)) {
      continue;
    }
    if (name === '$deleteFromPrimitiveList') {
      result[field] = list.filter((item) => !value.some((gone) => isDeepEqualJson(gone, item)));
    } else if (name === '$setElementOrder') {
      const key = mergeKeyFor(field, list);
      const position = (item: Json) =>
        value.findIndex((order) =>
          key ? (order as JsonObject)[key] === (item as JsonObject)[key] : isDeepEqualJson(order, item),
        );
      result[field] = [...list].sort((a, b) => {
        const [pa, pb] = [position(a), position(b)];
        return (pa < 0 ? Number.MAX_SAFE_INTEGER : pa) - (pb < 0 ? Number.MAX_SAFE_INTEGER : pb);
      });
    }
  }
}

function isDeepEqualJson(a: Json, b: Json): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

interface JsonPatchOperation {
  op: 'add' | 'remove' | 'replace' | 'test' | 'move' | 'copy';
  path: string;
  value?: Json;
  from?: string;
}

function pointer(path: string): string[] {
  if (path === '') {
    return [];
  }
  if (!path.startsWith('/')) {
    throw new StatusError('BadRequest', `invalid JSON pointer "${path}"`);
  }
  return path
    .slice(1)
    .split('/')
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function parentOf(document: Json, parts: string[]): { parent: Json; last: string } {
  let current = document;
  for (const part of parts.slice(0, -1)) {
    const next: Json | undefined = Array.isArray(current)
      ? current[Number(part)]
      : isObject(current)
        ? current[part]
        : undefined;
    if (next === undefined) {
      throw new StatusError(
        'Invalid',
        `the server rejected our request: path /${parts.join('/')} does not exist`,
      );
    }
    current = next;
  }
  return { parent: current, last: parts[parts.length - 1] ?? '' };
}

function read(document: Json, parts: string[]): Json | undefined {
  let current: Json | undefined = document;
  for (const part of parts) {
    current = Array.isArray(current) ? current[Number(part)] : isObject(current) ? current[part] : undefined;
  }
  return current;
}

export function jsonPatch(document: Json, operations: unknown): Json {
  if (!Array.isArray(operations)) {
    throw new StatusError('BadRequest', 'a JSON patch must be an array of operations');
  }
  let result = cloneJson(document);
  for (const operation of operations as JsonPatchOperation[]) {
    if (!isObject(operation) || typeof operation.op !== 'string' || typeof operation.path !== 'string') {
      throw new StatusError('BadRequest', 'each JSON patch operation needs a string "op" and "path"');
    }
    const parts = pointer(operation.path);
    const apply = (op: 'add' | 'remove' | 'replace', value?: Json) => {
      if (parts.length === 0) {
        result = op === 'remove' ? null : cloneJson(value!);
        return;
      }
      const { parent, last } = parentOf(result, parts);
      if (Array.isArray(parent)) {
        const index = last === '-' ? parent.length : Number(last);
        parent.splice(index, op === 'add' ? 0 : 1, ...(op === 'remove' ? [] : [cloneJson(value!)]));
      } else if (isObject(parent)) {
        if (op !== 'add' && !(last in parent)) {
          throw new StatusError(
            'Invalid',
            `the server rejected our request: path ${operation.path} does not exist`,
          );
        }
        if (op === 'remove') {
          delete parent[last];
        } else {
          parent[last] = cloneJson(value!);
        }
      }
    };
    switch (operation.op) {
      case 'add':
      case 'replace':
        apply(operation.op, operation.value ?? null);
        break;
      case 'remove':
        apply('remove');
        break;
      case 'test':
        if (JSON.stringify(read(result, parts)) !== JSON.stringify(operation.value)) {
          throw new StatusError(
            'Invalid',
            `the server rejected our request: test operation failed at ${operation.path}`,
          );
        }
        break;
      case 'move':
      case 'copy': {
        const value = read(result, pointer(operation.from ?? ''));
        if (operation.op === 'move') {
          const fromParts = pointer(operation.from ?? '');
          const { parent, last } = parentOf(result, fromParts);
          if (Array.isArray(parent)) {
            parent.splice(Number(last), 1);
          } else if (isObject(parent)) {
            delete parent[last];
          }
        }
        apply('add', value ?? null);
        break;
      }
      default:
        throw new StatusError(
          'BadRequest',
          `unsupported JSON patch operation "${String((operation as { op: unknown }).op)}"`,
        );
    }
  }
  return result;
}

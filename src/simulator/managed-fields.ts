/**
 * Field ownership for server-side apply, in Kubernetes' FieldsV1 vocabulary: a path is a list of
 * `f:<field>` and `k:{"<mergeKey>":<value>}` elements; a keyed list item's own path marks the item.
 */
import { k8sNow } from './time';
import { sameJson } from '../infra/kubernetes/json-equal';
import { isObject, mergeKeyFor, type Json } from './patch';
import { StatusError, type StatusCause } from './status';
import type { K8sObject } from './store';
import { cloneJson } from '../infra/kubernetes/json-clone';

type Path = string[];
type JsonObject = { [key: string]: Json };

export interface ManagedFieldsEntry {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  time: string;
  fieldsType: 'FieldsV1';
  fieldsV1: Record<string, unknown>;
  subresource?: string;
}

/** Identity and bookkeeping fields nobody "owns". */
const UNOWNED_METADATA = new Set([
  'name',
  'namespace',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'managedFields',
  'selfLink',
]);

export function fieldPaths(value: Json, prefix: Path = [], field?: string): Path[] {
  if (Array.isArray(value)) {
    const key = field ? mergeKeyFor(field, value) : undefined;
    if (!key || value.length === 0) {
      return [prefix];
    }
    return value.flatMap((item) => {
      const element = `k:${JSON.stringify({ [key]: (item as JsonObject)[key] })}`;
      return [[...prefix, element], ...fieldPaths(item, [...prefix, element])];
    });
  }
  if (isObject(value) && Object.keys(value).length > 0) {
    return Object.entries(value).flatMap(([name, child]) => {
      if (prefix.length === 0 && (name === 'apiVersion' || name === 'kind')) {
        return [];
      }
      if (prefix.length === 1 && prefix[0] === 'f:metadata' && UNOWNED_METADATA.has(name)) {
        return [];
      }
      return fieldPaths(child, [...prefix, `f:${name}`], name);
    });
  }
  return prefix.length > 0 ? [prefix] : [];
}

function step(current: Json | undefined, element: string): Json | undefined {
  if (element.startsWith('f:')) {
    return isObject(current) ? current[element.slice(2)] : undefined;
  }
  const [key, wanted] = Object.entries(JSON.parse(element.slice(2)) as JsonObject)[0];
  return Array.isArray(current) ? current.find((item) => isObject(item) && item[key] === wanted) : undefined;
}

export function valueAt(object: Json, path: Path): Json | undefined {
  return path.reduce<Json | undefined>((current, element) => step(current, element), object);
}

function removeAt(object: Json, path: Path): void {
  const parent = valueAt(object, path.slice(0, -1));
  const last = path[path.length - 1];
  if (last.startsWith('f:') && isObject(parent)) {
    delete parent[last.slice(2)];
  } else if (last.startsWith('k:') && Array.isArray(parent)) {
    const item = step(parent, last);
    parent.splice(parent.indexOf(item as Json), 1);
  }
}

export function describePath(path: Path): string {
  return path
    .map((element) => {
      if (element.startsWith('f:')) {
        return `.${element.slice(2)}`;
      }
      const [key, value] = Object.entries(JSON.parse(element.slice(2)) as JsonObject)[0];
      return `[${key}=${JSON.stringify(value)}]`;
    })
    .join('');
}

function toTree(paths: Path[]): Record<string, unknown> {
  const tree: Record<string, unknown> = {};
  for (const path of paths) {
    let node = tree;
    for (const element of path) {
      node = (node[element] ??= {}) as Record<string, unknown>;
    }
    if (path[path.length - 1].startsWith('k:')) {
      node['.'] = {};
    }
  }
  return tree;
}

function fromTree(tree: Record<string, unknown>, prefix: Path = []): Path[] {
  const entries = Object.entries(tree);
  if (entries.length === 0) {
    return [prefix];
  }
  return entries.flatMap(([element, child]) =>
    element === '.' ? [prefix] : fromTree(child as Record<string, unknown>, [...prefix, element]),
  );
}

const encode = (path: Path) => JSON.stringify(path);
const decode = (key: string) => JSON.parse(key) as Path;

type Ownership = Map<string, { entry: Omit<ManagedFieldsEntry, 'fieldsV1'>; paths: Set<string> }>;

function ownershipOf(object: K8sObject | undefined): Ownership {
  const owners: Ownership = new Map();
  for (const raw of (object?.metadata.managedFields ?? []) as ManagedFieldsEntry[]) {
    const { fieldsV1, ...entry } = raw;
    owners.set(`${entry.manager}\u0000${entry.operation}`, {
      entry,
      paths: new Set(fromTree(fieldsV1).map(encode)),
    });
  }
  return owners;
}

function writeOwnership(object: K8sObject, owners: Ownership, previous: K8sObject | undefined): void {
  const before = ownershipOf(previous);
  const now = k8sNow();
  const entries: ManagedFieldsEntry[] = [];
  for (const [id, { entry, paths }] of owners) {
    if (paths.size === 0) {
      continue;
    }
    const previous = before.get(id)?.paths;
    const unchanged =
      previous !== undefined && previous.size === paths.size && [...paths].every((key) => previous.has(key));
    entries.push({
      ...entry,
      time: unchanged ? entry.time : now, // an unchanged entry keeps its time: no churn on a repeated apply
      fieldsType: 'FieldsV1',
      fieldsV1: toTree([...paths].map(decode)),
    });
  }
  if (entries.length > 0) {
    object.metadata.managedFields = entries;
  } else {
    delete object.metadata.managedFields;
  }
}

function mergeApplied(target: Json, config: Json, field?: string): Json {
  if (Array.isArray(config)) {
    const key = field ? mergeKeyFor(field, [...(Array.isArray(target) ? target : []), ...config]) : undefined;
    if (!key || !Array.isArray(target)) {
      return cloneJson(config);
    }
    const result = [...target];
    for (const item of config) {
      const index = result.findIndex(
        (existing) => (existing as JsonObject)[key] === (item as JsonObject)[key],
      );
      if (index >= 0) {
        result[index] = mergeApplied(result[index], item);
      } else {
        result.push(cloneJson(item));
      }
    }
    return result;
  }
  if (isObject(config)) {
    const result: JsonObject = isObject(target) ? { ...target } : {};
    for (const [name, value] of Object.entries(config)) {
      result[name] = mergeApplied(result[name] ?? null, value, name);
    }
    return result;
  }
  return cloneJson(config);
}

/**
 * Server-side apply of `config` by `manager`. Fields another manager owns with a different value
 * conflict (409) unless `force` takes them over; fields this manager applied before and no longer
 * applies are removed unless someone else still owns them.
 */
export function serverSideApply(
  current: K8sObject | undefined,
  config: K8sObject,
  manager: string,
  force: boolean,
): K8sObject {
  const applied = new Set(fieldPaths(config as unknown as Json).map(encode));
  const owners = ownershipOf(current);
  const id = `${manager}\u0000Apply`;
  const conflicts: StatusCause[] = [];
  for (const [otherId, other] of owners) {
    if (otherId === id) {
      continue;
    }
    for (const key of other.paths) {
      const path = decode(key);
      // Conflicts are about values: a shared list item is fine, its differing leaves conflict.
      if (!applied.has(key) || path[path.length - 1].startsWith('k:')) {
        continue;
      }
      const differs = !sameJson(
        valueAt(current as unknown as Json, path),
        valueAt(config as unknown as Json, path),
      );
      if (differs && !force) {
        conflicts.push({
          reason: 'FieldManagerConflict',
          message: `conflict with "${other.entry.manager}" using ${other.entry.apiVersion}`,
          field: describePath(path),
        });
      } else if (differs) {
        other.paths.delete(key);
      }
    }
  }
  if (conflicts.length > 0) {
    throw new StatusError(
      'Conflict',
      `Apply failed with ${conflicts.length} conflict${conflicts.length > 1 ? 's' : ''}: ${conflicts
        .map((c) => `${c.message}: ${c.field}`)
        .join(', ')}`,
      { name: config.metadata.name, kind: config.kind, causes: conflicts },
    );
  }

  const next = (
    current ? cloneJson(current) : { apiVersion: config.apiVersion, kind: config.kind, metadata: {} }
  ) as K8sObject;
  const previous = owners.get(id)?.paths ?? new Set<string>();
  const ownedByOthers = new Set(
    [...owners].filter(([otherId]) => otherId !== id).flatMap(([, o]) => [...o.paths]),
  );
  const released = [...previous].filter((key) => !applied.has(key) && !ownedByOthers.has(key));
  for (const key of released.sort((a, b) => b.length - a.length)) {
    removeAt(next as unknown as Json, decode(key));
  }
  const merged = mergeApplied(next as unknown as Json, config as unknown as Json) as unknown as K8sObject;
  owners.set(id, {
    entry: owners.get(id)?.entry ?? {
      manager,
      operation: 'Apply',
      apiVersion: config.apiVersion,
      time: '',
      fieldsType: 'FieldsV1',
    },
    paths: applied,
  });
  writeOwnership(merged, owners, current);
  return merged;
}

/**
 * Ownership after a non-apply write (create, update, patch) by `manager`: it takes the fields whose
 * values it changed, from whoever owned them, without conflicts, as Kubernetes does.
 */
export function recordUpdate(previous: K8sObject | undefined, next: K8sObject, manager: string): void {
  const owners = ownershipOf(previous);
  const present = new Set(fieldPaths(next as unknown as Json).map(encode));
  const before = previous as unknown as Json;
  const after = next as unknown as Json;
  // A keyed list item's own path changes hands only when the item is added; a change inside it
  // moves just the leaves that changed (so an image bump does not take the whole container).
  const changed = new Set(
    [...present].filter((key) => {
      const path = decode(key);
      if (!previous) {
        return true;
      }
      if (path[path.length - 1].startsWith('k:')) {
        return valueAt(before, path) === undefined;
      }
      return !sameJson(valueAt(before, path), valueAt(after, path));
    }),
  );
  for (const owner of owners.values()) {
    for (const key of [...owner.paths]) {
      if (!present.has(key) || changed.has(key)) {
        owner.paths.delete(key);
      }
    }
  }
  if (changed.size > 0) {
    const id = `${manager}\u0000Update`;
    const mine = owners.get(id) ?? {
      entry: {
        manager,
        operation: 'Update' as const,
        apiVersion: next.apiVersion,
        time: '',
        fieldsType: 'FieldsV1' as const,
      },
      paths: new Set<string>(),
    };
    changed.forEach((key) => mine.paths.add(key));
    owners.set(id, mine);
  }
  writeOwnership(next, owners, previous);
}

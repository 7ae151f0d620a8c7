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
/** A list item's key fields; one the item lacks is undefined, which its JSON leaves out. */
type ItemKey = { [key: string]: Json | undefined };

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

/**
 * Maps and structs Kubernetes declares atomic (`x-kubernetes-map-type: atomic`,
 * `+structType=atomic`): label selectors and node selectors, a claim's `dataSource`
 * (TypedLocalObjectReference) and a volume's `claimRef` (ObjectReference) are owned, applied and
 * replaced whole, never key by key.
 */
const ATOMIC_MAPS = new Set([
  'selector',
  'nodeSelector',
  'podSelector',
  'namespaceSelector',
  'labelSelector',
  'dataSource',
  'claimRef',
]);

/** The default a list-map key takes when an item leaves it out (`protocol` of ports). */
const KEY_DEFAULTS: Record<string, Json> = { protocol: 'TCP' };

/**
 * The key of a list item as structured-merge-diff writes it (`k:{"port":22,"protocol":"TCP"}`):
 * ports are keyed by port and protocol, as their schema's list-map-keys say.
 */
function itemKey(field: string, key: string, item: Json): ItemKey {
  const object = isObject(item) ? item : {};
  if (field === 'ports' && (key === 'port' || key === 'containerPort')) {
    return { [key]: object[key], protocol: object.protocol ?? KEY_DEFAULTS.protocol };
  }
  return { [key]: object[key] };
}

function matchesKey(item: Json, wanted: ItemKey): boolean {
  return (
    isObject(item) &&
    Object.entries(wanted).every(([key, value]) => (item[key] ?? KEY_DEFAULTS[key] ?? null) === value)
  );
}

export function fieldPaths(value: Json, prefix: Path = [], field?: string): Path[] {
  if (Array.isArray(value)) {
    const key = field ? mergeKeyFor(field, value) : undefined;
    if (!key || value.length === 0) {
      return [prefix];
    }
    return value.flatMap((item) => {
      const element = `k:${JSON.stringify(itemKey(field!, key, item))}`;
      return [[...prefix, element], ...fieldPaths(item, [...prefix, element])];
    });
  }
  if (isObject(value) && field !== undefined && ATOMIC_MAPS.has(field)) {
    return [prefix];
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

/**
 * Fields that are Go structs, not pointers: every object of the kind has them, if only empty, so
 * an update never "adds" them (unless the list item holding them is new).
 */
const ALWAYS_PRESENT = new Set([
  'metadata',
  'spec',
  'status',
  'template',
  'strategy',
  'roleRef',
  'resources',
]);

/**
 * The maps and structs `next` has and `previous` had not: an update that adds one owns it too
 * (FieldsV1's `"."`), as structured-merge-diff's comparison counts it. Inside a list item that is
 * new, every map and struct is new.
 */
function addedParents(
  previous: Json | undefined,
  next: Json,
  prefix: Path = [],
  field?: string,
  fresh = false,
): Path[] {
  if (Array.isArray(next)) {
    const key = field ? mergeKeyFor(field, next) : undefined;
    if (!key) {
      return [];
    }
    return next.flatMap((item) => {
      const path = [...prefix, `k:${JSON.stringify(itemKey(field!, key, item))}`];
      const added = fresh || previous === undefined || valueAt(previous, path) === undefined;
      return addedParents(previous, item, path, undefined, added);
    });
  }
  if (!isObject(next)) {
    return [];
  }
  return Object.entries(next).flatMap(([name, child]) => {
    if (prefix.length === 0 && (name === 'apiVersion' || name === 'kind')) {
      return [];
    }
    if (prefix.length === 1 && prefix[0] === 'f:metadata' && UNOWNED_METADATA.has(name)) {
      return [];
    }
    const path = [...prefix, `f:${name}`];
    if (Array.isArray(child)) {
      return addedParents(previous, child, path, name, fresh);
    }
    if (!isObject(child) || Object.keys(child).length === 0 || ATOMIC_MAPS.has(name)) {
      return [];
    }
    const added = fresh
      ? true
      : !ALWAYS_PRESENT.has(name) && (previous === undefined || valueAt(previous, path) === undefined);
    return [...(added ? [path] : []), ...addedParents(previous, child, path, name, fresh)];
  });
}

function step(current: Json | undefined, element: string): Json | undefined {
  if (element.startsWith('f:')) {
    return isObject(current) ? current[element.slice(2)] : undefined;
  }
  const wanted = JSON.parse(element.slice(2)) as JsonObject;
  return Array.isArray(current) ? current.find((item) => matchesKey(item, wanted)) : undefined;
}

export function valueAt(object: Json, path: Path): Json | undefined {
  return path.reduce<Json | undefined>((current, element) => step(current, element), object);
}

function removeAt(object: Json, path: Path): void {
  const parent = valueAt(object, path.slice(0, -1));
  const last = path[path.length - 1];
  if (last?.startsWith('f:') && isObject(parent)) {
    delete parent[last.slice(2)];
  } else if (last?.startsWith('k:') && Array.isArray(parent)) {
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
      const entries = Object.entries(JSON.parse(element.slice(2)) as JsonObject);
      return `[${entries.map(([key, value]) => `${key}=${JSON.stringify(value)}`).join(',')}]`;
    })
    .join('');
}

/** FieldsV1: a member that has members below it says so with `"."`. */
function toTree(paths: Path[]): Record<string, unknown> {
  const tree: Record<string, unknown> = {};
  const members: Record<string, unknown>[] = [];
  for (const path of paths) {
    let node = tree;
    for (const element of path) {
      node = (node[element] ??= {}) as Record<string, unknown>;
    }
    members.push(node);
  }
  for (const node of members) {
    if (Object.keys(node).some((key) => key !== '.')) {
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
    owners.set(
      `${entry.manager}\u0000${entry.operation}${entry.subresource ? `\u0000${entry.subresource}` : ''}`,
      {
        entry,
        paths: new Set(fromTree(fieldsV1).map(encode)),
      },
    );
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
      const index = result.findIndex((existing) => matchesKey(existing, itemKey(field!, key, item)));
      if (index >= 0) {
        result[index] = mergeApplied(result[index]!, item);
      } else {
        result.push(cloneJson(item));
      }
    }
    return result;
  }
  if (isObject(config) && !(field !== undefined && ATOMIC_MAPS.has(field))) {
    const result: JsonObject = isObject(target) ? { ...target } : {};
    for (const [name, value] of Object.entries(config)) {
      result[name] = mergeApplied(result[name] ?? null, value, name);
    }
    return result;
  }
  return cloneJson(config);
}

/**
 * A manager as the API server names it in a conflict: an applier by name, an updater with the
 * version it wrote (fieldmanager's printManager).
 */
function describeManager(entry: Omit<ManagedFieldsEntry, 'fieldsV1'>): string {
  const name = `"${entry.manager}"${entry.subresource ? ` with subresource "${entry.subresource}"` : ''}`;
  // The manager's key carries no time, so none is printed.
  return entry.operation === 'Update' ? `${name} using ${entry.apiVersion}` : name;
}

/** One conflict in a line; several grouped by manager, a line each (fieldmanager's getConflictMessage). */
function conflictMessage(conflicts: StatusCause[]): string {
  const [only] = conflicts;
  if (only && conflicts.length === 1) {
    return `Apply failed with 1 conflict: ${only.message}: ${only.field}`;
  }
  const byManager = new Map<string, string[]>();
  for (const conflict of conflicts) {
    const manager = conflict.message.replace(/^conflict with /, '');
    byManager.set(manager, [...(byManager.get(manager) ?? []), conflict.field]);
  }
  const lines = [...byManager]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .flatMap(([manager, fields]) => [`conflicts with ${manager}:`, ...fields.map((field) => `- ${field}`)]);
  return `Apply failed with ${conflicts.length} conflicts: ${lines.join('\n')}`;
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
      if (!applied.has(key) || path[path.length - 1]?.startsWith('k:')) {
        continue;
      }
      const differs = !sameJson(
        valueAt(current as unknown as Json, path),
        valueAt(config as unknown as Json, path),
      );
      if (differs && !force) {
        conflicts.push({
          reason: 'FieldManagerConflict',
          message: `conflict with ${describeManager(other.entry)}`,
          field: describePath(path),
        });
      } else if (differs) {
        other.paths.delete(key);
      }
    }
  }
  if (conflicts.length > 0) {
    // By manager, then field: the order kube-apiserver lists them in.
    conflicts.sort((a, b) => a.message.localeCompare(b.message) || a.field.localeCompare(b.field));
    throw new StatusError('Conflict', conflictMessage(conflicts), { causes: conflicts });
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
export function recordUpdate(
  previous: K8sObject | undefined,
  next: K8sObject,
  manager: string,
  subresource?: 'status',
): void {
  const owners = ownershipOf(previous);
  const before = previous as unknown as Json;
  const after = next as unknown as Json;
  const parents = new Set(addedParents(previous ? before : undefined, after).map(encode));
  // A write to /status changes (and owns) status only.
  const inScope = (key: string) => subresource === undefined || key.startsWith('["f:status"');
  const present = new Set([...fieldPaths(after).map(encode), ...parents].filter(inScope));
  // A keyed list item's own path changes hands only when the item is added; a change inside it
  // moves just the leaves that changed (so an image bump does not take the whole container).
  const changed = new Set(
    [...present].filter((key) => {
      const path = decode(key);
      if (!previous) {
        return true;
      }
      if (path[path.length - 1]?.startsWith('k:') || parents.has(key)) {
        return valueAt(before, path) === undefined;
      }
      return !sameJson(valueAt(before, path), valueAt(after, path));
    }),
  );
  for (const owner of owners.values()) {
    for (const key of [...owner.paths]) {
      if (valueAt(after, decode(key)) === undefined || changed.has(key)) {
        owner.paths.delete(key);
      }
    }
  }
  if (changed.size > 0) {
    const id = `${manager}\u0000Update${subresource ? `\u0000${subresource}` : ''}`;
    const mine = owners.get(id) ?? {
      entry: {
        manager,
        operation: 'Update' as const,
        apiVersion: next.apiVersion,
        time: '',
        fieldsType: 'FieldsV1' as const,
        ...(subresource ? { subresource } : {}),
      },
      paths: new Set<string>(),
    };
    changed.forEach((key) => mine.paths.add(key));
    owners.set(id, mine);
  }
  writeOwnership(next, owners, previous);
}

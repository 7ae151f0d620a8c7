/**
 * A deep copy of a plain JSON value (objects, arrays, strings, numbers, booleans, null), as
 * Kubernetes objects are. A walk of the keys copies such values several times faster than
 * structuredClone, which matters where every read and write makes copies (the simulated API server).
 */
export function cloneJson<T>(value: T): T {
  if (Array.isArray(value)) {
    return value.map(cloneJson) as T;
  }
  if (value !== null && typeof value === 'object') {
    const copy: Record<string, unknown> = {};
    for (const key of Object.keys(value)) {
      copy[key] = cloneJson((value as Record<string, unknown>)[key]);
    }
    return copy as T;
  }
  return value;
}

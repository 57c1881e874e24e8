/**
 * @module json
 * Plain-JSON helpers shared by the fake API server: everything it stores is a JSON tree, so deep
 * equality, cloning and path access are all it needs (no class instances, no undefined values).
 */

export type JsonValue = string | number | boolean | null | JsonValue[] | JsonObject;
export interface JsonObject { [key: string]: JsonValue }

/** A path into a JSON tree: object keys, or array indexes. */
export type JsonPath = (string | number)[];

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A deep copy that also drops `undefined` (JSON cannot carry it, and neither can the store). */
export function clone<T>(v: T): T {
  return v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T);
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a).filter((k) => a[k] !== undefined);
    const kb = Object.keys(b).filter((k) => b[k] !== undefined);
    return ka.length === kb.length && ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && deepEqual(a[k], b[k]));
  }
  return false;
}

export function getPath(root: unknown, path: JsonPath): JsonValue | undefined {
  let cur: unknown = root;
  for (const key of path) {
    if (Array.isArray(cur) && typeof key === 'number') cur = cur[key];
    else if (isObject(cur) && typeof key === 'string') cur = cur[key];
    else return undefined;
    if (cur === undefined) return undefined;
  }
  return cur as JsonValue;
}

/** Sets a value, creating intermediate objects; returns false when a non-object is in the way. */
export function setPath(root: JsonObject, path: JsonPath, value: JsonValue): boolean {
  let cur: JsonObject = root;
  for (let i = 0; i < path.length - 1; i++) {
    const key = String(path[i]);
    const next = cur[key];
    if (next === undefined) cur[key] = {};
    else if (!isObject(next)) return false;
    cur = cur[key] as JsonObject;
  }
  cur[String(path[path.length - 1])] = value;
  return true;
}

/** Removes the value at `path` and then every parent object the removal left empty. */
export function deletePathPruningEmpty(root: JsonObject, path: JsonPath): void {
  const parents: JsonObject[] = [];
  let cur: unknown = root;
  for (let i = 0; i < path.length - 1; i++) {
    if (!isObject(cur)) return;
    parents.push(cur);
    cur = cur[String(path[i])];
  }
  if (!isObject(cur)) return;
  delete cur[String(path[path.length - 1])];
  for (let i = path.length - 2; i >= 0; i--) {
    const child = getPath(root, path.slice(0, i + 1));
    if (isObject(child) && Object.keys(child).length === 0) delete parents[i]![String(path[i])];
    else break;
  }
}

/**
 * A CRD JSONPath such as `.spec.hosts.replicas` (the only form `subresources.scale` allows: dotted
 * field names, no indexes) as a path.
 */
export function parseDottedPath(jsonPath: string): string[] {
  return jsonPath.replace(/^\./, '').split('.').filter((s) => s.length > 0);
}

export function isPrefix(prefix: readonly unknown[], path: readonly unknown[]): boolean {
  return prefix.length <= path.length && prefix.every((p, i) => p === path[i]);
}

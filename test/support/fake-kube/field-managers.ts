/**
 * @module field-managers
 * Server-side apply and the field ownership it needs, simplified: ownership is tracked per *leaf
 * path* (a scalar, a list, or an empty map) per manager entry, and every list is atomic (no
 * `x-kubernetes-list-type: map/set` merging). Entries are keyed by (manager, operation, subresource)
 * as on the real server, so `Apply` and `Update` by the same manager name are different owners.
 *
 * - Update (POST/PUT/non-apply PATCH): the writer takes every leaf whose value changed; removed
 *   leaves leave every owner.
 * - Apply: the configuration is merged into the live object (maps recursively, lists and scalars
 *   replaced); a leaf another entry owns whose value would change is a conflict (409) unless
 *   `force`, which moves ownership; leaves this entry applied last time but not now are removed
 *   when no other entry owns them (defaulting then refills them, as on the real server).
 */
import { errors, type StatusCause } from './errors';
import { clone, deepEqual, deletePathPruningEmpty, getPath, isObject, isPrefix, type JsonObject, type JsonValue } from './json';

export type Operation = 'Apply' | 'Update';
/** '' for the main resource, 'status' or 'scale'. */
export type Subresource = '' | 'status' | 'scale';

export interface ManagerEntry {
  manager: string;
  operation: Operation;
  subresource: Subresource;
  apiVersion: string;
  time: string;
  /** Leaf paths, each as an array of map keys. */
  fields: string[][];
}

interface Entry { manager: string; operation: Operation; subresource: Subresource; apiVersion: string; time: string; paths: Map<string, string[]> }

/** Which part of an object a write through this endpoint may own. */
export interface Scope {
  /** The resource has a status subresource (so the main endpoint does not own status). */
  statusSubresource: boolean;
  subresource: Subresource;
}

/** Server-maintained metadata: never owned, never merged from an applied configuration. */
const SERVER_METADATA = new Set(['name', 'namespace', 'uid', 'resourceVersion', 'generation', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'generateName', 'managedFields', 'selfLink']);

function tracked(path: string[], scope: Scope): boolean {
  const top = path[0];
  if (top === 'apiVersion' || top === 'kind') return false;
  if (top === 'metadata') return path.length > 1 && !SERVER_METADATA.has(path[1]!) && scope.subresource !== 'status';
  if (scope.subresource === 'status') return top === 'status';
  return !(scope.statusSubresource && top === 'status');
}

/** Leaves of a JSON tree within scope, keyed by their JSON-encoded path. */
function leaves(root: JsonValue | undefined, scope: Scope): Map<string, { path: string[]; value: JsonValue }> {
  const out = new Map<string, { path: string[]; value: JsonValue }>();
  const walk = (v: JsonValue, path: string[]): void => {
    if (isObject(v) && Object.keys(v).length > 0) {
      for (const [k, child] of Object.entries(v)) walk(child, [...path, k]);
    } else if (path.length > 0 && tracked(path, scope)) {
      out.set(JSON.stringify(path), { path, value: v });
    }
  };
  if (root !== undefined) walk(root, []);
  return out;
}

const overlaps = (a: string[], b: string[]): boolean => isPrefix(a, b) || isPrefix(b, a);
const entryKey = (manager: string, operation: Operation, subresource: Subresource): string => JSON.stringify([manager, operation, subresource]);
const dotted = (path: string[]): string => `.${path.join('.')}`;

/** Deep merge for apply: maps merge key by key, anything else is replaced; `null` removes. */
function applyMerge(live: JsonValue | undefined, config: JsonValue): JsonValue | undefined {
  if (config === null) return undefined;
  if (!isObject(config) || !isObject(live)) return clone(config);
  const out: JsonObject = { ...live };
  for (const [k, v] of Object.entries(config)) {
    const merged = applyMerge(out[k], v);
    if (merged === undefined) delete out[k];
    else out[k] = merged;
  }
  return out;
}

export class FieldManagers {
  private readonly byUid = new Map<string, Map<string, Entry>>();

  forget(uid: string): void { this.byUid.delete(uid); }

  entries(uid: string): ManagerEntry[] {
    return [...(this.byUid.get(uid)?.values() ?? [])].map((e) => ({
      manager: e.manager, operation: e.operation, subresource: e.subresource, apiVersion: e.apiVersion, time: e.time, fields: [...e.paths.values()],
    }));
  }

  private table(uid: string): Map<string, Entry> {
    let t = this.byUid.get(uid);
    if (!t) { t = new Map(); this.byUid.set(uid, t); }
    return t;
  }

  private entry(uid: string, manager: string, operation: Operation, scope: Scope, apiVersion: string): Entry {
    const t = this.table(uid);
    const key = entryKey(manager, operation, scope.subresource);
    let e = t.get(key);
    if (!e) { e = { manager, operation, subresource: scope.subresource, apiVersion, time: '', paths: new Map() }; t.set(key, e); }
    e.time = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    return e;
  }

  private dropEmpty(uid: string): void {
    const t = this.byUid.get(uid);
    if (!t) return;
    for (const [k, e] of t) if (e.paths.size === 0) t.delete(k);
  }

  /** After a non-apply write: the writer owns what changed; what disappeared has no owner. */
  recordUpdate(uid: string, before: JsonObject | undefined, after: JsonObject, manager: string, scope: Scope, apiVersion: string): void {
    const old = leaves(before, scope);
    const now = leaves(after, scope);
    const changed = [...now.entries()].filter(([k, v]) => !old.has(k) || !deepEqual(old.get(k)!.value, v.value)).map(([, v]) => v.path);
    const removed = [...old.entries()].filter(([k]) => !now.has(k)).map(([, v]) => v.path);
    if (changed.length === 0 && removed.length === 0) return;
    for (const e of this.table(uid).values()) {
      for (const [k, p] of e.paths) if ([...changed, ...removed].some((c) => overlaps(c, p))) e.paths.delete(k);
    }
    if (changed.length > 0) {
      const mine = this.entry(uid, manager, 'Update', scope, apiVersion);
      for (const p of changed) mine.paths.set(JSON.stringify(p), p);
    }
    this.dropEmpty(uid);
  }

  /**
   * Merges an applied configuration into `live` (undefined: create). Throws 409 on conflicts unless
   * `force`. Ownership changes only when the returned `commit` runs (after the write succeeded).
   */
  apply(uid: string | undefined, live: JsonObject | undefined, config: JsonObject, manager: string, force: boolean, scope: Scope, apiVersion: string): { merged: JsonObject; commit: (uid: string) => void } {
    const applied = leaves(config, scope);
    const appliedPaths = [...applied.values()].filter((l) => l.value !== null).map((l) => l.path);
    const table = uid ? this.table(uid) : new Map<string, Entry>();
    const selfKey = entryKey(manager, 'Apply', scope.subresource);
    const merged = (live ? applyMerge(live, config) : clone(config)) as JsonObject;

    const conflicts: { entry: Entry; key: string; path: string[] }[] = [];
    for (const [key, e] of table) {
      if (key === selfKey) continue;
      for (const [k, q] of e.paths) {
        if (appliedPaths.some((p) => overlaps(p, q)) && !deepEqual(getPath(live, q), getPath(merged, q))) conflicts.push({ entry: e, key: k, path: q });
      }
    }
    if (conflicts.length > 0 && !force) throw conflictError(conflicts.map((c) => ({ manager: c.entry.manager, apiVersion: c.entry.apiVersion, path: c.path })));

    // Leaves this manager applied before and no longer applies go, unless someone else still owns them.
    const previous = [...(table.get(selfKey)?.paths.values() ?? [])];
    for (const q of previous) {
      if (appliedPaths.some((p) => overlaps(p, q))) continue;
      const ownedElsewhere = [...table].some(([key, e]) => key !== selfKey && [...e.paths.values()].some((o) => overlaps(o, q)));
      if (!ownedElsewhere) deletePathPruningEmpty(merged, q);
    }

    const commit = (newUid: string): void => {
      for (const c of conflicts) c.entry.paths.delete(c.key);
      const mine = this.entry(newUid, manager, 'Apply', scope, apiVersion);
      mine.paths = new Map(appliedPaths.map((p) => [JSON.stringify(p), p]));
      this.dropEmpty(newUid);
    };
    return { merged, commit };
  }
}

/** The real server's wording: `Apply failed with 1 conflict: conflict with "kubectl" using apps/v1: .spec.replicas`. */
function conflictError(conflicts: { manager: string; apiVersion: string; path: string[] }[]) {
  const causes: StatusCause[] = conflicts.map((c) => ({ type: 'FieldManagerConflict', reason: 'FieldManagerConflict', message: `conflict with "${c.manager}" using ${c.apiVersion}`, field: dotted(c.path) }));
  const n = conflicts.length;
  const byManager = new Map<string, string[]>();
  for (const c of conflicts) {
    const k = `"${c.manager}" using ${c.apiVersion}`;
    byManager.set(k, [...(byManager.get(k) ?? []), dotted(c.path)]);
  }
  const parts = [...byManager].map(([who, fields]) => (fields.length === 1 ? `conflict with ${who}: ${fields[0]}` : `conflicts with ${who}:\n- ${fields.join('\n- ')}`));
  return errors.applyConflict(`Apply failed with ${n} conflict${n === 1 ? '' : 's'}: ${parts.join('\n')}`, causes);
}

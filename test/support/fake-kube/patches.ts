/**
 * @module patches
 * JSON Patch (RFC 6902) and JSON Merge Patch (RFC 7386) on plain JSON. Strategic merge patch is
 * served as a merge patch (see README: no list merge keys, no `$patch` directives).
 * Server-side apply lives in `field-managers.ts`.
 */
import { ApiError } from './errors';
import { clone, deepEqual, isObject, type JsonObject, type JsonValue } from './json';

export type PatchType = 'json' | 'merge' | 'strategic' | 'apply';

export const PATCH_CONTENT_TYPES: Record<string, PatchType> = {
  'application/json-patch+json': 'json',
  'application/merge-patch+json': 'merge',
  'application/strategic-merge-patch+json': 'strategic',
  'application/apply-patch+yaml': 'apply',
};

/** What the server answers when a patch document cannot be applied (422, as apimachinery does). */
function patchFailed(message: string): ApiError {
  return new ApiError({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason: 'Invalid', code: 422 });
}

function badPatch(message: string): ApiError {
  return new ApiError({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason: 'BadRequest', code: 400 });
}

export function mergePatch(target: JsonValue | undefined, patch: JsonValue): JsonValue {
  if (!isObject(patch)) return clone(patch);
  const out: JsonObject = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

function decodePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw badPatch(`invalid JSON pointer "${pointer}"`);
  return pointer.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

type Container = JsonObject | JsonValue[];

/** The parent container of the pointer's target, and the last token. */
function locate(doc: JsonValue, tokens: string[], pointer: string): { parent: Container; key: string } {
  let cur: JsonValue = doc;
  for (const t of tokens.slice(0, -1)) {
    const next: JsonValue | undefined = Array.isArray(cur) ? cur[Number(t)] : isObject(cur) ? cur[t] : undefined;
    if (next === undefined) throw patchFailed(`doc is missing path: "${pointer}": missing value`);
    cur = next;
  }
  if (!Array.isArray(cur) && !isObject(cur)) throw patchFailed(`doc is missing path: "${pointer}": missing value`);
  return { parent: cur, key: tokens[tokens.length - 1]! };
}

function arrayIndex(arr: JsonValue[], key: string, forAdd: boolean, pointer: string): number {
  if (forAdd && key === '-') return arr.length;
  if (!/^(0|[1-9][0-9]*)$/.test(key)) throw patchFailed(`invalid array index "${key}" in "${pointer}"`);
  const i = Number(key);
  if (i > arr.length || (!forAdd && i === arr.length)) throw patchFailed(`index out of bounds: ${i} in "${pointer}"`);
  return i;
}

function read(doc: JsonValue, pointer: string): JsonValue {
  const tokens = decodePointer(pointer);
  if (tokens.length === 0) return doc;
  const { parent, key } = locate(doc, tokens, pointer);
  const v = Array.isArray(parent) ? parent[arrayIndex(parent, key, false, pointer)] : parent[key];
  if (v === undefined) throw patchFailed(`doc is missing path: "${pointer}": missing value`);
  return v;
}

function add(doc: JsonValue, pointer: string, value: JsonValue): JsonValue {
  const tokens = decodePointer(pointer);
  if (tokens.length === 0) return value;
  const { parent, key } = locate(doc, tokens, pointer);
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, key, true, pointer), 0, value);
  else parent[key] = value;
  return doc;
}

function remove(doc: JsonValue, pointer: string): JsonValue {
  const tokens = decodePointer(pointer);
  if (tokens.length === 0) throw patchFailed('cannot remove the whole document');
  const { parent, key } = locate(doc, tokens, pointer);
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, key, false, pointer), 1);
  else {
    if (!(key in parent)) throw patchFailed(`Unable to remove nonexistent key: ${key}: missing value`);
    delete parent[key];
  }
  return doc;
}

/** RFC 6902, all-or-nothing: the input is not modified. */
export function jsonPatch(target: JsonValue, ops: unknown): JsonValue {
  if (!Array.isArray(ops)) throw badPatch('json patch must be an array of operations');
  let doc = clone(target);
  for (const raw of ops) {
    if (!isObject(raw) || typeof raw['op'] !== 'string' || typeof raw['path'] !== 'string') throw badPatch(`invalid json patch operation: ${JSON.stringify(raw)}`);
    const path = raw['path'];
    const value = raw['value'];
    const needValue = (): JsonValue => { if (value === undefined) throw badPatch(`operation ${raw['op']} needs a value`); return clone(value); };
    const from = (): string => { if (typeof raw['from'] !== 'string') throw badPatch(`operation ${raw['op']} needs "from"`); return raw['from']; };
    switch (raw['op']) {
      case 'add': doc = add(doc, path, needValue()); break;
      case 'remove': doc = remove(doc, path); break;
      case 'replace': if (path === '') { doc = needValue(); break; } read(doc, path); doc = add(remove(doc, path), path, needValue()); break;
      case 'move': { const v = read(doc, from()); doc = add(remove(doc, from()), path, v); break; }
      case 'copy': doc = add(doc, path, clone(read(doc, from()))); break;
      case 'test': if (!deepEqual(read(doc, path), needValue())) throw patchFailed(`testing value ${path} failed: test failed`); break;
      default: throw badPatch(`unexpected json patch operation "${String(raw['op'])}"`);
    }
  }
  return doc;
}

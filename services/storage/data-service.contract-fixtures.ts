/** @module data-service.contract-fixtures — records and a reference merge-patch replay for the DataService contract. */
import { isJsonObject, type Json, type JsonObject } from '../shared/json';
import type { ChangeRecord } from './data-service';

/** A change record whose redo is `redo`, as a host would append after a send. */
export function rec(seq: number, redo: JsonObject, who: ChangeRecord['who'] = { agent: 'ann', authority: 'test' }): ChangeRecord {
  return { seq, who, request: { kind: 'send', channel: 'edit', message: redo }, redo, undo: {} };
}

/** RFC 7386 JSON merge patch, local to the test so the contract does not depend on production patch code. */
export function mergePatch(target: Json, patch: Json): Json {
  if (!isJsonObject(patch)) return patch;
  const out: JsonObject = isJsonObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k] ?? null, v);
  }
  return out;
}

export function replay(start: Json, patches: readonly Json[]): Json {
  return patches.reduce<Json>((state, p) => mergePatch(state, p), start);
}

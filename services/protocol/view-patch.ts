/**
 * @module view-patch
 * Keeps a client's decoded view in step with its encoded state at the cost of the delta, not of
 * the view: `patchView(view, before, patch, after)` equals `decode(after)` (where
 * `after = apply(before, patch)`) but decodes only what the patch touched and shares every
 * untouched subtree with the previous view. A message appended to a 10 000-message chat costs one
 * decoded element and one array of references, not 10 000 decoded objects.
 *
 * Like delta.ts: pure, no dependencies, bundled for browsers. The previous view is not mutated
 * (UI code may compare views by reference), and the result must be treated as immutable too.
 */
import { decode, hasOwn, ORDER, orderOf, own, put } from './delta';
import { type Json, type JsonObject, isJsonObject } from '../shared/json';

/**
 * The decoded form of `after`, reusing `view` (the decoded form of `before`) wherever `patch`
 * left a subtree alone. `before`, `patch` and `after` are encoded (docs/deltas.md).
 */
export function patchView(view: Json | undefined, before: Json | undefined, patch: Json, after: Json): Json {
  // A replaced value, a type change or a first view: nothing to reuse.
  if (!isJsonObject(patch) || view === undefined || !isJsonObject(before) || !isJsonObject(after)) return decode(after);
  const beforeOrder = orderOf(before);
  const afterOrder = orderOf(after);
  if (beforeOrder !== undefined && afterOrder !== undefined) {
    return Array.isArray(view) && view.length === beforeOrder.length ? patchList(view, before, beforeOrder, patch, after, afterOrder) : decode(after);
  }
  if (beforeOrder !== undefined || afterOrder !== undefined || !isJsonObject(view)) return decode(after);
  const out: JsonObject = {};
  for (const k of Object.keys(view)) put(out, k, view[k] as Json);
  for (const k of Object.keys(patch)) {
    const p = patch[k] as Json;
    if (p === null || !hasOwn(after, k)) { delete out[k]; continue; }
    put(out, k, patchView(own(view, k), own(before, k), p, after[k] as Json));
  }
  return out;
}

/**
 * An encoded list whose decoded form is the array `view`. The new array is built from the order
 * patch's ranges (previous positions, so the previous element is at hand without a lookup); only
 * elements the patch names are decoded again.
 */
function patchList(view: Json[], before: JsonObject, beforeOrder: Json[], patch: JsonObject, after: JsonObject, afterOrder: Json[]): Json[] {
  // Ids of existing elements the patch changes. An append only adds ids, so most deltas have none
  // and the ranges copy without a per-element check.
  let changed: Set<string> | undefined;
  for (const k of Object.keys(patch)) {
    if (k !== ORDER && patch[k] !== null && hasOwn(before, k)) (changed ??= new Set()).add(k);
  }
  const element = (prevIndex: number): Json => {
    const id = beforeOrder[prevIndex] as string;
    return changed?.has(id) ? patchView(view[prevIndex], own(before, id), own(patch, id) as Json, own(after, id) as Json) : (view[prevIndex] as Json);
  };
  const orderPatch = own(patch, ORDER);
  const out: Json[] = new Array<Json>(afterOrder.length);
  if (orderPatch === undefined) {
    for (let i = 0; i < afterOrder.length; i++) out[i] = element(i);
    return out;
  }
  if (!Array.isArray(orderPatch)) return decode(after) as Json[];
  let j = 0;
  for (const item of orderPatch) {
    if (typeof item === 'string') {
      // A new element, or a single reused position the producer sent as its id: decode just that one.
      out[j++] = decode(own(after, item) as Json);
      continue;
    }
    const [start, end] = item as [number, number];
    for (let i = start; i <= end; i++) out[j++] = element(i);
  }
  return out;
}

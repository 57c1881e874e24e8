/**
 * @module set-hash
 * The name of a member set: the first 8 bytes (16 hex digits) of SHA-256 over the sorted ids,
 * each followed by '\n'. Every implementation must produce the golden vectors in
 * set-hash.test.ts, or two sidecars that agree on the set would never find the 3-message path.
 * Ids therefore must not contain '\n' (`assertMemberId`).
 */
import { createHash } from 'node:crypto';

export function setHash(sortedIds: readonly string[]): string {
  const h = createHash('sha256');
  for (const id of sortedIds) h.update(id + '\n', 'utf8');
  return h.digest('hex').slice(0, 16);
}

/** Sorts by UTF-16 code units (JS default), the order every member uses for positions. */
export function sortIds(ids: Iterable<string>): string[] {
  return [...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

export function assertMemberId(id: string): void {
  if (id.length === 0 || id.length > 200 || /[\n\r]/.test(id)) throw new RangeError(`bad member id ${JSON.stringify(id)}`);
}

/** @module doc-ref — the address of one document: a space and a key within it. */
export interface DocRef { space: string; key: string }

/** A map key for a document that no two (space, key) pairs share (a separator could appear in either). */
export function docRefKey(ref: DocRef): string {
  return JSON.stringify([ref.space, ref.key]);
}

/** @module doc-ref — the address of one document: a space and a key within it. */
export interface DocRef { space: string; key: string }

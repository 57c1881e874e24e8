/** @module json — the JSON value type used at every boundary. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export function isJsonObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Strings PostgreSQL's jsonb cannot store: a lone UTF-16 surrogate (half of an emoji, say) or
 * U+0000. JSON text can carry both as escapes; a client frame, a create argument, a token claim
 * or a space's own output holding one is refused alone with STRING_NOT_WELL_FORMED, before it can
 * fail a storage batch that other documents share.
 */
export function isStorableString(s: string): boolean {
  return s.isWellFormed() && !s.includes('\u0000');
}

/** The path of the first string (or object key) in `v` that is not storable, or undefined. Iterative: any depth. */
export function findUnstorableString(v: unknown): string | undefined {
  const stack: [unknown, string][] = [[v, '$']];
  while (stack.length > 0) {
    const [x, path] = stack.pop()!;
    if (typeof x === 'string') { if (!isStorableString(x)) return path; continue; }
    if (typeof x !== 'object' || x === null) continue;
    if (Array.isArray(x)) { for (let i = x.length - 1; i >= 0; i--) stack.push([x[i], `${path}[${i}]`]); continue; }
    for (const [k, c] of Object.entries(x)) {
      if (!isStorableString(k)) return `${path}.<key>`;
      stack.push([c, `${path}.${k}`]);
    }
  }
  return undefined;
}

/**
 * False only if JSON `text` cannot hold an unstorable string: in valid JSON both kinds arrive as
 * `\u` escapes (raw U+0000 is not allowed, and UTF-8 cannot encode a lone surrogate), so a frame
 * without such an escape needs no walk. A cheap scan in front of `findUnstorableString`.
 */
export function mayHoldUnstorableEscape(text: string): boolean {
  return /\\u(?:0000|[dD][89a-fA-F])/.test(text);
}

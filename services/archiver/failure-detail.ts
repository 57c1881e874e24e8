/**
 * @module failure-detail
 * Archive and object-store failures carry two texts (issue 18.14): the AdamaError's message, which
 * can reach a client and therefore names no bucket, object key, path or endpoint, and the internal
 * detail in its `cause` chain, which goes only to logs and to the admin Inspect.
 */
import { AdamaError, E, isAdamaError, type ErrorEntry } from '../shared/errors';

/** A coded error whose message is safe for clients; `detail` (and `cause`) stay server-side. */
export function neutralError(entry: ErrorEntry, message: string, detail: string, cause?: unknown): AdamaError {
  return new AdamaError(entry, message, { cause: new Error(detail, cause === undefined ? undefined : { cause }) });
}

/** The registry code to log for anything thrown (INTERNAL for an uncoded error). */
export function errorCode(err: unknown): number {
  return isAdamaError(err) ? err.entry.code : E.INTERNAL.code;
}

/** The internal detail of a failure for the log: its cause chain, innermost last; never for a client. */
export function errorDetail(err: unknown): string | undefined {
  const parts: string[] = [];
  let c = (err as { cause?: unknown } | undefined)?.cause;
  for (let i = 0; c !== undefined && c !== null && i < 5; i++) {
    parts.push(c instanceof Error ? c.message : String(c));
    c = (c as { cause?: unknown }).cause;
  }
  return parts.length > 0 ? parts.join(' <- ') : undefined;
}

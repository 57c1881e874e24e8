/**
 * @module client-errors
 * client-node throws `ApiException { code, body }` with the body as the raw response text; this
 * reads the Status out of it so tests (and the operator's own error handling tests) can assert on
 * `reason` and `details` rather than on message strings.
 */
import type { Status } from './errors';
import { isObject } from './json';

/** The Status a failed client-node call carried, or undefined when it was not an API error. */
export function statusOf(e: unknown): Status | undefined {
  if (!isObject(e) && !(e instanceof Error)) return undefined;
  const body = (e as { body?: unknown }).body;
  let parsed: unknown = body;
  if (typeof body === 'string') {
    try { parsed = JSON.parse(body); } catch { return undefined; }
  }
  return isObject(parsed) && parsed['kind'] === 'Status' ? (parsed as unknown as Status) : undefined;
}

/** Awaits a call that must fail, returning its Status (throws when it succeeded or failed otherwise). */
export async function expectStatus(call: Promise<unknown>): Promise<Status> {
  let result: unknown;
  try {
    result = await call;
  } catch (e) {
    const s = statusOf(e);
    if (!s) throw e;
    return s;
  }
  throw new Error(`expected the call to fail, it returned ${JSON.stringify(result)}`);
}

/**
 * @module timing
 * The benchmark's clock (performance.now(), fractional milliseconds) and a timeout wrapper, so a
 * stalled send or delta becomes a reported error instead of a hung run.
 */
import { performance } from 'node:perf_hooks';

export const nowMs = (): number => performance.now();

export class BenchTimeout extends Error {
  constructor(what: string, timeoutMs: number) { super(`${what}: no answer within ${timeoutMs} ms`); this.name = 'BenchTimeout'; }
}

/** Resolves or rejects like `promise`, or rejects with BenchTimeout after `timeoutMs`. */
export function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new BenchTimeout(what, timeoutMs)), timeoutMs); });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** One-line description of an error for the report. */
export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return code === undefined ? `${err.name}: ${err.message}` : `${err.name} ${String(code)}: ${err.message}`;
  }
  return String(err);
}

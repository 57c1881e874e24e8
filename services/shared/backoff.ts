/**
 * @module backoff
 * The one retry-delay rule of the code base: the wait after the n-th failure (n counted from 0)
 * is `baseMs * 2^n`, capped at `maxMs`; full jitter, where a crowd of clients must not retry in
 * step, draws uniformly below that. Pure and free of Node APIs (the browser SDK uses it too).
 */

/** `baseMs * 2^attempt`, at most `maxMs` (attempt 0: baseMs). Large attempts do not overflow. */
export function backoffMs(attempt: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** Math.min(Math.max(0, attempt), 30));
}

/** Full jitter: uniform in [0, backoffMs(attempt, baseMs, maxMs)). `random` is for tests. */
export function jitteredBackoffMs(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  return random() * backoffMs(attempt, baseMs, maxMs);
}

/**
 * @module token-bucket
 * Token-bucket arithmetic as a pure function (docs/architecture.md §11.1): a bucket holds up to `burst` tokens and
 * refills at `perSec` tokens per second; a request costing `cost` passes when that many tokens are
 * there. The Redis Lua script (redis-rate-limiter.ts) is the same arithmetic on Redis time, so
 * local and shared buckets behave alike.
 */

export interface BucketLimit {
  /** Sustained rate: tokens added per second. */
  readonly perSec: number;
  /** Capacity: how many requests may pass at once after a quiet period. */
  readonly burst: number;
}

export interface BucketState { readonly tokens: number; readonly atMs: number }

export interface TakeResult {
  readonly allowed: boolean;
  /** 0 when allowed; otherwise how long until `cost` tokens will be there (ms, rounded up). */
  readonly retryAfterMs: number;
}

/** Refills `state` up to `nowMs`, then takes `cost` tokens if they are there. An unknown bucket starts full. */
export function takeFromBucket(state: BucketState | undefined, limit: BucketLimit, cost: number, nowMs: number): { state: BucketState; result: TakeResult } {
  const elapsedMs = state ? Math.max(0, nowMs - state.atMs) : 0;
  const tokens = state ? Math.min(limit.burst, state.tokens + (elapsedMs * limit.perSec) / 1000) : limit.burst;
  if (tokens >= cost) return { state: { tokens: tokens - cost, atMs: nowMs }, result: { allowed: true, retryAfterMs: 0 } };
  const retryAfterMs = Math.max(1, Math.ceil(((cost - tokens) * 1000) / limit.perSec));
  return { state: { tokens, atMs: nowMs }, result: { allowed: false, retryAfterMs } };
}

/** True when the bucket has refilled completely by `nowMs`, so forgetting it changes nothing. */
export function isBucketFull(state: BucketState, limit: BucketLimit, nowMs: number): boolean {
  return state.tokens + ((nowMs - state.atMs) * limit.perSec) / 1000 >= limit.burst;
}

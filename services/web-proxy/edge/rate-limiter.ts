/**
 * @module rate-limiter
 * The narrow interface every rate limiter implements: local buckets, Redis buckets, and the
 * resilient pair. The limit travels with each call so that one limiter (and one Lua script)
 * serves every bucket kind, and a changed limit applies at once without migrating keys.
 */
import type { BucketLimit, TakeResult } from './token-bucket';

export type { BucketLimit, TakeResult } from './token-bucket';

export interface RateLimiter {
  /** Takes `cost` tokens from `bucket` (e.g. `msg:p:jwt:alice`); never throws for a denial. */
  take(bucket: string, cost: number, limit: BucketLimit): Promise<TakeResult>;
  close(): Promise<void>;
}

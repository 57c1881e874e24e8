/**
 * @module local-rate-limiter
 * Token buckets in this process's memory: the limiter of `adama dev`, and the fallback when Redis
 * is unreachable. Bounded: past `maxBuckets` entries, buckets that have refilled completely are
 * forgotten (they would start full anyway), then the oldest ones.
 */
import type { Clock } from '../../shared/clock';
import type { RateLimiter } from './rate-limiter';
import { isBucketFull, takeFromBucket, type BucketLimit, type BucketState, type TakeResult } from './token-bucket';

export class LocalRateLimiter implements RateLimiter {
  private readonly buckets = new Map<string, { state: BucketState; limit: BucketLimit }>();

  constructor(private readonly clock: Pick<Clock, 'nowMs'>, private readonly maxBuckets = 100_000) {}

  get size(): number { return this.buckets.size; }

  async take(bucket: string, cost: number, limit: BucketLimit): Promise<TakeResult> {
    return this.takeNow(bucket, cost, limit);
  }

  /** Synchronous form, for callers that must not yield. */
  takeNow(bucket: string, cost: number, limit: BucketLimit): TakeResult {
    const nowMs = this.clock.nowMs();
    const { state, result } = takeFromBucket(this.buckets.get(bucket)?.state, limit, cost, nowMs);
    this.buckets.delete(bucket); // re-insert so Map order is least-recently-used first
    this.buckets.set(bucket, { state, limit });
    if (this.buckets.size > this.maxBuckets) this.evict(nowMs);
    return result;
  }

  async close(): Promise<void> { this.buckets.clear(); }

  private evict(nowMs: number): void {
    for (const [key, b] of this.buckets) if (isBucketFull(b.state, b.limit, nowMs)) this.buckets.delete(key);
    for (const key of this.buckets.keys()) {
      if (this.buckets.size <= this.maxBuckets) break;
      this.buckets.delete(key);
    }
  }
}

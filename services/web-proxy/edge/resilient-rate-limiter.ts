/**
 * @module resilient-rate-limiter
 * Redis first; while Redis is unreachable (not connected, an error, a timeout) each decision is
 * made on this process's own buckets (fail-open, the default: limits hold per proxy, so N proxies
 * admit up to N times the shared limit) or every request is refused with a retry hint
 * (fail-closed). The switch is logged once each way and shown by `adama_rate_limiter_degraded`;
 * when ioredis reconnects, shared limits apply again with no action from anyone.
 */
import type { Logger } from '../../shared/log';
import type { UpDownOf } from '../../shared/telemetry';
import type { RateLimiter } from './rate-limiter';
import type { BucketLimit, TakeResult } from './token-bucket';

export type FailMode = 'open' | 'closed';

/** What fail-closed tells clients to wait: long enough not to hammer a proxy whose Redis is down. */
export const FAIL_CLOSED_RETRY_MS = 1_000;

export interface SharedLimiter extends RateLimiter { ready(): boolean }

export interface ResilientRateLimiterOptions {
  primary: SharedLimiter;
  fallback: RateLimiter;
  failMode: FailMode;
  log: Logger;
  /** `adama_rate_limiter_degraded`: +1 when falling back, -1 when recovered. */
  degraded: UpDownOf;
}

export class ResilientRateLimiter implements RateLimiter {
  private degradedSince: number | null = null;

  constructor(private readonly o: ResilientRateLimiterOptions) {}

  get isDegraded(): boolean { return this.degradedSince !== null; }

  async take(bucket: string, cost: number, limit: BucketLimit): Promise<TakeResult> {
    if (this.o.primary.ready()) {
      try {
        const result = await this.o.primary.take(bucket, cost, limit);
        this.setHealthy();
        return result;
      } catch (err) {
        this.setDegraded(err instanceof Error ? err.message : String(err));
      }
    } else {
      this.setDegraded('redis is not connected');
    }
    if (this.o.failMode === 'closed') return { allowed: false, retryAfterMs: FAIL_CLOSED_RETRY_MS };
    return this.o.fallback.take(bucket, cost, limit);
  }

  /** Connection news from the Redis client, so the metric and log follow Redis even without traffic. */
  primaryStatus(ready: boolean): void {
    if (ready) this.setHealthy();
    else this.setDegraded('redis connection closed');
  }

  async close(): Promise<void> {
    if (this.degradedSince !== null) this.o.degraded.add(-1);
    this.degradedSince = null;
    await Promise.all([this.o.primary.close(), this.o.fallback.close()]);
  }

  private setDegraded(reason: string): void {
    if (this.degradedSince !== null) return;
    this.degradedSince = Date.now();
    this.o.degraded.add(1);
    this.o.log.warn({ reason, failMode: this.o.failMode }, 'ratelimit.degraded');
  }

  private setHealthy(): void {
    if (this.degradedSince === null) return;
    const ms = Date.now() - this.degradedSince;
    this.degradedSince = null;
    this.o.degraded.add(-1);
    this.o.log.info({ ms }, 'ratelimit.recovered');
  }
}

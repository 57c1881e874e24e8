/**
 * @module redis-rate-limiter
 * Token buckets in Redis, shared by every proxy: one Lua script refills and takes atomically on
 * Redis's own clock (TIME), so proxies with skewed clocks still share one limit. Called with
 * EVALSHA; a Redis that does not know the script yet (restart, failover, SCRIPT FLUSH) answers
 * NOSCRIPT and the call is repeated once with EVAL, which also caches it. Keys expire once the
 * bucket would be full again, so idle principals cost no memory.
 *
 * The client never queues: with Redis down a call fails at once (or after `commandTimeoutMs`)
 * and `ResilientRateLimiter` decides what to do.
 */
import { createHash } from 'node:crypto';
import Redis from 'ioredis';
import type { Logger } from '../../shared/log';
import type { RateLimiter } from './rate-limiter';
import type { BucketLimit, TakeResult } from './token-bucket';

/** KEYS[1] bucket; ARGV perSec, burst, cost. Returns {allowed 0|1, retryAfterMs}. Same arithmetic as token-bucket.ts. */
export const TOKEN_BUCKET_LUA = `
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local v = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(v[1])
local at = tonumber(v[2])
if tokens == nil or at == nil then
  tokens = burst
elseif now > at then
  tokens = math.min(burst, tokens + (now - at) * rate / 1000)
end
local allowed = 0
local retry = 0
if tokens >= cost then
  tokens = tokens - cost
  allowed = 1
else
  retry = math.max(1, math.ceil((cost - tokens) * 1000 / rate))
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 1000)
return {allowed, retry}
`;
const SCRIPT_SHA = createHash('sha1').update(TOKEN_BUCKET_LUA).digest('hex');

export interface RedisRateLimiterOptions {
  url: string;
  /** Prefix of every key, e.g. `adama:rl:`; tests use a unique one per run. */
  keyPrefix: string;
  log: Logger;
  /** A call slower than this fails (and the resilient limiter falls back), so Redis trouble never stalls clients. */
  commandTimeoutMs?: number;
  /** Told about every connection state change, so the resilient limiter can recover without waiting for a call. */
  onStatus?(ready: boolean): void;
}

export class RedisRateLimiter implements RateLimiter {
  private readonly redis: Redis;

  constructor(private readonly o: RedisRateLimiterOptions) {
    this.redis = new Redis(o.url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: o.commandTimeoutMs ?? 250,
      connectTimeout: 1_000,
      // Keep trying for ever, at most once a second: the limiter recovers by itself when Redis returns.
      retryStrategy: (attempt) => Math.min(1_000, 50 * attempt),
    });
    // ioredis reports connection errors as events; without a listener they would be printed raw.
    this.redis.on('error', (err: Error) => o.log.debug({ err: err.message }, 'ratelimit.redis_error'));
    this.redis.on('ready', () => o.onStatus?.(true));
    this.redis.on('close', () => o.onStatus?.(false));
  }

  /** True while the connection is up; calls made otherwise fail immediately. */
  ready(): boolean { return this.redis.status === 'ready'; }

  async take(bucket: string, cost: number, limit: BucketLimit): Promise<TakeResult> {
    const key = this.o.keyPrefix + bucket;
    const args = [limit.perSec, limit.burst, cost];
    let reply: unknown;
    try {
      reply = await this.redis.evalsha(SCRIPT_SHA, 1, key, ...args);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      reply = await this.redis.eval(TOKEN_BUCKET_LUA, 1, key, ...args);
    }
    if (!Array.isArray(reply) || typeof reply[0] !== 'number' || typeof reply[1] !== 'number') throw new Error('unexpected reply from the token-bucket script');
    return { allowed: reply[0] === 1, retryAfterMs: reply[1] };
  }

  async close(): Promise<void> {
    this.redis.disconnect(false);
  }
}

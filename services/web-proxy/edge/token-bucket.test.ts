import { isBucketFull, takeFromBucket } from './token-bucket';
import { LocalRateLimiter } from './local-rate-limiter';

const limit = { perSec: 10, burst: 5 };

describe('takeFromBucket', () => {
  it('starts a new bucket full and lets a burst through', () => {
    let state;
    for (let i = 0; i < 5; i++) {
      const r = takeFromBucket(state, limit, 1, 1000);
      expect(r.result.allowed).toBe(true);
      state = r.state;
    }
    expect(state!.tokens).toBe(0);
  });

  it('refuses past the burst with the time until a token is back', () => {
    const empty = { tokens: 0, atMs: 1000 };
    expect(takeFromBucket(empty, limit, 1, 1000).result).toEqual({ allowed: false, retryAfterMs: 100 });
    expect(takeFromBucket(empty, limit, 1, 1050).result).toEqual({ allowed: false, retryAfterMs: 50 });
    expect(takeFromBucket(empty, limit, 1, 1100).result.allowed).toBe(true);
  });

  it('never refills above the burst', () => {
    const r = takeFromBucket({ tokens: 1, atMs: 0 }, limit, 1, 60_000);
    expect(r.state.tokens).toBe(4);
  });

  it('ignores a clock that went backwards', () => {
    const r = takeFromBucket({ tokens: 0.5, atMs: 2000 }, limit, 1, 1000);
    expect(r.result.allowed).toBe(false);
    expect(r.state.tokens).toBe(0.5);
  });

  it('knows when a bucket is full again', () => {
    expect(isBucketFull({ tokens: 0, atMs: 0 }, limit, 499)).toBe(false);
    expect(isBucketFull({ tokens: 0, atMs: 0 }, limit, 500)).toBe(true);
  });
});

describe('LocalRateLimiter', () => {
  it('keeps one bucket per name on a fake clock', async () => {
    let now = 0;
    const l = new LocalRateLimiter({ nowMs: () => now });
    for (let i = 0; i < 5; i++) expect((await l.take('a', 1, limit)).allowed).toBe(true);
    expect(await l.take('a', 1, limit)).toEqual({ allowed: false, retryAfterMs: 100 });
    expect((await l.take('b', 1, limit)).allowed).toBe(true);
    now += 100;
    expect((await l.take('a', 1, limit)).allowed).toBe(true);
  });

  it('stays bounded by forgetting full buckets first, then the oldest', async () => {
    let now = 0;
    const l = new LocalRateLimiter({ nowMs: () => now }, 3);
    for (const k of ['a', 'b', 'c']) await l.take(k, 5, limit);
    now += 1000; // a, b, c are full again
    await l.take('d', 5, limit);
    expect(l.size).toBeLessThanOrEqual(3);
    for (const k of ['e', 'f', 'g', 'h']) await l.take(k, 5, limit);
    expect(l.size).toBeLessThanOrEqual(3);
  });
});

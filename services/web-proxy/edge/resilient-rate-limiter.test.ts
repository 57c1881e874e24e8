import { silentLogger } from '../../shared/log';
import { LocalRateLimiter } from './local-rate-limiter';
import { FAIL_CLOSED_RETRY_MS, ResilientRateLimiter, type SharedLimiter } from './resilient-rate-limiter';

/** A Redis stand-in whose health the test switches. */
class FakeShared implements SharedLimiter {
  up = true;
  failing = false;
  calls = 0;
  ready(): boolean { return this.up; }
  async take() {
    this.calls++;
    if (this.failing) throw new Error('Command timed out');
    return { allowed: true, retryAfterMs: 0 };
  }
  async close() {}
}

const limit = { perSec: 1, burst: 2 };
const gauge = () => { const g = { value: 0, add: (d: number) => { g.value += d; } }; return g; };

describe('ResilientRateLimiter', () => {
  it('uses the shared limiter while it is up', async () => {
    const shared = new FakeShared();
    const degraded = gauge();
    const r = new ResilientRateLimiter({ primary: shared, fallback: new LocalRateLimiter({ nowMs: () => 0 }), failMode: 'open', log: silentLogger, degraded });
    for (let i = 0; i < 5; i++) expect((await r.take('x', 1, limit)).allowed).toBe(true);
    expect(shared.calls).toBe(5);
    expect(degraded.value).toBe(0);
  });

  it('fails open onto local buckets when the shared limiter errors, shows it, and recovers', async () => {
    const shared = new FakeShared();
    const degraded = gauge();
    const r = new ResilientRateLimiter({ primary: shared, fallback: new LocalRateLimiter({ nowMs: () => 0 }), failMode: 'open', log: silentLogger, degraded });
    shared.failing = true;
    expect((await r.take('x', 1, limit)).allowed).toBe(true);
    expect((await r.take('x', 1, limit)).allowed).toBe(true);
    expect(await r.take('x', 1, limit)).toEqual({ allowed: false, retryAfterMs: 1000 });
    expect(r.isDegraded).toBe(true);
    expect(degraded.value).toBe(1);
    shared.failing = false;
    expect((await r.take('x', 1, limit)).allowed).toBe(true);
    expect(r.isDegraded).toBe(false);
    expect(degraded.value).toBe(0);
  });

  it('does not even try a disconnected Redis, and follows its connection news', async () => {
    const shared = new FakeShared();
    shared.up = false;
    const degraded = gauge();
    const r = new ResilientRateLimiter({ primary: shared, fallback: new LocalRateLimiter({ nowMs: () => 0 }), failMode: 'open', log: silentLogger, degraded });
    await r.take('x', 1, limit);
    expect(shared.calls).toBe(0);
    expect(degraded.value).toBe(1);
    r.primaryStatus(true);
    expect(degraded.value).toBe(0);
    r.primaryStatus(false);
    r.primaryStatus(false);
    expect(degraded.value).toBe(1);
  });

  it('fails closed with a retry hint when configured so', async () => {
    const shared = new FakeShared();
    shared.failing = true;
    const r = new ResilientRateLimiter({ primary: shared, fallback: new LocalRateLimiter({ nowMs: () => 0 }), failMode: 'closed', log: silentLogger, degraded: gauge() });
    expect(await r.take('x', 1, limit)).toEqual({ allowed: false, retryAfterMs: FAIL_CLOSED_RETRY_MS });
  });
});

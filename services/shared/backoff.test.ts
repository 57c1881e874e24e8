import { backoffMs, jitteredBackoffMs } from './backoff';

describe('backoff', () => {
  it('doubles from the base per attempt and stops at the cap, without overflowing', () => {
    expect([0, 1, 2, 3, 4].map((n) => backoffMs(n, 100, 1_000))).toEqual([100, 200, 400, 800, 1_000]);
    expect(backoffMs(10_000, 100, 5_000)).toBe(5_000);
    expect(backoffMs(-3, 100, 5_000)).toBe(100);
  });

  it('full jitter stays below the capped delay', () => {
    expect(jitteredBackoffMs(3, 100, 1_000, () => 0.5)).toBe(400);
    expect(jitteredBackoffMs(20, 100, 1_000, () => 0.999)).toBeLessThan(1_000);
  });
});

import { FakeClock } from '../../services/shared/clock';
import { WorkQueue } from '../../operator/runtime/work-queue';

describe('WorkQueue', () => {
  test('coalesces adds of a queued key and hands keys out in order', async () => {
    const q = new WorkQueue(new FakeClock());
    q.add('a'); q.add('b'); q.add('a');
    expect(q.depth).toBe(2);
    expect(await q.get()).toBe('a');
    expect(await q.get()).toBe('b');
    expect(q.depth).toBe(0);
  });

  test('a key re-added while it is processed runs again only after done, never twice at once', async () => {
    const q = new WorkQueue(new FakeClock());
    q.add('a');
    const first = await q.get();
    q.add('a'); q.add('a');
    expect(q.depth).toBe(0);
    let second: string | undefined;
    void q.get().then((k) => { second = k; });
    await Promise.resolve();
    expect(second).toBeUndefined();
    q.done(first!);
    await Promise.resolve();
    expect(second).toBe('a');
  });

  test('addAfter waits for the clock, and the earliest of two delays wins', async () => {
    const clock = new FakeClock();
    const q = new WorkQueue(clock);
    q.addAfter('a', 1000);
    q.addAfter('a', 300);
    q.addAfter('a', 5000);
    clock.advance(299);
    expect(q.depth).toBe(0);
    clock.advance(1);
    expect(q.depth).toBe(1);
    expect(await q.get()).toBe('a');
    q.done('a');
    clock.advance(10_000);
    expect(q.depth).toBe(0);
  });

  test('per-key backoff doubles up to the cap and forget starts it over', () => {
    const q = new WorkQueue(new FakeClock(), { baseMs: 100, maxMs: 500 });
    expect([1, 2, 3, 4, 5].map(() => q.addRateLimited('a'))).toEqual([100, 200, 400, 500, 500]);
    expect(q.addRateLimited('b')).toBe(100);
    q.forget('a');
    expect(q.addRateLimited('a')).toBe(100);
  });

  test('shutDown releases waiting workers and refuses new keys', async () => {
    const clock = new FakeClock();
    const q = new WorkQueue(clock);
    const waiting = q.get();
    q.addAfter('late', 100);
    q.shutDown();
    await expect(waiting).resolves.toBeUndefined();
    q.add('x');
    clock.advance(1000);
    expect(q.depth).toBe(0);
    await expect(q.get()).resolves.toBeUndefined();
  });

  test('reports its depth as it changes', () => {
    const depths: number[] = [];
    const q = new WorkQueue(new FakeClock(), undefined, (d) => depths.push(d));
    q.add('a'); q.add('b');
    void q.get();
    expect(depths).toEqual([1, 2, 1]);
  });
});

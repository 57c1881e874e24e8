/**
 * @module work-queue
 * The controller's queue of keys (`namespace/name`), with client-go's guarantees:
 * - a key is queued at most once however often it is added (events coalesce);
 * - a key is handed to one worker at a time; re-added while processing, it runs again after `done`;
 * - `addAfter` delays a key (requeue-after); `addRateLimited` delays it by a per-key exponential
 *   backoff that `forget` resets after a success.
 * Time comes from a `Clock`, so tests drive it with a FakeClock.
 */
import type { Clock, TimerHandle } from '../../services/shared/clock';
import { backoffMs } from '../../services/shared/backoff';

export interface BackoffConfig {
  baseMs: number;
  maxMs: number;
}

/** client-go's default per-item limiter is 5 ms … 1000 s; a reconcile is heavier, so start at 500 ms and stop at 5 min. */
export const DEFAULT_BACKOFF: BackoffConfig = { baseMs: 500, maxMs: 300_000 };

export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly delayed = new Map<string, { at: number; timer: TimerHandle }>();
  private readonly waiters: ((key: string | undefined) => void)[] = [];
  private shuttingDown = false;

  constructor(private readonly clock: Clock, private readonly backoff: BackoffConfig = DEFAULT_BACKOFF, private readonly onDepth?: (depth: number) => void) {}

  add(key: string): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.dirty.add(key);
    if (this.processing.has(key)) return; // `done` queues it again
    const waiter = this.waiters.shift();
    if (waiter) {
      this.dirty.delete(key);
      this.processing.add(key);
      waiter(key);
      return;
    }
    this.queue.push(key);
    this.onDepth?.(this.queue.length);
  }

  /** Adds `key` after `ms`; an earlier pending delay for the same key wins. */
  addAfter(key: string, ms: number): void {
    if (this.shuttingDown) return;
    if (ms <= 0) { this.add(key); return; }
    const at = this.clock.nowMs() + ms;
    const pending = this.delayed.get(key);
    if (pending && pending.at <= at) return;
    if (pending) this.clock.clearTimeout(pending.timer);
    const timer = this.clock.setTimeout(() => { this.delayed.delete(key); this.add(key); }, ms);
    this.delayed.set(key, { at, timer });
  }

  /** Requeues after this key's next backoff: base · 2^(failures) capped at max. Returns the delay. */
  addRateLimited(key: string): number {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    const delay = backoffMs(n, this.backoff.baseMs, this.backoff.maxMs);
    this.addAfter(key, delay);
    return delay;
  }

  /** A success: the key's backoff starts over. */
  forget(key: string): void {
    this.failures.delete(key);
  }

  failuresOf(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  /** The next key to process; undefined once shut down. Call `done(key)` when finished. */
  get(): Promise<string | undefined> {
    const key = this.queue.shift();
    if (key !== undefined) {
      this.dirty.delete(key);
      this.processing.add(key);
      this.onDepth?.(this.queue.length);
      return Promise.resolve(key);
    }
    if (this.shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  done(key: string): void {
    this.processing.delete(key);
    if (this.dirty.has(key)) {
      this.dirty.delete(key);
      this.add(key);
    }
  }

  get depth(): number {
    return this.queue.length;
  }

  /** Stops handing out keys; waiting workers get undefined. Keys in flight finish normally. */
  shutDown(): void {
    this.shuttingDown = true;
    for (const { timer } of this.delayed.values()) this.clock.clearTimeout(timer);
    this.delayed.clear();
    for (const waiter of this.waiters.splice(0)) waiter(undefined);
  }
}

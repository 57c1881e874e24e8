/**
 * @module clock
 * Time and timers passed in, so pure cores and their tests never touch the wall clock.
 */
export interface Clock {
  nowMs(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}
export interface TimerHandle { readonly id: number }

export const systemClock: Clock = (() => {
  const timers = new Map<number, NodeJS.Timeout>();
  let next = 1;
  return {
    nowMs: () => Date.now(),
    setTimeout(fn, ms) {
      const id = next++;
      const t = setTimeout(() => { timers.delete(id); fn(); }, ms);
      t.unref?.();
      timers.set(id, t);
      return { id };
    },
    clearTimeout(h) {
      const t = timers.get(h.id);
      if (t) { clearTimeout(t); timers.delete(h.id); }
    },
  };
})();

/** A clock for tests: time moves only when `advance` is called; due timers fire in order. */
export class FakeClock implements Clock {
  private now: number;
  private next = 1;
  private readonly timers = new Map<number, { at: number; fn: () => void }>();
  constructor(startMs = 0) { this.now = startMs; }
  nowMs(): number { return this.now; }
  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = this.next++;
    this.timers.set(id, { at: this.now + Math.max(0, ms), fn });
    return { id };
  }
  clearTimeout(h: TimerHandle): void { this.timers.delete(h.id); }
  advance(ms: number): void {
    const target = this.now + ms;
    for (;;) {
      let dueId = -1; let dueAt = Infinity;
      for (const [id, t] of this.timers) if (t.at <= target && t.at < dueAt) { dueAt = t.at; dueId = id; }
      if (dueId < 0) break;
      const t = this.timers.get(dueId)!;
      this.timers.delete(dueId);
      this.now = t.at;
      t.fn();
    }
    this.now = target;
  }
}

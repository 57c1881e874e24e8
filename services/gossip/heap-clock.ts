/**
 * @module heap-clock
 * A fake clock for the simulation: time moves only in `advance`/`runUntil`, due timers fire in
 * time order (ties in scheduling order), in O(log n) each. The shared FakeClock scans every timer
 * per fire, which is fine for a test and too slow for 1000 members' timers and messages.
 */
import type { Clock, TimerHandle } from '../shared/clock';

interface Timer { at: number; seq: number; id: number; fn: () => void }

export class HeapClock implements Clock {
  private now: number;
  private seq = 0;
  private readonly heap: Timer[] = [];
  private readonly cancelled = new Set<number>();
  constructor(startMs = 0) { this.now = startMs; }

  nowMs(): number { return this.now; }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const t: Timer = { at: this.now + Math.max(0, ms), seq: this.seq++, id: this.seq, fn };
    this.heap.push(t);
    this.up(this.heap.length - 1);
    return { id: t.id };
  }

  clearTimeout(h: TimerHandle): void { this.cancelled.add(h.id); }

  /** Fires every timer due up to now + ms (including timers they schedule), then sets now there. */
  advance(ms: number): void { this.runUntil(this.now + ms); }

  runUntil(targetMs: number, stop: () => boolean = () => false): void {
    while (this.heap.length > 0 && this.heap[0]!.at <= targetMs) {
      const t = this.pop();
      if (this.cancelled.delete(t.id)) continue;
      this.now = t.at;
      t.fn();
      if (stop()) return;
    }
    this.now = targetMs;
  }

  private less(a: Timer, b: Timer): boolean { return a.at < b.at || (a.at === b.at && a.seq < b.seq); }

  private up(i: number): void {
    const h = this.heap;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  private pop(): Timer {
    const h = this.heap;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      for (let i = 0; ;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < h.length && this.less(h[l]!, h[m]!)) m = l;
        if (r < h.length && this.less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}

/**
 * @module timer-tracker
 * Proves "close() leaves no timer behind" without fake timers: wraps the global setTimeout and
 * setInterval so that every timer created directly by a file matching `from` is recorded until it fires
 * or is cleared. Real sockets and real time keep working; `restore()` puts the globals back.
 */
export interface TimerTracker {
  /** Timers created from a matching file that have neither fired nor been cleared. */
  active(): number;
  restore(): void;
}

export function trackTimers(from: RegExp): TimerTracker {
  const live = new Set<unknown>();
  const orig = { setTimeout: global.setTimeout, clearTimeout: global.clearTimeout, setInterval: global.setInterval, clearInterval: global.clearInterval };
  // The direct caller only (the first frame outside this file): a library timer set deeper in a
  // call that started in `from` (ws's close timeout, say) belongs to the library.
  const matches = (): boolean => {
    const caller = (new Error().stack ?? '').split('\n').slice(1).find((line) => !line.includes('timer-tracker'));
    return caller !== undefined && from.test(caller);
  };
  global.setTimeout = ((fn: (...a: unknown[]) => void, ms?: number, ...args: unknown[]) => {
    const tracked = matches();
    const handle: unknown = orig.setTimeout((...a: unknown[]) => { live.delete(handle); fn(...a); }, ms, ...args);
    if (tracked) live.add(handle);
    return handle;
  }) as typeof setTimeout;
  global.setInterval = ((fn: (...a: unknown[]) => void, ms?: number, ...args: unknown[]) => {
    const handle: unknown = orig.setInterval(fn, ms, ...args);
    if (matches()) live.add(handle);
    return handle;
  }) as typeof setInterval;
  global.clearTimeout = ((h: Parameters<typeof clearTimeout>[0]) => { live.delete(h); orig.clearTimeout(h); }) as typeof clearTimeout;
  global.clearInterval = ((h: Parameters<typeof clearInterval>[0]) => { live.delete(h); orig.clearInterval(h); }) as typeof clearInterval;
  return {
    active: () => live.size,
    restore: () => Object.assign(global, orig),
  };
}

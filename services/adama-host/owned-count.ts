/**
 * @module owned-count
 * The `documents_owned` of the Status RPC: how many `directory` rows name this host. The database
 * decides ownership, so this is what the operator waits to reach 0 before removing a host. Status
 * must answer even when the database does not (an operator or SRE asks exactly then), so a count
 * that fails or is slow yields the best lower bound we have, marked unknown, and a log line.
 */
import type { Logger } from '../shared/log';

export interface OwnedCount {
  owned: number;
  /** False: the count failed or timed out and `owned` is a lower bound, not the truth. */
  known: boolean;
}

export interface OwnedCounterOptions {
  /** The database count (DataService.countByHost for this host). */
  count(): Promise<number>;
  /** A count slower than this is abandoned for this answer (ms); it keeps running in the background. */
  timeoutMs: number;
  log: Logger;
}

/** Bounds one Status call's wait on the database; well under any sensible RPC deadline. */
export const OWNED_COUNT_TIMEOUT_MS = 2_000;

/**
 * Returns a reader: `read(loaded)` counts, or on failure reports max(last successful count,
 * loaded) — every loaded document is bound here, so `loaded` is a floor; the last count is the
 * latest truth we saw. Never rejects.
 */
export function createOwnedCounter(o: OwnedCounterOptions): (loaded: number) => Promise<OwnedCount> {
  let last: number | undefined;
  return async (loaded) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`count took over ${o.timeoutMs} ms`)), o.timeoutMs);
    });
    try {
      last = await Promise.race([o.count(), timeout]);
      return { owned: last, known: true };
    } catch (err) {
      const owned = Math.max(last ?? 0, loaded);
      o.log.warn({ err: (err as Error).message, owned, loaded }, 'status.owned_count_failed');
      return { owned, known: false };
    } finally {
      clearTimeout(timer);
    }
  };
}

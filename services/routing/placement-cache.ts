/**
 * @module placement-cache
 * Where the proxy last found each document (docs/architecture.md §6). Rendezvous hashing is only a
 * guess: a document stays on the host that bound it until that host dies or drains, so after a
 * membership change the guess and the truth differ, and every connect would pay a redirect. The
 * cache remembers the host a redirect pointed to; `route` prefers it while that host is live.
 *
 * Bounded (LRU) because the key space is every document ever opened; invalidated per document
 * (a redirect or a failed connect), per host (it died or drains; a per-host index keeps that
 * proportional to the host's placements, not the cache), or wholesale on a membership change.
 */
import { pickOwner, type RoutingHost } from './rendezvous';

export const placementCacheDefaults = {
  /**
   * Most placements remembered; beyond it the least recently used is dropped. Each costs about
   * 200 bytes of heap (measured: two map entries and the key string), so the default is ~20 MB;
   * a dropped placement costs at most one redirect on the document's next connect.
   */
  capacity: 100_000,
} as const;

export interface PlacementCacheOptions { capacity?: number }

/** `space` and `key` cannot contain NUL (see shared/names), so this key is unambiguous. */
const docKey = (space: string, key: string): string => `${space}\u0000${key}`;

export class PlacementCache {
  readonly capacity: number;
  /** docKey -> hostId; Map iteration order is insertion order, so the first entry is the least recently used. */
  private readonly hostByDoc = new Map<string, string>();
  private readonly docsByHost = new Map<string, Set<string>>();

  constructor(opts: PlacementCacheOptions = {}) {
    const capacity = opts.capacity ?? placementCacheDefaults.capacity;
    if (!(Number.isInteger(capacity) && capacity >= 1)) throw new RangeError(`capacity must be an integer >= 1, got ${capacity}`);
    this.capacity = capacity;
  }

  get size(): number { return this.hostByDoc.size; }

  /** The host `space/key` was last found on, marking it recently used. */
  get(space: string, key: string): string | undefined {
    const doc = docKey(space, key);
    const hostId = this.hostByDoc.get(doc);
    if (hostId !== undefined) { this.hostByDoc.delete(doc); this.hostByDoc.set(doc, hostId); }
    return hostId;
  }

  /** Like `get`, without touching recency (for diagnostics). */
  peek(space: string, key: string): string | undefined {
    return this.hostByDoc.get(docKey(space, key));
  }

  /** Remembers that `space/key` lives on `hostId`, evicting the least recently used placement when full. */
  set(space: string, key: string, hostId: string): void {
    const doc = docKey(space, key);
    this.remove(doc);
    this.hostByDoc.set(doc, hostId);
    let docs = this.docsByHost.get(hostId);
    if (docs === undefined) { docs = new Set(); this.docsByHost.set(hostId, docs); }
    docs.add(doc);
    while (this.hostByDoc.size > this.capacity) this.remove(this.hostByDoc.keys().next().value as string);
  }

  /** Forgets `space/key` (a redirect said otherwise, or its host refused). Returns whether it was cached. */
  invalidate(space: string, key: string): boolean {
    return this.remove(docKey(space, key));
  }

  /** Forgets every placement on `hostId` (it died or drains), in time proportional to those placements. Returns how many. */
  invalidateHost(hostId: string): number {
    const docs = this.docsByHost.get(hostId);
    if (docs === undefined) return 0;
    for (const doc of docs) this.hostByDoc.delete(doc);
    this.docsByHost.delete(hostId);
    return docs.size;
  }

  /** Forgets everything, e.g. on a membership change. */
  clear(): void {
    this.hostByDoc.clear();
    this.docsByHost.clear();
  }

  private remove(doc: string): boolean {
    const hostId = this.hostByDoc.get(doc);
    if (hostId === undefined) return false;
    this.hostByDoc.delete(doc);
    const docs = this.docsByHost.get(hostId);
    docs?.delete(doc);
    if (docs?.size === 0) this.docsByHost.delete(hostId);
    return true;
  }
}

/**
 * The host to try for `space/key`: the cached placement while that host is in `hosts` and not
 * `excluded`, otherwise the highest-ranked rendezvous host not excluded (the owner's successor
 * when the owner is excluded); undefined when none is left. Decides only: it reads the cache
 * through `get` (refreshing recency) and never writes or invalidates; the caller does that
 * after a redirect or a failed connect.
 */
export function route(
  space: string,
  key: string,
  hosts: readonly RoutingHost[],
  cache: Pick<PlacementCache, 'get'>,
  excluded?: ReadonlySet<string>,
): RoutingHost | undefined {
  const cachedId = cache.get(space, key);
  if (cachedId !== undefined && !excluded?.has(cachedId)) {
    const cached = hosts.find((h) => h.id === cachedId);
    if (cached !== undefined) return cached;
  }
  const candidates = excluded !== undefined && excluded.size > 0 ? hosts.filter((h) => !excluded.has(h.id)) : hosts;
  return pickOwner(candidates, space, key);
}

/**
 * @module membership
 * The one interface the proxy's router reads live hosts through, whatever the source: gossip
 * (primary), the `hosts` table leases (fallback), or a fixed list (tests, single process).
 * docs/architecture.md §6: dead hosts leave the routing table, and proxies drop cached placements when
 * membership changes, so sources publish only real changes; `sameMembers` decides what counts.
 */
import type { RoutingHost } from './rendezvous';

export interface Membership {
  /** The hosts to route to now, sorted by id. Never throws; an empty list means "no host known". */
  current(): readonly RoutingHost[];
  /**
   * Calls `listener` with the new host list after each change (never for a poll that found the
   * same set). Returns the function that unsubscribes it.
   */
  onChange(listener: (hosts: readonly RoutingHost[]) => void): () => void;
  /** Stops background work; no listener is called afterwards. Idempotent. */
  close(): Promise<void>;
}

/** Orders by id, then address, then weight: a total order, so equal sets sort identically. */
function byIdThenAddress(a: RoutingHost, b: RoutingHost): number {
  if (a.id !== b.id) return a.id < b.id ? -1 : 1;
  if (a.address !== b.address) return a.address < b.address ? -1 : 1;
  return a.weight < b.weight ? -1 : a.weight > b.weight ? 1 : 0;
}

/** A frozen copy sorted by id (then address), the canonical form every source publishes. */
export function sortHosts(hosts: readonly RoutingHost[]): readonly RoutingHost[] {
  return Object.freeze(hosts.map((h) => Object.freeze({ id: h.id, address: h.address, weight: h.weight })).sort(byIdThenAddress));
}

/**
 * True when both lists name the same hosts with the same addresses and weights, in any order.
 * Weights compare with `Object.is`, so NaN equals NaN and a bad weight cannot cause an endless
 * stream of "changes".
 */
export function sameMembers(a: readonly RoutingHost[], b: readonly RoutingHost[]): boolean {
  if (a.length !== b.length) return false;
  const x = [...a].sort(byIdThenAddress);
  const y = [...b].sort(byIdThenAddress);
  return x.every((h, i) => {
    const o = y[i]!;
    return h.id === o.id && h.address === o.address && Object.is(h.weight, o.weight);
  });
}

/** What changed between two host lists, by id, for logs: `changed` = same id, new address or weight. */
export function diffMembers(before: readonly RoutingHost[], after: readonly RoutingHost[]): { added: string[]; removed: string[]; changed: string[] } {
  const old = new Map(before.map((h) => [h.id, h]));
  const now = new Map(after.map((h) => [h.id, h]));
  const added = [...now.keys()].filter((id) => !old.has(id));
  const removed = [...old.keys()].filter((id) => !now.has(id));
  const changed = [...now.values()].filter((h) => {
    const o = old.get(h.id);
    return o !== undefined && (o.address !== h.address || !Object.is(o.weight, h.weight));
  }).map((h) => h.id);
  return { added, removed, changed };
}

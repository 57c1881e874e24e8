/**
 * @module config
 * Every interval and threshold of the gossip failure detector, in one documented defaults object.
 * The defaults come from `adama gossip simulate` (docs/gossip.md has the table): they detect a
 * dead member at every one of 1000 members within 5 s at 1 % message loss with no false positive.
 */

export interface GossipConfig {
  /**
   * How often a member raises its own heartbeat counter, ms. A counter can only say "alive
   * since then", so this bounds detection precision; lower costs nothing on the wire (the counter
   * travels in the rounds anyway) but makes counters grow faster (larger varints).
   */
  heartbeatIntervalMs: number;
  /**
   * Mean pause between two gossip rounds a member opens, ms. Each round is one exchange with one
   * random peer (3 small messages on the happy path). Lower spreads counters sooner, at the cost
   * of proportionally more bytes and CPU per second.
   */
  gossipIntervalMs: number;
  /** Each round's pause is `gossipIntervalMs * (1 ± jitterRatio)`, so members do not lock step. */
  gossipJitterRatio: number;
  /**
   * A member whose counter has not risen for this long is declared dead and leaves routing, ms.
   * Must be well above the time a counter needs to reach everyone (about 8–10 rounds at 1000
   * members), or slow spread becomes false positives. Lower detects sooner.
   */
  failureTimeoutMs: number;
  /**
   * A member accepts a peer's deletion of X only if its own last sighting of X (its counter last
   * rising) is older than this, ms. Stops one member with a stale view from deleting a live member
   * everywhere; a member that saw X recently waits for its own timeout instead.
   */
  deletionGuardMs: number;
  /**
   * How long a deletion rides along in messages and blocks stale gossip from re-adding the
   * member, ms. Must exceed `failureTimeoutMs` plus the spread time, so that every member has
   * timed the dead one out before the tombstone goes. Costs bytes only just after a change.
   */
  tombstoneTtlMs: number;
  /** Earlier member sets remembered by hash (the chain). More lets lagging peers use the 3-message path after several changes; costs memory of ids per set. */
  historySets: number;
  /** Peers told at once when a member announces its own departure. */
  leaveFanout: number;
  /** Member lists longer than this are refused whole (bounded inbound work). */
  maxMembers: number;
  /**
   * How often a member that knows peers opens one extra round with a seed address none of its
   * members has (a pod it has not met), ms; 0 never. Heals two groups that formed apart (members
   * that started together and found each other first), and costs nothing once every seed address
   * is a member's. Seeds are resolved again at most once per round.
   */
  seedProbeIntervalMs: number;
}

export const gossipDefaults: Readonly<GossipConfig> = Object.freeze({
  heartbeatIntervalMs: 200, // one rise per round: fresher is pointless, rarer delays detection
  gossipIntervalMs: 200, // ~10 rounds spread a counter over 1000 members in about 2 s
  gossipJitterRatio: 0.25,
  failureTimeoutMs: 3_000, // > 1.5x the worst spread measured at 1000 members, 1 % loss
  deletionGuardMs: 1_500, // half the timeout: deletions speed up members that already lag
  tombstoneTtlMs: 8_000, // > failureTimeoutMs + worst spread
  historySets: 8,
  leaveFanout: 3,
  maxMembers: 4_096,
  seedProbeIntervalMs: 2_000, // ten rounds: a split heals within seconds, steady state sends nothing extra
});

/** Checks ranges and the relations between fields; throws a RangeError naming the field. */
export function resolveGossipConfig(overrides: Partial<GossipConfig> = {}): Readonly<GossipConfig> {
  for (const key of Object.keys(overrides)) {
    if (!(key in gossipDefaults)) throw new RangeError(`unknown gossip config field ${key}`);
  }
  const c: GossipConfig = { ...gossipDefaults, ...overrides };
  for (const [key, value] of Object.entries(c)) {
    if (!Number.isFinite(value) || value < 0) throw new RangeError(`gossip config ${key} must be a non-negative number, got ${value}`);
  }
  if (c.gossipIntervalMs <= 0 || c.heartbeatIntervalMs <= 0) throw new RangeError('gossip intervals must be > 0');
  if (c.gossipJitterRatio >= 1) throw new RangeError('gossipJitterRatio must be < 1');
  if (c.failureTimeoutMs <= c.gossipIntervalMs) throw new RangeError('failureTimeoutMs must exceed gossipIntervalMs');
  if (c.tombstoneTtlMs <= c.failureTimeoutMs) throw new RangeError('tombstoneTtlMs must exceed failureTimeoutMs');
  if (c.historySets < 1 || c.maxMembers < 1) throw new RangeError('historySets and maxMembers must be >= 1');
  return Object.freeze(c);
}

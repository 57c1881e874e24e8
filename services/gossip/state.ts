/**
 * @module state
 * The pure state of one member and the transitions that need no peer: heartbeat, expiry, health,
 * departure, and opening a round. Every transition is `(state, input, nowMs) → Step` and never
 * reads a clock, a timer or Math.random (the shell passes time and an Rng in).
 */
import { advanceChain, newChain, type Chain } from './chain';
import type { GossipConfig } from './config';
import type { Deletion, GossipMessage, MemberEntry, MemberMeta } from './messages';
import { pick, type Rng } from './rng';
import { assertMemberId, sortIds } from './set-hash';

export interface Tombstone {
  /** Kept so a deleted member that keeps heartbeating can come back with its addresses. */
  readonly meta: MemberMeta | undefined;
  readonly counter: number;
  readonly atMs: number;
  readonly self: boolean;
}

export interface GossipState {
  readonly cfg: Readonly<GossipConfig>;
  readonly selfId: string;
  readonly self: MemberMeta;
  /** False while the local host fails its health check: our counter stops rising. */
  readonly heartbeating: boolean;
  /**
   * Set while we are not in our own set: before the local host first answers SERVING, and after we
   * announced our departure (drain, stop). It is the counter we went away with; a (re)join
   * continues above it, so no tombstone of our earlier presence can cover the new one.
   */
  readonly awayCounter: number | undefined;
  readonly chain: Chain;
  readonly meta: ReadonlyMap<string, MemberMeta>;
  /**
   * Aligned with chain.current.ids. Float64Array because the hot path copies these on nearly
   * every message (a copy is one memcpy, and one object for the collector). Never mutated once
   * in a state: transitions copy.
   */
  readonly counters: Float64Array;
  /** When each member's counter last rose here (ms, the caller's clock). */
  readonly seenAtMs: Float64Array;
  readonly index: ReadonlyMap<string, number>;
  readonly tombstones: ReadonlyMap<string, Tombstone>;
}

export type GossipEvent =
  | { kind: 'dead'; id: string; cause: 'timeout' | 'deletion' | 'departure' }
  | { kind: 'joined'; id: string }
  | { kind: 'slow-path' };

export interface Send { readonly to: string; readonly msg: GossipMessage }
export interface Step { readonly state: GossipState; readonly send: Send[]; readonly events: GossipEvent[] }

export const noop = (state: GossipState): Step => ({ state, send: [], events: [] });

/**
 * `joined: false` starts outside our own set (a sidecar whose host has not answered SERVING yet):
 * we learn the cluster but nobody routes to us until `applyJoin`.
 */
export function createState(cfg: Readonly<GossipConfig>, self: MemberMeta, nowMs: number, initialCounter = 0, joined = true): GossipState {
  assertMemberId(self.id);
  if (!joined) {
    return {
      cfg, selfId: self.id, self, heartbeating: false, awayCounter: initialCounter,
      chain: newChain([]), meta: new Map(), counters: new Float64Array(0), seenAtMs: new Float64Array(0), index: new Map(), tombstones: new Map(),
    };
  }
  return {
    cfg, selfId: self.id, self, heartbeating: true, awayCounter: undefined,
    chain: newChain([self.id]), meta: new Map([[self.id, self]]), counters: Float64Array.of(initialCounter), seenAtMs: Float64Array.of(nowMs),
    index: new Map([[self.id, 0]]), tombstones: new Map(),
  };
}

/** True while we are outside our own set (not yet joined, or departed). */
export const isAway = (s: GossipState): boolean => s.awayCounter !== undefined;

/**
 * Rebuilds the set: removes `remove`, adds `add` (counter as given, seen now), keeps the rest,
 * and advances the chain. Callers have already decided; this only reshapes arrays.
 */
export function reshape(s: GossipState, add: readonly MemberEntry[], remove: ReadonlySet<string>, nowMs: number, tombstones: ReadonlyMap<string, Tombstone> = s.tombstones): GossipState {
  if (add.length === 0 && remove.size === 0) return tombstones === s.tombstones ? s : { ...s, tombstones };
  const meta = new Map(s.meta);
  const counter = new Map<string, number>();
  const seen = new Map<string, number>();
  s.chain.current.ids.forEach((id, i) => { if (!remove.has(id)) { counter.set(id, s.counters[i]!); seen.set(id, s.seenAtMs[i]!); } });
  for (const id of remove) meta.delete(id);
  for (const e of add) {
    const { counter: c, ...m } = e;
    meta.set(e.id, m);
    counter.set(e.id, c);
    seen.set(e.id, nowMs);
  }
  const ids = sortIds(counter.keys());
  return {
    ...s, meta, tombstones,
    chain: advanceChain(s.chain, ids, s.cfg.historySets),
    counters: Float64Array.from(ids, (id) => counter.get(id)!),
    seenAtMs: Float64Array.from(ids, (id) => seen.get(id)!),
    index: new Map(ids.map((id, i) => [id, i])),
  };
}

/** Our own counter rises by one, unless the local host is unhealthy or we are away. (Our own sighting time is never read: we do not expire ourselves.) */
export function applyHeartbeat(s: GossipState, nowMs: number): GossipState {
  const i = s.index.get(s.selfId);
  if (!s.heartbeating || i === undefined) return s;
  const counters = s.counters.slice();
  counters[i] = counters[i]! + 1;
  void nowMs;
  return { ...s, counters };
}

/** Declares dead every member whose counter has not risen for failureTimeoutMs; forgets old tombstones. */
export function applyExpiry(s: GossipState, nowMs: number): Step {
  // Runs every heartbeat at every member: allocate nothing unless something actually expires.
  const ids = s.chain.current.ids;
  let dead: Set<string> | undefined;
  for (let i = 0; i < ids.length; i++) {
    if (nowMs - s.seenAtMs[i]! > s.cfg.failureTimeoutMs && ids[i] !== s.selfId) (dead ??= new Set()).add(ids[i]!);
  }
  let stale = false;
  for (const [id, t] of s.tombstones) if (nowMs - t.atMs >= s.cfg.tombstoneTtlMs && !(t.self && id === s.selfId)) stale = true;
  if (dead === undefined && !stale) return noop(s);
  const tombstones = new Map<string, Tombstone>();
  for (const [id, t] of s.tombstones) if (nowMs - t.atMs < s.cfg.tombstoneTtlMs || (t.self && id === s.selfId)) tombstones.set(id, t);
  const events: GossipEvent[] = [];
  for (const id of dead ?? []) {
    const i = s.index.get(id)!;
    tombstones.set(id, { meta: s.meta.get(id), counter: s.counters[i]!, atMs: nowMs, self: false });
    events.push({ kind: 'dead', id, cause: 'timeout' });
  }
  return { state: reshape(s, [], dead ?? new Set(), nowMs, tombstones), send: [], events };
}

export function applyHealth(s: GossipState, healthy: boolean): GossipState {
  return s.heartbeating === healthy ? s : { ...s, heartbeating: healthy };
}

/** The deletions every message carries: our tombstones, still fresh. */
export function outboundDeletions(s: GossipState): Deletion[] {
  const out: Deletion[] = [];
  for (const [id, t] of s.tombstones) out.push({ id, counter: t.counter, self: t.self });
  return out;
}

/** Picks a random peer from the set, or a seed address while we know no one; opens a round with our hash. */
export function planRound(s: GossipState, rng: Rng, seeds: readonly string[]): Send | undefined {
  const ids = s.chain.current.ids;
  const others = ids.length - (s.index.has(s.selfId) ? 1 : 0);
  let to: string | undefined;
  if (others > 0) {
    let id = s.selfId;
    while (id === s.selfId) id = ids[pick(rng, ids.length)]!;
    to = s.meta.get(id)!.gossipAddress;
  } else if (seeds.length > 0) {
    to = seeds[pick(rng, seeds.length)];
  }
  if (to === undefined || to === s.self.gossipAddress) return undefined;
  return { to, msg: { kind: 'open', from: s.self.gossipAddress, fromId: s.selfId, setHash: s.chain.current.hash, deletions: outboundDeletions(s) } };
}

/**
 * An `open` to a seed address that is none of our members' (nor ours): a pod we have not met.
 * Seeds are otherwise used only while we know no one, so two groups that each found a member
 * first (two pods that started together and seeded each other) would never merge; one round to
 * an unknown seed now and then joins them. Undefined when every seed address is a member's.
 */
export function planSeedProbe(s: GossipState, rng: Rng, seeds: readonly string[]): Send | undefined {
  const known = new Set<string>([s.self.gossipAddress]);
  for (const m of s.meta.values()) known.add(m.gossipAddress);
  const unknown = seeds.filter((a) => !known.has(a));
  if (unknown.length === 0) return undefined;
  return { to: unknown[pick(rng, unknown.length)]!, msg: { kind: 'open', from: s.self.gossipAddress, fromId: s.selfId, setHash: s.chain.current.hash, deletions: outboundDeletions(s) } };
}

/** Members of the current set other than us. */
export const otherMembers = (s: GossipState): number => s.chain.current.ids.length - (s.index.has(s.selfId) ? 1 : 0);

/** Up to `n` distinct peers of the current set, chosen at random (never ourselves). */
function randomPeers(s: GossipState, rng: Rng, n: number): string[] {
  const ids = s.chain.current.ids.filter((id) => id !== s.selfId);
  const peers = new Set<string>();
  for (let tries = 0; peers.size < Math.min(n, ids.length) && tries < 10 * n; tries++) peers.add(s.meta.get(ids[pick(rng, ids.length)]!)!.gossipAddress);
  return [...peers];
}

/** An `open` to each of `leaveFanout` random peers: a join or a departure spreads in one round instead of waiting for ours. */
function announce(s: GossipState, rng: Rng): Send[] {
  const msg: GossipMessage = { kind: 'open', from: s.self.gossipAddress, fromId: s.selfId, setHash: s.chain.current.hash, deletions: outboundDeletions(s) };
  return randomPeers(s, rng, s.cfg.leaveFanout).map((to) => ({ to, msg }));
}

/**
 * A draining or stopping member announces its own departure: it leaves its own set, keeps a
 * self-tombstone (which needs no guard at the receiver) and tells `leaveFanout` random peers at
 * once; the rounds it still runs carry the same deletion.
 */
export function applyLeave(s: GossipState, rng: Rng, nowMs: number): Step {
  if (isAway(s)) return noop(s);
  const counter = s.counters[s.index.get(s.selfId)!]!;
  const tombstones = new Map(s.tombstones);
  tombstones.set(s.selfId, { meta: s.self, counter, atMs: nowMs, self: true });
  const state = reshape({ ...s, awayCounter: counter, heartbeating: false }, [], new Set([s.selfId]), nowMs, tombstones);
  return { state, send: announce(state, rng), events: [] };
}

/**
 * Joins, or rejoins after a departure (a cancelled drain, a host restarted beside a sidecar that
 * stayed): we enter our own set with a counter above the one we went away with (and at least
 * `floorCounter`, the sidecar's wall-clock heartbeat count, so a new process is never older than
 * an old one), drop our self-tombstone and tell `leaveFanout` peers. Peers holding our departure
 * tombstone take us back because the counter rose past it (resurrection, docs/gossip.md).
 */
export function applyJoin(s: GossipState, rng: Rng, nowMs: number, floorCounter = 0): Step {
  if (s.awayCounter === undefined) return noop(s);
  const counter = Math.max(s.awayCounter + 1, floorCounter);
  const tombstones = new Map(s.tombstones);
  tombstones.delete(s.selfId);
  const state = reshape({ ...s, awayCounter: undefined, heartbeating: true }, [{ ...s.self, counter }], new Set(), nowMs, tombstones);
  return { state, send: announce(state, rng), events: [] };
}

/** Live members other than us would route to: id, meta and whether alive (tombstones are not). */
export function liveMembers(s: GossipState): MemberMeta[] {
  return s.chain.current.ids.map((id) => s.meta.get(id)!);
}

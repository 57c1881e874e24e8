/**
 * @module exchange
 * The pure handling of one incoming message (messages.ts has the protocol). Each handler applies
 * the deletions first, then merges (the receiver keeps the max counter; a rise refreshes the
 * sighting), then plans its reply.
 */
import { lookupSet, type MemberSet } from './chain';
import { applyDeletions } from './deletions';
import type { GossipMessage, MemberEntry } from './messages';
import { noop, outboundDeletions, reshape, type GossipEvent, type GossipState, type Send, type Step, type Tombstone } from './state';

type Msg<K extends GossipMessage['kind']> = Extract<GossipMessage, { kind: K }>;

export function applyMessage(s0: GossipState, msg: GossipMessage, nowMs: number): Step {
  if (msg.fromId === s0.selfId) return noop(s0);
  if (msg.deletions.length > s0.cfg.maxMembers) return noop(s0);
  const { state: s, events } = applyDeletions(s0, msg.deletions, nowMs);
  switch (msg.kind) {
    case 'open': return { state: s, send: [replyToOpen(s, msg)], events };
    case 'miss': return replyToMiss(s, msg, events);
    case 'counters': return applyCounters(s, msg, nowMs, events);
    case 'members': return applyMembers(s, msg, nowMs, events);
  }
}

/**
 * A remembered set is only usable if we still know every member in it (now, or by a tombstone
 * that kept its addresses); otherwise positional counters for those members would be ignored
 * and a member coming back after its tombstone expired could never return. Treated as unknown.
 */
function usable(s: GossipState, base: MemberSet | undefined): MemberSet | undefined {
  if (base === undefined || base === s.chain.current) return base;
  return base.ids.every((id) => s.index.has(id) || s.tombstones.get(id)?.meta !== undefined) ? base : undefined;
}

function replyToOpen(s: GossipState, msg: Msg<'open'>): Send {
  const base = usable(s, lookupSet(s.chain, msg.setHash));
  if (base === undefined) return { to: msg.from, msg: { kind: 'miss', from: s.self.gossipAddress, fromId: s.selfId, setHash: s.chain.current.hash, deletions: outboundDeletions(s) } };
  return { to: msg.from, msg: countersOn(s, base, true) };
}

function replyToMiss(s: GossipState, msg: Msg<'miss'>, events: GossipEvent[]): Step {
  const base = lookupSet(s.chain, msg.setHash);
  if (base !== undefined) return { state: s, send: [{ to: msg.from, msg: countersOn(s, base, false) }], events };
  return { state: s, send: [{ to: msg.from, msg: membersMsg(s, true) }], events: [...events, { kind: 'slow-path' }] };
}

function applyCounters(s: GossipState, msg: Msg<'counters'>, nowMs: number, events: GossipEvent[]): Step {
  const base = lookupSet(s.chain, msg.baseHash);
  // The set fell out of our history since we named it: only full lists can help now.
  if (base === undefined || msg.counters.length !== base.ids.length) {
    return msg.replyWanted ? { state: s, send: [{ to: msg.from, msg: membersMsg(s, true) }], events: [...events, { kind: 'slow-path' }] } : { state: s, send: [], events };
  }
  if (msg.extra.length > s.cfg.maxMembers) return { state: s, send: [], events };
  const merged = mergeEntries(s, base.ids, msg.counters, msg.extra, nowMs);
  events.push(...merged.events);
  const t = merged.state;
  if (!msg.replyWanted) return { state: t, send: [], events };
  const replyBase = lookupSet(t.chain, msg.senderHash) ?? lookupSet(t.chain, msg.baseHash)!;
  return { state: t, send: [{ to: msg.from, msg: countersOn(t, replyBase, false) }], events };
}

function applyMembers(s: GossipState, msg: Msg<'members'>, nowMs: number, events: GossipEvent[]): Step {
  if (msg.members.length > s.cfg.maxMembers) return { state: s, send: [], events };
  const merged = mergeEntries(s, [], [], msg.members, nowMs);
  events.push(...merged.events);
  const send: Send[] = msg.replyWanted ? [{ to: msg.from, msg: membersMsg(merged.state, false) }] : [];
  return { state: merged.state, send, events };
}

/**
 * Keeps the max of each counter (positional ones have no meta: only known or tombstoned members
 * can use them), adds members we lack unless a tombstone says they are no newer than when deleted,
 * and brings back a deleted member whose counter rose past its tombstone.
 */
function mergeEntries(s: GossipState, baseIds: readonly string[], baseCounters: ArrayLike<number>, full: readonly MemberEntry[], nowMs: number): { state: GossipState; events: GossipEvent[] } {
  // On the happy path the base is our current set: position i is our i, no lookups.
  const aligned = baseIds === s.chain.current.ids;
  let counters: Float64Array | undefined;
  let seenAtMs: Float64Array | undefined;
  const add: MemberEntry[] = [];
  let tombstones: Map<string, Tombstone> | undefined;
  const events: GossipEvent[] = [];
  const take = (id: string, counter: number, entry: MemberEntry | undefined, position: number): void => {
    const i = aligned && entry === undefined ? position : s.index.get(id);
    if (i !== undefined) {
      if (counter > s.counters[i]! && id !== s.selfId) {
        counters ??= s.counters.slice(); seenAtMs ??= s.seenAtMs.slice();
        if (counter > counters[i]!) { counters[i] = counter; seenAtMs[i] = nowMs; }
      }
      return;
    }
    if (id === s.selfId) return;
    const t = s.tombstones.get(id);
    const meta = entry ?? t?.meta;
    if (meta === undefined || (t !== undefined && counter <= t.counter)) return;
    if (add.some((e) => e.id === id)) return;
    add.push({ id, gossipAddress: meta.gossipAddress, address: meta.address, role: meta.role, weight: meta.weight, counter });
    if (t !== undefined) { tombstones ??= new Map(s.tombstones); tombstones.delete(id); }
    events.push({ kind: 'joined', id });
  };
  if (aligned) {
    // The hot path (every steady-state round): a plain positional max, no lookups, no allocation unless a counter rose.
    const self = s.index.get(s.selfId);
    for (let p = 0; p < baseCounters.length; p++) {
      const c = baseCounters[p]!;
      if (c > (counters ?? s.counters)[p]! && p !== self) {
        counters ??= s.counters.slice(); seenAtMs ??= s.seenAtMs.slice();
        counters[p] = c; seenAtMs[p] = nowMs;
      }
    }
  } else {
    for (let p = 0; p < baseIds.length; p++) if (baseCounters[p]! > 0) take(baseIds[p]!, baseCounters[p]!, undefined, p);
  }
  for (const e of full) take(e.id, e.counter, e, -1);
  let state = counters ? { ...s, counters, seenAtMs: seenAtMs! } : s;
  if (add.length > 0 || tombstones) state = reshape(state, add, new Set(), nowMs, tombstones ?? state.tombstones);
  return { state, events };
}

function countersOn(s: GossipState, base: MemberSet, replyWanted: boolean): GossipMessage {
  const same = base.hash === s.chain.current.hash;
  const counters = same ? s.counters : Float64Array.from(base.ids, (id) => { const i = s.index.get(id); return i === undefined ? 0 : s.counters[i]!; });
  const inBase = same ? undefined : new Set(base.ids);
  const extra = inBase === undefined ? [] : s.chain.current.ids.filter((id) => !inBase.has(id)).map((id) => entryOf(s, id));
  return { kind: 'counters', from: s.self.gossipAddress, fromId: s.selfId, baseHash: base.hash, counters, extra, senderHash: s.chain.current.hash, replyWanted, deletions: outboundDeletions(s) };
}

function membersMsg(s: GossipState, replyWanted: boolean): GossipMessage {
  return { kind: 'members', from: s.self.gossipAddress, fromId: s.selfId, members: s.chain.current.ids.map((id) => entryOf(s, id)), replyWanted, deletions: outboundDeletions(s) };
}

function entryOf(s: GossipState, id: string): MemberEntry {
  return { ...s.meta.get(id)!, counter: s.counters[s.index.get(id)!]! };
}

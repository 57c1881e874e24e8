import { resolveGossipConfig } from './config';
import { applyDeletions, refuseDeletion } from './deletions';
import { applyMessage } from './exchange';
import type { MemberEntry } from './messages';
import { seededRng } from './rng';
import { applyExpiry, applyHealth, applyHeartbeat, applyJoin, applyLeave, createState, isAway, planRound, planSeedProbe, type GossipState } from './state';

const cfg = resolveGossipConfig({ failureTimeoutMs: 3_000, deletionGuardMs: 1_500, tombstoneTtlMs: 8_000 });
const entry = (id: string, counter = 1): MemberEntry => ({ id, gossipAddress: `g-${id}`, address: `${id}:7100`, role: 'host', weight: 1, counter });
/** Member `a` at time `nowMs` that has just learned `ids` with the given counters. */
function stateOf(entries: MemberEntry[], nowMs = 0): GossipState {
  const s = createState(cfg, { id: 'a', gossipAddress: 'g-a', address: 'a:7100', role: 'host', weight: 1 }, nowMs, 1);
  return applyMessage(s, { kind: 'members', from: 'g-x', fromId: 'x', members: entries, replyWanted: false, deletions: [] }, nowMs).state;
}
const del = (id: string, counter: number, self = false) => ({ id, counter, self });
const counterOf = (s: GossipState, id: string): number | undefined => { const i = s.index.get(id); return i === undefined ? undefined : s.counters[i]; };
const counters = (s: GossipState, m: Record<string, number>, nowMs: number): GossipState =>
  applyMessage(s, { kind: 'counters', from: 'g-x', fromId: 'x', baseHash: s.chain.current.hash, counters: s.chain.current.ids.map((id) => m[id] ?? 0), extra: [], senderHash: s.chain.current.hash, replyWanted: false, deletions: [] }, nowMs).state;

describe('applyHeartbeat', () => {
  it('raises our own counter', () => {
    expect(counterOf(applyHeartbeat(stateOf([]), 200), 'a')).toBe(2);
  });
  it('does not raise it while the local host is unhealthy', () => {
    expect(counterOf(applyHeartbeat(applyHealth(stateOf([]), false), 200), 'a')).toBe(1);
  });
});

describe('merge', () => {
  it('keeps the max of each counter and refreshes the sighting only on a rise', () => {
    let s = stateOf([entry('b', 5), entry('c', 5)]);
    s = counters(s, { b: 7, c: 3 }, 1_000);
    expect(counterOf(s, 'b')).toBe(7);
    expect(counterOf(s, 'c')).toBe(5);
    expect(s.seenAtMs[s.index.get('b')!]).toBe(1_000);
    expect(s.seenAtMs[s.index.get('c')!]).toBe(0);
  });

  it('never takes a peer\'s counter for ourselves', () => {
    expect(counterOf(counters(stateOf([entry('b')]), { a: 99 }, 10), 'a')).toBe(1);
  });
});

describe('applyExpiry', () => {
  it('declares dead a member whose counter has not risen for failureTimeoutMs', () => {
    const s = stateOf([entry('b'), entry('c')]);
    const live = counters(s, { c: 2 }, 2_000);
    const step = applyExpiry(live, 3_001);
    expect(step.events).toEqual([{ kind: 'dead', id: 'b', cause: 'timeout' }]);
    expect(step.state.chain.current.ids).toEqual(['a', 'c']);
    expect(step.state.tombstones.get('b')?.counter).toBe(1);
  });
  it('keeps a member seen exactly failureTimeoutMs ago', () => {
    expect(applyExpiry(stateOf([entry('b')]), 3_000).events).toEqual([]);
  });
  it('forgets a tombstone after tombstoneTtlMs', () => {
    const dead = applyExpiry(stateOf([entry('b')]), 3_001).state;
    expect(applyExpiry(dead, 3_001 + 8_000).state.tombstones.size).toBe(0);
  });
});

describe('deletion guard', () => {
  it('accepts a deletion when our last sighting is older than deletionGuardMs', () => {
    const step = applyDeletions(stateOf([entry('b', 4)]), [del('b', 4)], 1_500);
    expect(step.events).toEqual([{ kind: 'dead', id: 'b', cause: 'deletion' }]);
    expect(step.state.index.has('b')).toBe(false);
  });
  it('refuses it when we saw the member recently', () => {
    expect(refuseDeletion(stateOf([entry('b', 4)]), del('b', 4), 1_499)).toBe('recently-seen');
  });
  it('refuses it when the counter advanced here since the deleter saw it', () => {
    expect(refuseDeletion(stateOf([entry('b', 5)]), del('b', 4), 5_000)).toBe('advanced');
  });
  it('refuses a deletion of ourselves (we refute by heartbeating)', () => {
    expect(refuseDeletion(stateOf([]), del('a', 100), 5_000)).toBe('self');
  });
  it('refutes a deletion of ourselves at or above our counter by jumping past it', () => {
    const step = applyDeletions(stateOf([entry('b')]), [del('a', 100, true)], 5_000);
    expect(counterOf(step.state, 'a')).toBe(101);
    expect(step.state.index.has('a')).toBe(true);
    expect(counterOf(applyDeletions(stateOf([]), [del('a', 0)], 5_000).state, 'a')).toBe(1);
  });
  it('does not refute a deletion of ourselves while our host is unhealthy (a hung host stays out)', () => {
    const unhealthy = applyHealth(stateOf([entry('b')]), false);
    const step = applyDeletions(unhealthy, [del('a', 100)], 5_000);
    expect(counterOf(step.state, 'a')).toBe(counterOf(unhealthy, 'a'));
    expect(counterOf(applyDeletions(applyHealth(unhealthy, true), [del('a', 100)], 5_000).state, 'a')).toBe(101);
  });
  it('accepts a self-announced departure without the sighting guard', () => {
    const step = applyDeletions(stateOf([entry('b', 4)]), [del('b', 4, true)], 1);
    expect(step.events).toEqual([{ kind: 'dead', id: 'b', cause: 'departure' }]);
  });
});

describe('resurrection', () => {
  const dead = (): GossipState => applyExpiry(stateOf([entry('b', 4)]), 3_001).state;
  it('brings back a deleted member whose counter rose past its tombstone', () => {
    const step = applyMessage(dead(), { kind: 'members', from: 'g-x', fromId: 'x', members: [entry('b', 5)], replyWanted: false, deletions: [] }, 4_000);
    expect(step.events).toEqual([{ kind: 'joined', id: 'b' }]);
    expect(step.state.index.has('b')).toBe(true);
    expect(step.state.tombstones.has('b')).toBe(false);
  });
  it('ignores stale gossip that still lists it at the deleted counter', () => {
    const step = applyMessage(dead(), { kind: 'members', from: 'g-x', fromId: 'x', members: [entry('b', 4)], replyWanted: false, deletions: [] }, 4_000);
    expect(step.state.index.has('b')).toBe(false);
  });
  it('brings it back from a positional counter too, using the meta kept in the tombstone', () => {
    const before = stateOf([entry('b', 4)]);
    const s = dead();
    const step = applyMessage(s, { kind: 'counters', from: 'g-x', fromId: 'x', baseHash: before.chain.current.hash, counters: [0, 6], extra: [], senderHash: before.chain.current.hash, replyWanted: false, deletions: [] }, 4_000);
    expect(step.state.meta.get('b')?.address).toBe('b:7100');
  });
});

describe('applyLeave', () => {
  it('leaves its own set, stops heartbeating and tells leaveFanout peers with a self deletion', () => {
    const step = applyLeave(stateOf([entry('b'), entry('c'), entry('d'), entry('e')]), seededRng(1), 10);
    expect(step.state.index.has('a')).toBe(false);
    expect(step.send).toHaveLength(3);
    expect(step.send[0]!.msg.deletions).toEqual([{ id: 'a', counter: 1, self: true }]);
    expect(applyHeartbeat(step.state, 20)).toBe(step.state);
  });
});

describe('applyJoin', () => {
  const self = { id: 'a', gossipAddress: 'g-a', address: 'a:7100', role: 'host' as const, weight: 1 };
  it('a member created unjoined learns peers but is not in its own set until it joins', () => {
    let s = createState(cfg, self, 0, 50, false);
    expect(isAway(s)).toBe(true);
    s = applyMessage(s, { kind: 'members', from: 'g-b', fromId: 'b', members: [entry('b')], replyWanted: false, deletions: [] }, 0).state;
    expect(s.chain.current.ids).toEqual(['b']);
    expect(applyHeartbeat(s, 200)).toBe(s);
    const joined = applyJoin(s, seededRng(1), 10, 0);
    expect(joined.state.chain.current.ids).toEqual(['a', 'b']);
    expect(counterOf(joined.state, 'a')).toBe(51);
    expect(joined.send.map((m) => m.to)).toEqual(['g-b']);
    expect(counterOf(applyHeartbeat(joined.state, 20), 'a')).toBe(52);
  });
  it('rejoins after a departure above the departed counter (and the floor), without its self-tombstone', () => {
    const left = applyLeave(stateOf([entry('b'), entry('c')]), seededRng(1), 10).state;
    expect(left.tombstones.get('a')?.self).toBe(true);
    const back = applyJoin(left, seededRng(2), 20, 0).state;
    expect(back.index.has('a')).toBe(true);
    expect(back.tombstones.has('a')).toBe(false);
    expect(counterOf(back, 'a')).toBe(2);
    expect(counterOf(applyJoin(left, seededRng(2), 20, 900).state, 'a')).toBe(900);
    expect(applyJoin(back, seededRng(2), 30)).toEqual({ state: back, send: [], events: [] });
  });
  it('a peer holding our departure tombstone takes us back from the rejoin counter', () => {
    const peer = applyDeletions(stateOf([entry('b', 7)]), [del('b', 7, true)], 100).state;
    expect(peer.index.has('b')).toBe(false);
    const step = applyMessage(peer, { kind: 'members', from: 'g-b', fromId: 'b', members: [entry('b', 8)], replyWanted: false, deletions: [] }, 200);
    expect(step.events).toEqual([{ kind: 'joined', id: 'b' }]);
    // Stale gossip still carrying the departure no longer removes it: its counter advanced.
    expect(applyDeletions(step.state, [del('b', 7, true)], 300).state.index.has('b')).toBe(true);
  });
});

describe('planRound', () => {
  it('opens with our set hash to a peer other than ourselves', () => {
    const s = stateOf([entry('b')]);
    const send = planRound(s, seededRng(3), []);
    expect(send).toEqual({ to: 'g-b', msg: expect.objectContaining({ kind: 'open', setHash: s.chain.current.hash }) });
  });
  it('uses a seed while it knows no one', () => {
    expect(planRound(stateOf([]), seededRng(3), ['seed:1'])?.to).toBe('seed:1');
  });
});

describe('planSeedProbe', () => {
  it('opens with a seed address that is no member\'s and not ours: a pod not met yet', () => {
    const s = stateOf([entry('b')]);
    for (let seed = 1; seed < 20; seed++) expect(planSeedProbe(s, seededRng(seed), ['g-a', 'g-b', 'g-c'])?.to).toBe('g-c');
    expect(planSeedProbe(s, seededRng(1), ['g-c'])!.msg).toMatchObject({ kind: 'open', fromId: 'a', setHash: s.chain.current.hash });
  });
  it('sends nothing once every seed address is a member\'s', () => {
    expect(planSeedProbe(stateOf([entry('b')]), seededRng(1), ['g-a', 'g-b'])).toBeUndefined();
  });
});

describe('a member back after its tombstone expired', () => {
  it('is answered with miss (not counters), so full lists bring its addresses back', () => {
    const withB = stateOf([entry('b', 4)]);
    const forgotten = applyExpiry(applyExpiry(withB, 3_001).state, 3_001 + 8_000).state;
    const step = applyMessage(forgotten, { kind: 'open', from: 'g-b', fromId: 'b', setHash: withB.chain.current.hash, deletions: [] }, 12_000);
    expect(step.send[0]!.msg.kind).toBe('miss');
  });
});

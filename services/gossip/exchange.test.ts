import { resolveGossipConfig } from './config';
import { applyMessage } from './exchange';
import type { GossipMessage, MemberEntry } from './messages';
import { applyHeartbeat, createState, type GossipState, type Send } from './state';

const cfg = resolveGossipConfig();
const meta = (id: string) => ({ id, gossipAddress: id, address: `${id}:7100`, role: 'host' as const, weight: 1 });
function member(id: string, know: string[]): GossipState {
  const s = createState(cfg, meta(id), 0, 1);
  const members: MemberEntry[] = know.map((k) => ({ ...meta(k), counter: 1 }));
  return applyMessage(s, { kind: 'members', from: 'x', fromId: 'x', members, replyWanted: false, deletions: [] }, 0).state;
}
/** Learns one more member, so the previous set stays in the chain's history. */
const learn = (s: GossipState, id: string): GossipState =>
  applyMessage(s, { kind: 'members', from: 'x', fromId: 'x', members: [{ ...meta(id), counter: 1 }], replyWanted: false, deletions: [] }, 0).state;

/** Delivers messages back and forth until none is left; returns the kinds in order. */
function exchange(states: Map<string, GossipState>, first: Send, nowMs: number): string[] {
  const kinds: string[] = [];
  const queue: Send[] = [first];
  while (queue.length > 0) {
    const { to, msg } = queue.shift()!;
    kinds.push(msg.kind);
    const step = applyMessage(states.get(to)!, msg, nowMs);
    states.set(to, step.state);
    queue.push(...step.send);
  }
  return kinds;
}
const open = (s: GossipState, to: string): Send => ({ to, msg: { kind: 'open', from: s.selfId, fromId: s.selfId, setHash: s.chain.current.hash, deletions: [] } satisfies GossipMessage });

describe('the exchange', () => {
  it('takes 3 messages when both have the same set, and both end with the max counters', () => {
    const states = new Map([['a', applyHeartbeat(member('a', ['b']), 1)], ['b', applyHeartbeat(applyHeartbeat(member('b', ['a']), 1), 2)]]);
    expect(exchange(states, open(states.get('a')!, 'b'), 5)).toEqual(['open', 'counters', 'counters']);
    for (const s of states.values()) expect([...s.counters]).toEqual([2, 3]);
  });

  it('takes 3 messages when the peer knows our hash from its history, and teaches us the new member', () => {
    const a = member('a', ['b']);
    const b = learn(member('b', ['a']), 'c'); // b's history holds {a,b}
    const states = new Map([['a', a], ['b', b]]);
    expect(exchange(states, open(a, 'b'), 5)).toEqual(['open', 'counters', 'counters']);
    expect(states.get('a')!.chain.current.ids).toEqual(['a', 'b', 'c']);
  });

  it('takes 3 messages when we know the peer\'s hash (miss, then counters on it)', () => {
    const a = learn(member('a', ['b']), 'c');
    const b = member('b', ['a']);
    const states = new Map([['a', a], ['b', b]]);
    expect(exchange(states, open(a, 'b'), 5)).toEqual(['open', 'miss', 'counters']);
    expect(states.get('b')!.chain.current.ids).toEqual(['a', 'b', 'c']);
  });

  it('falls back to full member lists when neither knows the other\'s hash, and says so', () => {
    const a = member('a', ['c']);
    const b = member('b', ['d']);
    const states = new Map([['a', a], ['b', b]]);
    const step = applyMessage(a, { kind: 'miss', from: 'b', fromId: 'b', setHash: b.chain.current.hash, deletions: [] }, 5);
    expect(step.events).toContainEqual({ kind: 'slow-path' });
    expect(exchange(states, open(a, 'b'), 5)).toEqual(['open', 'miss', 'members', 'members']);
    expect(states.get('a')!.chain.current.ids).toEqual(['a', 'b', 'c', 'd']);
    expect(states.get('b')!.chain.current.ids).toEqual(['a', 'b', 'c', 'd']);
  });

  it('ignores a message claiming to come from ourselves', () => {
    const a = member('a', ['b']);
    expect(applyMessage(a, { kind: 'open', from: 'a', fromId: 'a', setHash: 'x', deletions: [] }, 1).state).toBe(a);
  });

  it('refuses a member list longer than maxMembers whole', () => {
    const small = createState(resolveGossipConfig({ maxMembers: 2 }), meta('a'), 0);
    const members = ['b', 'c', 'd'].map((k) => ({ ...meta(k), counter: 1 }));
    expect(applyMessage(small, { kind: 'members', from: 'x', fromId: 'x', members, replyWanted: true, deletions: [] }, 0).send).toEqual([]);
  });
});

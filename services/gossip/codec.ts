/**
 * @module codec
 * GossipMessage ⇄ proto Envelope (proto/gossip.proto). Decoding validates shape and drops what
 * does not fit, so the pure core only ever sees well-formed messages.
 */
import type { Deletion, GossipMessage, MemberEntry } from './messages';
import { parseRole } from './member';

export interface EnvelopeWire {
  kind: string; from: string; from_id: string;
  deletions: { id: string; counter: number; self: boolean }[];
  set_hash: string; base_hash: string; counters: number[];
  extra: { id: string; gossip_address: string; address: string; role: string; weight: number; counter: number }[];
  sender_hash: string; reply_wanted: boolean;
}

const memberWire = (m: MemberEntry): EnvelopeWire['extra'][number] => ({ id: m.id, gossip_address: m.gossipAddress, address: m.address, role: m.role, weight: m.weight, counter: m.counter });

export function encodeEnvelope(m: GossipMessage): EnvelopeWire {
  const out: EnvelopeWire = {
    kind: m.kind, from: m.from, from_id: m.fromId, deletions: m.deletions.map((d) => ({ ...d })),
    set_hash: '', base_hash: '', counters: [], extra: [], sender_hash: '', reply_wanted: false,
  };
  switch (m.kind) {
    case 'open': case 'miss': out.set_hash = m.setHash; break;
    case 'counters': Object.assign(out, { base_hash: m.baseHash, counters: Array.from(m.counters), extra: m.extra.map(memberWire), sender_hash: m.senderHash, reply_wanted: m.replyWanted }); break;
    case 'members': Object.assign(out, { extra: m.members.map(memberWire), reply_wanted: m.replyWanted }); break;
  }
  return out;
}

/** undefined for anything malformed (unknown kind, bad role, non-numeric counters). */
export function decodeEnvelope(w: EnvelopeWire): GossipMessage | undefined {
  try {
    const deletions: Deletion[] = (w.deletions ?? []).map((d) => ({ id: String(d.id), counter: Number(d.counter), self: Boolean(d.self) }));
    const members: MemberEntry[] = (w.extra ?? []).map((e) => ({ id: e.id, gossipAddress: e.gossip_address, address: e.address, role: parseRole(e.role), weight: Number(e.weight), counter: Number(e.counter) }));
    const common = { from: String(w.from), fromId: String(w.from_id), deletions };
    if ([...deletions.map((d) => d.counter), ...members.map((m) => m.counter)].some((n) => !Number.isFinite(n))) return undefined;
    switch (w.kind) {
      case 'open': return { ...common, kind: 'open', setHash: w.set_hash };
      case 'miss': return { ...common, kind: 'miss', setHash: w.set_hash };
      case 'counters': return { ...common, kind: 'counters', baseHash: w.base_hash, counters: (w.counters ?? []).map(Number), extra: members, senderHash: w.sender_hash, replyWanted: Boolean(w.reply_wanted) };
      case 'members': return { ...common, kind: 'members', members, replyWanted: Boolean(w.reply_wanted) };
      default: return undefined;
    }
  } catch {
    return undefined;
  }
}

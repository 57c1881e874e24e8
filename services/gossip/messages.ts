/**
 * @module messages
 * What sidecars say to each other. One exchange (a "round") is:
 *
 *   A → B  open     {setHash of A}                              (B knows it)
 *   B → A  counters {base = A's hash, B's counters by position, members A lacks, B's hash, reply}
 *   A → B  counters {base = B's hash if A knows it else A's, A's counters, members B lacks}
 *
 * When B does not know A's hash it answers `miss` with its own; if A knows that one, A answers
 * with counters on it (still 3 messages). When neither knows the other's, A sends its full
 * `members` list and B answers with its own: the slow path. Deletions ride along on every message.
 */
import type { Role } from './member';

export interface MemberMeta {
  readonly id: string;
  /** host:port of the member's gossip sidecar (where its peers send). */
  readonly gossipAddress: string;
  /** What the member stands for: the host's gRPC address or the proxy's URL. */
  readonly address: string;
  readonly role: Role;
  readonly weight: number;
}

export interface MemberEntry extends MemberMeta { readonly counter: number }

export interface Deletion {
  readonly id: string;
  /** The counter the deleter last saw: a receiver whose counter is higher refuses (X advanced since). */
  readonly counter: number;
  /** True when X announced its own departure: no guard applies. */
  readonly self: boolean;
}

interface Common { readonly from: string; readonly fromId: string; readonly deletions: readonly Deletion[] }

export type GossipMessage =
  | (Common & { readonly kind: 'open'; readonly setHash: string })
  | (Common & { readonly kind: 'miss'; readonly setHash: string })
  | (Common & {
      readonly kind: 'counters';
      /** A set hash the receiver knows; counters[i] is for its ids[i] (0 = unknown to the sender). */
      readonly baseHash: string;
      readonly counters: ArrayLike<number>;
      /** Members of the sender's set that are not in the base set. */
      readonly extra: readonly MemberEntry[];
      readonly senderHash: string;
      readonly replyWanted: boolean;
    })
  | (Common & { readonly kind: 'members'; readonly members: readonly MemberEntry[]; readonly replyWanted: boolean });

/** Bytes of a protobuf varint. */
function varintBytes(n: number): number {
  if (n < 128) return 1;
  if (n < 16_384) return 2;
  if (n < 2_097_152) return 3;
  if (n < 268_435_456) return 4;
  let bytes = 5;
  for (let x = Math.floor(n / 34_359_738_368); x > 0; x = Math.floor(x / 128)) bytes++;
  return bytes;
}
const str = (s: string): number => 1 + varintBytes(Buffer.byteLength(s)) + Buffer.byteLength(s);
const entryBytes = (m: MemberEntry): number => {
  const inner = str(m.id) + str(m.gossipAddress) + str(m.address) + str(m.role) + 9 + 1 + varintBytes(m.counter);
  return 1 + varintBytes(inner) + inner;
};
const deletionBytes = (d: Deletion): number => { const inner = str(d.id) + 1 + varintBytes(d.counter) + 2; return 1 + varintBytes(inner) + inner; };

/**
 * The size of the message as proto/gossip.proto encodes it (tags, lengths, packed varints), so
 * the simulation's byte counts are what the gRPC transport would put in its frames (before HTTP/2).
 */
export function messageBytes(m: GossipMessage): number {
  let n = str(m.from) + str(m.fromId) + 2;
  for (const d of m.deletions) n += deletionBytes(d);
  switch (m.kind) {
    case 'open':
    case 'miss':
      return n + str(m.setHash);
    case 'counters': {
      let packed = 0;
      for (let i = 0; i < m.counters.length; i++) packed += varintBytes(m.counters[i]!);
      n += str(m.baseHash) + str(m.senderHash) + 2 + 1 + varintBytes(packed) + packed;
      for (const e of m.extra) n += entryBytes(e);
      return n;
    }
    case 'members':
      for (const e of m.members) n += entryBytes(e);
      return n + 2;
  }
}

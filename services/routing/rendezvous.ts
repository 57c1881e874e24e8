/**
 * @module rendezvous
 * Highest-random-weight (rendezvous) hashing: the proxy's guess of which live host owns a
 * document (docs/architecture.md §6). Every proxy computes the same answer from the same host list with
 * no coordination, removing a host moves only the documents it owned, and `rankHosts` gives the
 * failover order ("the next rendezvous host").
 *
 * The hash is FNV-1a 64 over the UTF-8 bytes of `hostId \0 space \0 key`, then murmur3's fmix64
 * finalizer (FNV alone mixes its last bytes poorly). FNV runs on four 16-bit limbs and fmix64 on
 * two uint32 halves with Math.imul, because BigInt allocates on every step and measured ~15x
 * slower (`rendezvous.bench.ts`; `rendezvous-reference.ts` is the BigInt oracle). The top 52 bits
 * become `u` in (0, 1); a host of weight w scores `w / -ln(u)` (the standard weighted formula),
 * so its share of keys is proportional to w. When all weights are equal the order is simply by
 * `u`, so weighted and unweighted hosts agree. Changing any of this moves documents between
 * hosts in a mixed-version fleet: `rendezvous.vectors.json` pins it.
 */

/** A routable host as every membership source reports it. */
export interface RoutingHost {
  readonly id: string;
  /** Where the proxy connects, e.g. `10.0.0.7:9000`. */
  readonly address: string;
  /** Relative capacity; a host of weight 2 gets ~2x the keys of weight 1. Not > 0 means last resort. */
  readonly weight: number;
}

// The hash result as two uint32 halves (module-level so hashing allocates nothing).
let hi = 0;
let lo = 0;
/** UTF-8 bytes of the current non-ASCII character. */
const scratch = new Uint8Array(4);

/** Writes the UTF-8 of the character at `s[i]` into `scratch`; lone surrogates encode as U+FFFD, as TextEncoder does. */
function encodeNonAscii(s: string, i: number, c: number): number {
  if (c < 0x800) { scratch[0] = 0xc0 | (c >> 6); scratch[1] = 0x80 | (c & 63); return 2; }
  if (c >= 0xd800 && c <= 0xdfff) {
    const d = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
    if (c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff) {
      const cp = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
      scratch[0] = 0xf0 | (cp >> 18); scratch[1] = 0x80 | ((cp >> 12) & 63);
      scratch[2] = 0x80 | ((cp >> 6) & 63); scratch[3] = 0x80 | (cp & 63);
      return 4;
    }
    c = 0xfffd;
  }
  scratch[0] = 0xe0 | (c >> 12); scratch[1] = 0x80 | ((c >> 6) & 63); scratch[2] = 0x80 | (c & 63);
  return 3;
}

/**
 * FNV-1a 64 of `a \0 b \0 c` into `hi`/`lo`. The state is four 16-bit limbs in locals so every
 * intermediate stays a small integer (V8 keeps them unboxed). The FNV-64 prime is 2^40 + 0x1b3:
 * one step is `v = (v ^ byte) * 0x1b3 + ((v ^ byte) << 40)`, and `<< 40` is limb n -> n+2, `<< 8`.
 */
function fnv1a(a: string, b: string, c: string): void {
  let v0 = 0x2325; let v1 = 0x8422; let v2 = 0x9ce4; let v3 = 0xcbf2; // offset basis 0xcbf29ce484222325
  for (let part = 0; part < 3; part++) {
    const s = part === 0 ? a : part === 1 ? b : c;
    const len = s.length;
    // Index -1 stands for the \0 separator before parts 1 and 2.
    for (let i = part === 0 ? 0 : -1; i < len; i++) {
      let byte = i < 0 ? 0 : s.charCodeAt(i);
      let n = 1;
      if (byte >= 0x80) { n = encodeNonAscii(s, i, byte); if (n === 4) i++; byte = scratch[0]!; }
      for (let j = 1; ; j++) {
        v0 ^= byte;
        const t0 = v0 * 0x1b3; let t1 = v1 * 0x1b3; let t2 = v2 * 0x1b3 + (v0 << 8); let t3 = v3 * 0x1b3 + (v1 << 8);
        t1 += t0 >>> 16; t2 += t1 >>> 16; t3 += t2 >>> 16;
        v0 = t0 & 0xffff; v1 = t1 & 0xffff; v2 = t2 & 0xffff; v3 = t3 & 0xffff;
        if (j >= n) break;
        byte = scratch[j]!;
      }
    }
  }
  hi = ((v3 << 16) | v2) >>> 0; lo = ((v1 << 16) | v0) >>> 0;
}

/** High 32 bits of the unsigned product a*b (Hacker's Delight mulhu). */
function mulHi32(a: number, b: number): number {
  const a0 = a & 0xffff; const a1 = a >>> 16;
  const b0 = b & 0xffff; const b1 = b >>> 16;
  const mid = a1 * b0 + ((a0 * b0) >>> 16);
  const mid2 = a0 * b1 + (mid & 0xffff);
  return (a1 * b1 + (mid >>> 16) + (mid2 >>> 16)) >>> 0;
}

/** state *= (cHi:cLo) mod 2^64. */
function mulState(cHi: number, cLo: number): void {
  const h = (mulHi32(lo, cLo) + Math.imul(hi, cLo) + Math.imul(lo, cHi)) >>> 0;
  lo = Math.imul(lo, cLo) >>> 0;
  hi = h;
}

/** murmur3 fmix64: k ^= k>>>33; k *= C1; k ^= k>>>33; k *= C2; k ^= k>>>33. */
function fmix64(): void {
  lo = (lo ^ (hi >>> 1)) >>> 0;
  mulState(0xff51afd7, 0xed558ccd);
  lo = (lo ^ (hi >>> 1)) >>> 0;
  mulState(0xc4ceb9fe, 0x1a85ec53);
  lo = (lo ^ (hi >>> 1)) >>> 0;
}

function hashParts(a: string, b: string, c: string): void {
  fnv1a(a, b, c);
  fmix64();
}

/** The 64-bit hash of `hostId \0 space \0 key` as 16 lowercase hex digits (for test vectors and debugging). */
export function hash64Hex(hostId: string, space: string, key: string): string {
  hashParts(hostId, space, key);
  return hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0');
}

/** The unweighted rendezvous score of a host for a document: the hash's top 52 bits as u in (0, 1), exactly. */
export function score(hostId: string, space: string, key: string): number {
  hashParts(hostId, space, key);
  return (hi * 1048576 + (lo >>> 12) + 0.5) / 4503599627370496; // (N + 0.5) / 2^52
}

/** Weighted rendezvous score `w / -ln(u)`; monotonic in u, and 0 for a weight that is not > 0. */
export function weightedScore(weight: number, u: number): number {
  return weight > 0 ? weight / -Math.log(u) : 0;
}

interface Scored { host: RoutingHost; s: number; u: number }

function allSameWeight(hosts: readonly RoutingHost[]): boolean {
  for (let i = 1; i < hosts.length; i++) if (hosts[i]!.weight !== hosts[0]!.weight) return false;
  return true;
}

/** Descending by weighted score, then by u, then ascending by id: a total order. */
function compare(a: Scored, b: Scored): number {
  if (a.s !== b.s) return a.s > b.s ? -1 : 1;
  if (a.u !== b.u) return a.u > b.u ? -1 : 1;
  return a.host.id < b.host.id ? -1 : a.host.id > b.host.id ? 1 : 0;
}

function scoreAll(hosts: readonly RoutingHost[], space: string, key: string): Scored[] {
  const equal = allSameWeight(hosts);
  return hosts.map((host) => {
    const u = score(host.id, space, key);
    return { host, u, s: equal ? u : weightedScore(host.weight, u) };
  });
}

/** The host that should own `space/key`, or undefined when there are no hosts. Same order as `rankHosts`, no allocation. */
export function pickOwner(hosts: readonly RoutingHost[], space: string, key: string): RoutingHost | undefined {
  const equal = allSameWeight(hosts);
  let best: RoutingHost | undefined;
  let bestS = 0;
  let bestU = 0;
  for (const host of hosts) {
    const u = score(host.id, space, key);
    const s = equal ? u : weightedScore(host.weight, u);
    if (best === undefined || s > bestS || (s === bestS && (u > bestU || (u === bestU && host.id < best.id)))) {
      best = host; bestS = s; bestU = u;
    }
  }
  return best;
}

/** Every host in preference order for `space/key`: owner first, then who takes over if it dies. */
export function rankHosts(hosts: readonly RoutingHost[], space: string, key: string): RoutingHost[] {
  return scoreAll(hosts, space, key).sort(compare).map((x) => x.host);
}

/**
 * @module rendezvous-reference
 * An independent, obviously-correct and slow (BigInt, TextEncoder) implementation of the
 * rendezvous hash and ranking in `rendezvous.ts`. It wrote the checked-in test vectors and is the
 * oracle for the fast uint32-halves version in tests and benchmarks; never use it for routing.
 */
import type { RoutingHost } from './rendezvous';

const MASK64 = (1n << 64n) - 1n;

/** FNV-1a 64 over the UTF-8 of `hostId \0 space \0 key`, then murmur3 fmix64. */
export function referenceHash64(hostId: string, space: string, key: string): bigint {
  let h = 0xcbf29ce484222325n;
  for (const b of new TextEncoder().encode(`${hostId}\u0000${space}\u0000${key}`)) {
    h = ((h ^ BigInt(b)) * 0x100000001b3n) & MASK64;
  }
  h ^= h >> 33n;
  h = (h * 0xff51afd7ed558ccdn) & MASK64;
  h ^= h >> 33n;
  h = (h * 0xc4ceb9fe1a85ec53n) & MASK64;
  h ^= h >> 33n;
  return h;
}

export function referenceRank(hosts: readonly RoutingHost[], space: string, key: string): RoutingHost[] {
  const equal = hosts.every((h) => h.weight === hosts[0]?.weight);
  const scored = hosts.map((host) => {
    const u = (Number(referenceHash64(host.id, space, key) >> 12n) + 0.5) / 2 ** 52;
    const s = equal ? u : host.weight > 0 ? host.weight / -Math.log(u) : 0;
    return { host, u, s };
  });
  scored.sort((a, b) => b.s - a.s || b.u - a.u || (a.host.id < b.host.id ? -1 : a.host.id > b.host.id ? 1 : 0));
  return scored.map((x) => x.host);
}

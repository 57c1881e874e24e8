import { hash64Hex, pickOwner, rankHosts, score, weightedScore, type RoutingHost } from './rendezvous';
import { referenceHash64 } from './rendezvous-reference';
import vectors from './rendezvous.vectors.json';
import { mulberry32 } from '../../test/support/prng';

const host = (id: string, weight = 1): RoutingHost => ({ id, address: `${id}:9000`, weight });
const ids = (hosts: readonly RoutingHost[]): string[] => hosts.map((h) => h.id);
const KEYS = Array.from({ length: 30_000 }, (_, i) => `doc-${i}`);


function randomText(next: () => number): string {
  const alphabet = ['a', 'Z', '7', '-', '\u0000', 'é', 'ß', '日', '本', '🎉', '\ud800', '\udfff', '\u07ff', '\u0800', '\uffff'];
  const n = Math.floor(next() * 12);
  let s = '';
  for (let i = 0; i < n; i++) s += alphabet[Math.floor(next() * alphabet.length)];
  return s;
}

function shares(hosts: readonly RoutingHost[], space = 'chat'): Map<string, number> {
  const counts = new Map<string, number>(hosts.map((h) => [h.id, 0]));
  for (const key of KEYS) {
    const owner = pickOwner(hosts, space, key)!.id;
    counts.set(owner, counts.get(owner)! + 1);
  }
  return new Map([...counts].map(([id, n]) => [id, n / KEYS.length]));
}

describe('checked-in test vectors', () => {
  it.each(vectors.hashes)('hashes $hostId / $space / $key to $hex', (v) => {
    expect(hash64Hex(v.hostId, v.space, v.key)).toBe(v.hex);
  });

  it.each(vectors.cases)('$name: owner and ranking match', (v) => {
    expect(pickOwner(v.hosts, v.space, v.key)?.id ?? null).toBe(v.owner);
    expect(ids(rankHosts(v.hosts, v.space, v.key))).toEqual(v.ranking);
  });
});

describe('hash', () => {
  it('matches the BigInt reference on random text, including non-ASCII and lone surrogates', () => {
    const next = mulberry32(7);
    for (let i = 0; i < 3_000; i++) {
      const [a, b, c] = [randomText(next), randomText(next), randomText(next)];
      expect(hash64Hex(a, b, c)).toBe(referenceHash64(a, b, c).toString(16).padStart(16, '0'));
    }
  });

  it('keeps the three parts apart, so moving the separator changes the hash', () => {
    expect(hash64Hex('ab', 'c', 'd')).not.toBe(hash64Hex('a', 'bc', 'd'));
    expect(hash64Hex('a', 'b', 'cd')).not.toBe(hash64Hex('a', 'bc', 'd'));
  });

  it('scores strictly inside (0, 1) so the weighted formula never divides by zero', () => {
    const bad = KEYS.map((key) => score('host-a', 'chat', key))
      .filter((u) => !(u > 0 && u < 1 && Number.isFinite(weightedScore(1, u)) && weightedScore(1, u) > 0));
    expect(bad).toEqual([]);
  });
});

describe('pickOwner and rankHosts', () => {
  const three = [host('host-a'), host('host-b'), host('host-c')];

  it('returns undefined and an empty ranking when there are no hosts', () => {
    expect(pickOwner([], 'chat', 'room')).toBeUndefined();
    expect(rankHosts([], 'chat', 'room')).toEqual([]);
  });

  it('does not depend on the order hosts are listed in', () => {
    for (const key of KEYS.slice(0, 500)) {
      expect(ids(rankHosts([...three].reverse(), 'chat', key))).toEqual(ids(rankHosts(three, 'chat', key)));
    }
  });

  it('ranks by the unweighted score when all weights are equal, whatever the weight', () => {
    const heavy = three.map((h) => host(h.id, 7));
    for (const key of KEYS.slice(0, 2_000)) {
      const byScore = [...three].sort((a, b) => score(b.id, 'chat', key) - score(a.id, 'chat', key));
      expect(ids(rankHosts(heavy, 'chat', key))).toEqual(ids(byScore));
    }
  });

  it('keeps equal-weight hosts in unweighted order among themselves when other weights differ', () => {
    const mixed = [host('host-a'), host('host-b'), host('host-c'), host('big', 3)];
    for (const key of KEYS.slice(0, 2_000)) {
      const equalOnes = rankHosts(mixed, 'chat', key).filter((h) => h.weight === 1);
      expect(ids(equalOnes)).toEqual(ids(rankHosts(three, 'chat', key)));
    }
  });

  it('picks the first host of the ranking, weighted or not', () => {
    const weighted = [host('host-a', 1), host('host-b', 2), host('host-c', 0.5)];
    for (const key of KEYS.slice(0, 2_000)) {
      expect(pickOwner(weighted, 'chat', key)).toBe(rankHosts(weighted, 'chat', key)[0]);
      expect(pickOwner(three, 'chat', key)).toBe(rankHosts(three, 'chat', key)[0]);
    }
  });

  it('never gives a key to a host whose weight is zero, negative or NaN while a positive one exists', () => {
    const hosts = [host('zero', 0), host('negative', -1), host('nan', NaN), host('real', 1)];
    for (const key of KEYS.slice(0, 2_000)) expect(pickOwner(hosts, 'chat', key)!.id).toBe('real');
  });

  it('does not reorder the array it is given', () => {
    const hosts = [host('host-c'), host('host-a'), host('host-b')];
    rankHosts(hosts, 'chat', 'room-1');
    expect(ids(hosts)).toEqual(['host-c', 'host-a', 'host-b']);
  });
});

describe('distribution', () => {
  it('gives each of 3 equal hosts 33% ± 2% of 30k keys', () => {
    for (const share of shares([host('host-a'), host('host-b'), host('host-c')]).values()) {
      expect(Math.abs(share - 1 / 3)).toBeLessThan(0.02);
    }
  });

  it('splits 30k keys 25/50/25 ± 2% for weights 1:2:1', () => {
    const s = shares([host('host-a', 1), host('host-b', 2), host('host-c', 1)]);
    expect(Math.abs(s.get('host-a')! - 0.25)).toBeLessThan(0.02);
    expect(Math.abs(s.get('host-b')! - 0.5)).toBeLessThan(0.02);
    expect(Math.abs(s.get('host-c')! - 0.25)).toBeLessThan(0.02);
  });

  it('moves only the keys of a removed host; every other key keeps its owner', () => {
    const before = [host('host-a'), host('host-b', 2), host('host-c'), host('host-d')];
    const after = before.filter((h) => h.id !== 'host-b');
    const wrong = KEYS.filter((key) => {
      const owner = pickOwner(before, 'chat', key)!.id;
      const next = pickOwner(after, 'chat', key)!.id;
      return owner === 'host-b' ? next !== rankHosts(before, 'chat', key)[1]!.id : next !== owner;
    });
    expect(wrong).toEqual([]);
  });

  it('gives a new fourth host ~1/4 of the keys, taken only by moves to it', () => {
    const before = [host('host-a'), host('host-b'), host('host-c')];
    const after = [...before, host('host-d')];
    const moves = KEYS.map((key) => [pickOwner(before, 'chat', key)!.id, pickOwner(after, 'chat', key)!.id] as const)
      .filter(([owner, next]) => owner !== next);
    expect(moves.filter(([, next]) => next !== 'host-d')).toEqual([]);
    expect(Math.abs(moves.length / KEYS.length - 0.25)).toBeLessThan(0.02);
  });
});

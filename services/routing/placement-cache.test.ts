import { PlacementCache, placementCacheDefaults, route } from './placement-cache';
import { pickOwner, rankHosts, type RoutingHost } from './rendezvous';

const host = (id: string, weight = 1): RoutingHost => ({ id, address: `${id}:9000`, weight });
const HOSTS = [host('host-a'), host('host-b'), host('host-c'), host('host-d')];
const noCache = { get: (): string | undefined => undefined };

describe('PlacementCache', () => {
  it('returns the host a document was last set to, and undefined for an unknown one', () => {
    const cache = new PlacementCache();
    cache.set('chat', 'room-1', 'host-a');
    expect(cache.get('chat', 'room-1')).toBe('host-a');
    expect(cache.get('chat', 'room-2')).toBeUndefined();
  });

  it('keeps the same key in different spaces apart', () => {
    const cache = new PlacementCache();
    cache.set('chat', 'room-1', 'host-a');
    cache.set('game', 'room-1', 'host-b');
    expect([cache.get('chat', 'room-1'), cache.get('game', 'room-1')]).toEqual(['host-a', 'host-b']);
  });

  it('defaults to a capacity of 100k and refuses one that is not a positive integer', () => {
    expect(new PlacementCache().capacity).toBe(placementCacheDefaults.capacity);
    expect(placementCacheDefaults.capacity).toBe(100_000);
    for (const capacity of [0, -1, 1.5, NaN]) expect(() => new PlacementCache({ capacity })).toThrow(RangeError);
  });

  it('evicts the least recently set placement beyond capacity', () => {
    const cache = new PlacementCache({ capacity: 2 });
    cache.set('s', 'k1', 'host-a');
    cache.set('s', 'k2', 'host-a');
    cache.set('s', 'k3', 'host-a');
    expect(cache.size).toBe(2);
    expect([cache.peek('s', 'k1'), cache.peek('s', 'k2'), cache.peek('s', 'k3')]).toEqual([undefined, 'host-a', 'host-a']);
  });

  it('counts a get as a use, so a read placement outlives an unread one', () => {
    const cache = new PlacementCache({ capacity: 2 });
    cache.set('s', 'k1', 'host-a');
    cache.set('s', 'k2', 'host-a');
    cache.get('s', 'k1');
    cache.set('s', 'k3', 'host-a');
    expect(cache.peek('s', 'k1')).toBe('host-a');
    expect(cache.peek('s', 'k2')).toBeUndefined();
  });

  it('does not count a peek as a use', () => {
    const cache = new PlacementCache({ capacity: 2 });
    cache.set('s', 'k1', 'host-a');
    cache.set('s', 'k2', 'host-a');
    cache.peek('s', 'k1');
    cache.set('s', 'k3', 'host-a');
    expect(cache.peek('s', 'k1')).toBeUndefined();
  });

  it('counts re-setting a placement as a use and does not grow', () => {
    const cache = new PlacementCache({ capacity: 2 });
    cache.set('s', 'k1', 'host-a');
    cache.set('s', 'k2', 'host-a');
    cache.set('s', 'k1', 'host-a');
    cache.set('s', 'k3', 'host-a');
    expect([cache.peek('s', 'k1'), cache.peek('s', 'k2'), cache.size]).toEqual(['host-a', undefined, 2]);
  });

  it('forgets one document on invalidate and says whether it was cached', () => {
    const cache = new PlacementCache();
    cache.set('s', 'k1', 'host-a');
    cache.set('s', 'k2', 'host-a');
    expect(cache.invalidate('s', 'k1')).toBe(true);
    expect(cache.invalidate('s', 'k1')).toBe(false);
    expect([cache.get('s', 'k1'), cache.get('s', 'k2')]).toEqual([undefined, 'host-a']);
    expect(cache.invalidateHost('host-a')).toBe(1);
  });

  it('forgets every placement on a host, and only those, on invalidateHost', () => {
    const cache = new PlacementCache();
    for (let i = 0; i < 10; i++) cache.set('s', `k${i}`, i % 2 === 0 ? 'host-a' : 'host-b');
    expect(cache.invalidateHost('host-a')).toBe(5);
    expect(cache.size).toBe(5);
    expect(cache.get('s', 'k0')).toBeUndefined();
    expect(cache.get('s', 'k1')).toBe('host-b');
    expect(cache.invalidateHost('host-a')).toBe(0);
    expect(cache.invalidateHost('host-unknown')).toBe(0);
  });

  it('moves a document to its new host, so invalidating the old host keeps it', () => {
    const cache = new PlacementCache();
    cache.set('s', 'k1', 'host-a');
    cache.set('s', 'k1', 'host-b');
    expect(cache.invalidateHost('host-a')).toBe(0);
    expect(cache.get('s', 'k1')).toBe('host-b');
  });

  it('does not count evicted placements when invalidating their host', () => {
    const cache = new PlacementCache({ capacity: 3 });
    for (let i = 0; i < 5; i++) cache.set('s', `k${i}`, 'host-a');
    expect(cache.invalidateHost('host-a')).toBe(3);
    expect(cache.size).toBe(0);
  });

  it('forgets everything on clear', () => {
    const cache = new PlacementCache();
    cache.set('s', 'k1', 'host-a');
    cache.clear();
    expect([cache.size, cache.get('s', 'k1'), cache.invalidateHost('host-a')]).toEqual([0, undefined, 0]);
  });
});

describe('route', () => {
  it('sends a document with no placement to its rendezvous owner', () => {
    expect(route('chat', 'room-1', HOSTS, new PlacementCache())).toBe(pickOwner(HOSTS, 'chat', 'room-1'));
  });

  it('prefers the cached placement while that host is live', () => {
    const cache = new PlacementCache();
    const notOwner = rankHosts(HOSTS, 'chat', 'room-1')[2]!;
    cache.set('chat', 'room-1', notOwner.id);
    expect(route('chat', 'room-1', HOSTS, cache)).toBe(notOwner);
  });

  it('falls back to the rendezvous owner when the cached host has left the membership', () => {
    const cache = new PlacementCache();
    cache.set('chat', 'room-1', 'host-gone');
    expect(route('chat', 'room-1', HOSTS, cache)).toBe(pickOwner(HOSTS, 'chat', 'room-1'));
  });

  it('skips an excluded cached host for the top-ranked host not excluded', () => {
    const cache = new PlacementCache();
    const [owner, second] = rankHosts(HOSTS, 'chat', 'room-1');
    cache.set('chat', 'room-1', owner!.id);
    expect(route('chat', 'room-1', HOSTS, cache, new Set([owner!.id]))).toBe(second);
  });

  it('fails over to the next rendezvous host when the owner is excluded', () => {
    for (let i = 0; i < 200; i++) {
      const ranked = rankHosts(HOSTS, 'chat', `doc-${i}`);
      expect(route('chat', `doc-${i}`, HOSTS, noCache, new Set([ranked[0]!.id]))).toBe(ranked[1]);
      expect(route('chat', `doc-${i}`, HOSTS, noCache, new Set([ranked[0]!.id, ranked[1]!.id]))).toBe(ranked[2]);
    }
  });

  it('fails over in weighted rendezvous order too', () => {
    const weighted = [host('host-a', 1), host('host-b', 3), host('host-c', 1)];
    for (let i = 0; i < 200; i++) {
      const ranked = rankHosts(weighted, 'chat', `doc-${i}`);
      expect(route('chat', `doc-${i}`, weighted, noCache, new Set([ranked[0]!.id]))).toBe(ranked[1]);
    }
  });

  it('returns undefined when every host is excluded or there are none', () => {
    expect(route('chat', 'room-1', HOSTS, noCache, new Set(HOSTS.map((h) => h.id)))).toBeUndefined();
    expect(route('chat', 'room-1', [], noCache)).toBeUndefined();
  });

  it('returns the membership entry, so a host that moved is reached at its new address', () => {
    const cache = new PlacementCache();
    cache.set('chat', 'room-1', 'host-b');
    const moved = HOSTS.map((h) => (h.id === 'host-b' ? { ...h, address: 'new:9000' } : h));
    expect(route('chat', 'room-1', moved, cache)?.address).toBe('new:9000');
  });

  it('changes nothing in the cache', () => {
    const cache = new PlacementCache();
    cache.set('chat', 'room-1', 'host-gone');
    route('chat', 'room-1', HOSTS, cache);
    route('chat', 'room-2', HOSTS, cache);
    expect([cache.size, cache.peek('chat', 'room-1')]).toEqual([1, 'host-gone']);
  });
});

import { diffMembers, sameMembers, sortHosts } from './membership';
import type { RoutingHost } from './rendezvous';

const host = (id: string, address = `${id}:9000`, weight = 1): RoutingHost => ({ id, address, weight });

describe('sameMembers', () => {
  it('is true for the same hosts in another order', () => {
    expect(sameMembers([host('a'), host('b')], [host('b'), host('a')])).toBe(true);
  });

  it('is true for two empty lists', () => {
    expect(sameMembers([], [])).toBe(true);
  });

  it('is false when a host was added or removed', () => {
    expect(sameMembers([host('a')], [host('a'), host('b')])).toBe(false);
    expect(sameMembers([host('a'), host('b')], [host('a'), host('c')])).toBe(false);
  });

  it('is false when a host moved to another address', () => {
    expect(sameMembers([host('a', 'x:1')], [host('a', 'x:2')])).toBe(false);
  });

  it('is false when a weight changed', () => {
    expect(sameMembers([host('a', 'x:1', 1)], [host('a', 'x:1', 2)])).toBe(false);
  });

  it('treats NaN weights as equal, so a bad weight does not look like a change on every poll', () => {
    expect(sameMembers([host('a', 'x:1', NaN)], [host('a', 'x:1', NaN)])).toBe(true);
  });

  it('does not reorder its arguments', () => {
    const a = [host('b'), host('a')];
    sameMembers(a, [host('a'), host('b')]);
    expect(a.map((h) => h.id)).toEqual(['b', 'a']);
  });
});

describe('sortHosts', () => {
  it('returns a frozen copy sorted by id', () => {
    const input = [host('c'), host('a'), host('b')];
    const sorted = sortHosts(input);
    expect(sorted.map((h) => h.id)).toEqual(['a', 'b', 'c']);
    expect(Object.isFrozen(sorted)).toBe(true);
    expect(Object.isFrozen(sorted[0])).toBe(true);
    expect(input.map((h) => h.id)).toEqual(['c', 'a', 'b']);
  });

  it('keeps only id, address and weight', () => {
    const extra = { ...host('a'), secret: 'x' } as RoutingHost;
    expect(sortHosts([extra])).toEqual([host('a')]);
  });
});

describe('diffMembers', () => {
  it('lists added, removed and changed host ids', () => {
    const before = [host('a'), host('b'), host('c', 'c:1')];
    const after = [host('b'), host('c', 'c:2'), host('d')];
    expect(diffMembers(before, after)).toEqual({ added: ['d'], removed: ['a'], changed: ['c'] });
  });

  it('reports nothing for the same set', () => {
    expect(diffMembers([host('a')], [host('a')])).toEqual({ added: [], removed: [], changed: [] });
  });
});

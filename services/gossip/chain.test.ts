import { advanceChain, lookupSet, newChain } from './chain';
import { setHash } from './set-hash';

describe('chain', () => {
  it('finds the current set and earlier sets by hash', () => {
    let c = newChain(['a']);
    c = advanceChain(c, ['a', 'b'], 4);
    c = advanceChain(c, ['a', 'b', 'c'], 4);
    expect(lookupSet(c, setHash(['a', 'b', 'c']))?.ids).toEqual(['a', 'b', 'c']);
    expect(lookupSet(c, setHash(['a', 'b']))?.ids).toEqual(['a', 'b']);
    expect(lookupSet(c, setHash(['a']))?.ids).toEqual(['a']);
    expect(lookupSet(c, setHash(['z']))).toBeUndefined();
  });

  it('keeps at most historySets earlier sets, dropping the oldest', () => {
    let c = newChain(['a']);
    for (const id of ['b', 'c', 'd']) c = advanceChain(c, ['a', id], 2);
    expect(c.history.map((s) => s.ids)).toEqual([['a', 'b'], ['a', 'c']]);
    expect(lookupSet(c, setHash(['a']))).toBeUndefined();
  });

  it('does not move when the set is the same', () => {
    const c = newChain(['a', 'b']);
    expect(advanceChain(c, ['a', 'b'], 4)).toBe(c);
  });

  it('does not list a set twice when membership flaps back', () => {
    let c = newChain(['a']);
    c = advanceChain(c, ['a', 'b'], 4);
    c = advanceChain(c, ['a'], 4);
    expect(c.history.map((s) => s.ids)).toEqual([['a', 'b']]);
  });
});

import type { ChangeRecord } from '../storage/data-service';
import { DedupeWindow } from './dedupe-window';
import { DocumentHistory } from './document-history';

const rec = (seq: number): ChangeRecord => ({ seq, who: null, request: {}, redo: {}, undo: {} });

describe('DocumentHistory', () => {
  it('serves a range it fully holds', () => {
    const h = new DocumentHistory(10);
    for (let s = 1; s <= 5; s++) h.push(rec(s));
    expect(h.range(2, 5)?.map((r) => r.seq)).toEqual([3, 4, 5]);
    expect(h.range(5, 5)).toEqual([]);
  });

  it('refuses a range that starts before what it still holds', () => {
    const h = new DocumentHistory(3);
    for (let s = 1; s <= 6; s++) h.push(rec(s));
    expect(h.range(2, 6)).toBeUndefined();
    expect(h.range(3, 6)?.map((r) => r.seq)).toEqual([4, 5, 6]);
  });

  it('refuses a range that ends past what it holds', () => {
    const h = new DocumentHistory(5);
    h.push(rec(1));
    expect(h.range(0, 2)).toBeUndefined();
  });
});

describe('DedupeWindow', () => {
  it('remembers the seq of a key', () => {
    const w = new DedupeWindow(4);
    w.remember('a', 7);
    expect(w.get('a')).toBe(7);
    expect(w.get('b')).toBeUndefined();
  });

  it('forgets the oldest keys past its capacity', () => {
    const w = new DedupeWindow(2);
    w.remember('a', 1);
    w.remember('b', 2);
    w.remember('c', 3);
    expect(w.get('a')).toBeUndefined();
    expect(w.entries()).toEqual([['b', 2], ['c', 3]]);
  });
});

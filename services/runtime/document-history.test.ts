import type { ChangeRecord } from '../storage/data-service';
import type { Json } from '../shared/json';
import type { Who } from '../shared/identity';
import { DedupeWindow, recordDedupeKey, scopedDedupeKey } from './dedupe-window';
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
  const alice: Who = { agent: 'alice', authority: 'anonymous' };
  const bob: Who = { agent: 'bob', authority: 'anonymous' };
  const tokenAlice: Who = { agent: 'alice', authority: 'jwt' };

  it('remembers the seq of a key for the principal that sent it', () => {
    const w = new DedupeWindow(4);
    w.remember(scopedDedupeKey(alice, 'a'), 7);
    expect(w.get(alice, 'a')).toBe(7);
    expect(w.get(alice, 'b')).toBeUndefined();
  });

  it('does not let another principal, or the same name under another authority, reuse a key', () => {
    const w = new DedupeWindow(4);
    w.remember(scopedDedupeKey(alice, 'a'), 7);
    expect(w.get(bob, 'a')).toBeUndefined();
    expect(w.get(tokenAlice, 'a')).toBeUndefined();
  });

  it('forgets the oldest keys past its capacity', () => {
    const w = new DedupeWindow(2);
    w.remember(scopedDedupeKey(alice, 'a'), 1);
    w.remember(scopedDedupeKey(alice, 'b'), 2);
    w.remember(scopedDedupeKey(alice, 'c'), 3);
    expect(w.get(alice, 'a')).toBeUndefined();
    expect(w.get(alice, 'b')).toBe(2);
  });

  it('round-trips through snapshot meta, and reads bare keys of older snapshots as anyone\'s', () => {
    const w = new DedupeWindow(4);
    w.remember(scopedDedupeKey(alice, 'a'), 7);
    const restored = new DedupeWindow(4);
    restored.rememberMeta(w.toMeta() as unknown as Json);
    expect(restored.get(alice, 'a')).toBe(7);
    expect(restored.get(bob, 'a')).toBeUndefined();

    const legacy = new DedupeWindow(4);
    legacy.rememberMeta({ dedupe: [['old', 3]] });
    expect(legacy.get(bob, 'old')).toBe(3);
  });

  it('keys a record by its sender, and only a send with a dedupe key', () => {
    expect(recordDedupeKey({ who: alice, request: { kind: 'send', dedupe: 'a' } })).toBe(scopedDedupeKey(alice, 'a'));
    expect(recordDedupeKey({ who: alice, request: { kind: 'send' } })).toBeUndefined();
    expect(recordDedupeKey({ who: null, request: { kind: 'init', dedupe: 'a' } })).toBeUndefined();
  });
});

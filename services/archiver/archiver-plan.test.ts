import { archiveKey, decodeArchive, encodeArchive, parseArchiveKey } from './archive-format';
import { DedupeWindow } from '../runtime/dedupe-window';
import { cutArchive } from './archive-cut';
import { lagMs, nextStartMs, planGcCandidates, resolveArchiverConfig } from './archiver-plan';
import { DocBackoff } from './doc-backoff';
import { E } from '../shared/errors';
import type { Json } from '../shared/json';
import type { ChangeRecord } from '../storage/data-service';

const ref = { space: 's', key: 'k' };

describe('archiver-plan', () => {
  it('nextStartMs spaces starts evenly at docsPerSecond and never schedules in the past', () => {
    expect(nextStartMs(null, 10, 1_000)).toBe(1_000);
    expect(nextStartMs(1_000, 10, 1_010)).toBe(1_100);
    expect(nextStartMs(1_000, 10, 5_000)).toBe(5_000);
  });

  it('planGcCandidates keeps young objects and foreign keys', () => {
    const old = archiveKey(ref, 3, 1_000, 'a1');
    const young = archiveKey(ref, 3, 9_500, 'b2');
    expect(planGcCandidates([old, young, 'archive/not-ours.txt'], 10_000, 1_000)).toEqual([{ ...ref, headSeq: 3, createdMs: 1_000, claimToken: 'a1', objectKey: old }]);
  });

  it('lagMs is how far past the idle threshold the oldest claimed document was', () => {
    expect(lagMs([], 100, 1_000)).toBe(0);
    expect(lagMs([500, 700], 100, 1_000)).toBe(400);
    expect(lagMs([950], 100, 1_000)).toBe(0);
  });

  it('resolveArchiverConfig rejects unknown keys and a GC grace shorter than the claim lease', () => {
    expect(() => resolveArchiverConfig({ idleMs: 5, nope: 1 } as never)).toThrow(/unknown/);
    expect(() => resolveArchiverConfig({ claimLeaseMs: 10_000, gcGraceMs: 5_000 })).toThrow(/gcGraceMs/);
    expect(Object.isFrozen(resolveArchiverConfig({}))).toBe(true);
  });
});

describe('archive-format', () => {
  const doc = { ...ref, headSeq: 7, epoch: 2, archivedAtMs: 5, state: { a: { '@o': ['x'], x: { id: 'x' } } }, meta: { dedupe: [['d', 6]] } };

  it('round-trips a document and parses its key', () => {
    expect(decodeArchive(encodeArchive(doc), 'key', ref, 7)).toEqual(doc);
    expect(parseArchiveKey(archiveKey(ref, 7, 123, 'abc'))).toEqual({ ...ref, headSeq: 7, createdMs: 123, claimToken: 'abc' });
    expect(parseArchiveKey('archive/s/k/x.json')).toBeNull();
  });

  it.each([
    ['a flipped byte', (b: string) => b.replace('"epoch":2', '"epoch":3')],
    ['truncation', (b: string) => b.slice(0, -10)],
    ['another format', (b: string) => b.replace('adama-archive/1', 'adama-archive/9')],
  ])('refuses %s as ARCHIVE_CORRUPT', (_name, mutate) => {
    const body = Buffer.from(mutate(encodeArchive(doc).toString()));
    expect(() => decodeArchive(body, 'key', ref, 7)).toThrow(expect.objectContaining({ entry: E.ARCHIVE_CORRUPT }));
  });

  it('refuses an object for another seq or document', () => {
    expect(() => decodeArchive(encodeArchive(doc), 'key', ref, 8)).toThrow(/seq 7/);
    expect(() => decodeArchive(encodeArchive(doc), 'key', { space: 's', key: 'other' }, 7)).toThrow(/holds s\/k/);
  });
});

describe('cutArchive', () => {
  const bob = { agent: 'bob', authority: 'anonymous' };
  const r = (seq: number, redo: Json, dedupe?: string): ChangeRecord => ({ seq, who: bob, request: dedupe ? { kind: 'send', dedupe } : {}, redo, undo: null });

  it('replays snapshot + log to the claimed head and carries dedupe keys, each scoped to its sender', () => {
    const cut = cutArchive({ seq: 2, state: { v: 2 }, meta: { dedupe: [['a', 2]] } }, [r(3, { v: 3 }, 'b'), r(4, { w: 1 })], 4, 10);
    expect(cut).toMatchObject({ kind: 'ok', state: { v: 3, w: 1 } });
    const window = new DedupeWindow(10);
    window.rememberMeta((cut as { meta: Json }).meta);
    expect(window.get(bob, 'b')).toBe(3);
    expect(window.get({ agent: 'alice', authority: 'anonymous' }, 'b')).toBeUndefined();
    // 'a' came from a snapshot written before keys were scoped: it still matches anyone.
    expect(window.get({ agent: 'alice', authority: 'anonymous' }, 'a')).toBe(2);
  });

  it('ignores records past the claimed head (a later writer) and skips a log that does not reach it', () => {
    expect(cutArchive(null, [r(1, { v: 1 }), r(2, { v: 2 })], 1, 10)).toMatchObject({ kind: 'ok', state: { v: 1 } });
    expect(cutArchive(null, [r(1, { v: 1 })], 2, 10)).toMatchObject({ kind: 'skip' });
    expect(cutArchive(null, [r(1, {}), r(3, {})], 3, 10)).toMatchObject({ kind: 'skip' });
    expect(cutArchive({ seq: 5, state: {}, meta: null }, [], 4, 10)).toMatchObject({ kind: 'skip' });
  });
});

describe('DocBackoff', () => {
  it('waits base, then doubles per failure up to the cap, per document; a success forgets it', () => {
    const b = new DocBackoff(1_000, 5_000);
    expect(b.blocked('a', 0)).toBe(false);
    expect(b.failed('a', 0)).toBe(1_000);
    expect(b.blocked('a', 999)).toBe(true);
    expect(b.blocked('b', 999)).toBe(false);
    expect(b.blocked('a', 1_000)).toBe(false);
    expect(b.failed('a', 1_000)).toBe(2_000);
    expect(b.failed('a', 3_000)).toBe(4_000);
    expect(b.failed('a', 7_000)).toBe(5_000);
    expect(b.failed('a', 12_000)).toBe(5_000);
    b.succeeded('a');
    expect(b.blocked('a', 12_001)).toBe(false);
    expect(b.failed('a', 20_000)).toBe(1_000);
  });

  it('remembers at most maxEntries documents', () => {
    const b = new DocBackoff(1_000, 5_000, 3);
    for (const d of ['a', 'b', 'c', 'd']) b.failed(d, 0);
    expect(b.size).toBe(3);
    expect(b.blocked('a', 1)).toBe(false);
    expect(b.blocked('d', 1)).toBe(true);
  });
});

/**
 * Drafts must behave exactly like the plain objects a handler thinks it has. The array methods
 * that move many elements run natively on the draft's copy (bulkMethod); these tests run random
 * sequences of array operations both on a draft and on a plain deep copy and require the same
 * resulting state and the same redo/undo patches as a whole-state diff. One difference is by
 * design, as in Immer: the state is JSON, a tree, so one object placed in two slots (copyWithin,
 * fill) is two values, and editing one slot later does not edit the other.
 */
import { apply, decode, diff, encode } from '../../protocol/delta';
import type { Json } from '../../shared/json';
import { mulberry32 } from '../../../test/support/prng';
import { ResidentDoc, Store } from './resident-core';

type Any = any; // eslint-disable-line @typescript-eslint/no-explicit-any
type Op = (list: Any[], rnd: () => number, nextId: () => number) => void;

const item = (id: number) => ({ id, text: `m${id}`, tags: [id % 3] });

/** Each op does to `list` what a space handler might; on a draft `list` is a Proxy. */
const OPS: Op[] = [
  (l, _r, id) => { l.push(item(id())); },
  (l) => { l.shift(); },
  (l, _r, id) => { l.unshift(item(id())); },
  (l, r, id) => { l.splice(Math.floor(r() * (l.length + 1)), Math.floor(r() * 3), item(id()), item(id())); },
  (l) => { l.reverse(); },
  (l) => { l.sort((a: Any, b: Any) => (a.text < b.text ? -1 : a.text > b.text ? 1 : 0)); },
  (l) => { if (l.length > 0) l[0].text = `edited-${l[0].id}`; },
  (l) => { const kept = l[l.length - 1]; l.shift(); if (kept) kept.tags.push(99); },
  (l) => { const removed = l.splice(0, 1); if (removed[0]) { removed[0].text = 'moved'; l.push(removed[0]); } },
  (l) => { const first = l.shift(); if (first) { first.text = 'requeued'; l.push(first); } },
  (l) => { l.fill(item(0), l.length); }, // a no-op fill: fill and copyWithin alias one object in two slots (below)
  (l) => { l.pop(); },
];

describe('resident-core drafts of arrays', () => {
  it('give the same state and patches as plain arrays over random operation sequences', () => {
    for (let seed = 1; seed <= 60; seed++) {
      const rnd = mulberry32(seed);
      let n = 0;
      const start = { list: Array.from({ length: 1 + Math.floor(rnd() * 8) }, () => item(++n)) };
      const store = new Store();
      const doc = new ResidentDoc(store, JSON.parse(JSON.stringify(start)) as Json, 0);
      let plain: Any = JSON.parse(JSON.stringify(start));
      for (let seq = 1; seq <= 12; seq++) {
        const ops = Array.from({ length: 1 + Math.floor(rnd() * 3) }, () => OPS[Math.floor(rnd() * OPS.length)]!);
        const idsFrom = n;
        // Both sides must mint the same ids: each gets its own counter from the same start.
        let draftIds = idsFrom;
        let plainIds = idsFrom;
        const opSeeds = ops.map(() => rnd());
        const before = plain;
        const step = doc.step(seq, 1 << 30, true, (draft) => {
          ops.forEach((op, i) => op(draft.list, mulberry32(Math.floor(opSeeds[i]! * 1e9)), () => ++draftIds));
          return { state: undefined };
        });
        plain = JSON.parse(JSON.stringify(plain));
        ops.forEach((op, i) => op(plain.list, mulberry32(Math.floor(opSeeds[i]! * 1e9)), () => ++plainIds));
        n = plainIds;
        // JSON-normalised (holes and undefined as JSON.stringify sees them).
        plain = JSON.parse(JSON.stringify(plain));
        doc.commit(seq);
        expect({ seed, seq, state: decode(store.encode(doc.committed)) }).toEqual({ seed, seq, state: plain });
        expect(step.redo ?? null).toEqual(diff(encode(before), encode(plain)) ?? null);
        expect(step.undo ?? null).toEqual(diff(encode(plain), encode(before)) ?? null);
        // The size is kept incrementally for lists edited from the committed one; it must be the full sum.
        expect(step.bytes).toBe(new Store().size(encode(plain)));
      }
    }
  });

  it('leaves the committed state untouched when a handler throws after a bulk method', () => {
    const store = new Store();
    const doc = new ResidentDoc(store, { list: [item(1), item(2), item(3)] }, 0);
    expect(() => doc.step(1, 1 << 30, true, (draft) => { draft.list.reverse(); draft.list.shift(); throw new Error('refused'); })).toThrow('refused');
    expect(doc.committed).toEqual({ list: [item(1), item(2), item(3)] });
  });

  it('costs about one pass over a 1000-element list for a shift, not a draft per element', () => {
    const store = new Store();
    const doc = new ResidentDoc(store, { list: Array.from({ length: 1000 }, (_, i) => item(i)) }, 0);
    let drafts = 0;
    const realProxy = Proxy.revocable;
    (Proxy as Any).revocable = (...a: Any[]) => { drafts++; return (realProxy as Any)(...a); };
    try {
      doc.step(1, 1 << 30, true, (draft) => { draft.list.shift(); draft.list.push(item(5000)); return { state: undefined }; });
    } finally {
      (Proxy as Any).revocable = realProxy;
    }
    // The root and the list, not one per element moved.
    expect(drafts).toBeLessThanOrEqual(3);
  });
});

describe('resident-core speculated views (one isolate call per message)', () => {
  type Doc = InstanceType<typeof ResidentDoc>;
  const chat = { view: (s: Any, who: Any) => ({ list: s.list, me: who.agent, n: s.list.length }) };
  const viewers = (doc: Doc): void => { for (let id = 1; id <= 3; id++) doc.join({ id, who: { agent: `u${id % 2}` }, viewerState: {} }); };
  const add = (text: string) => (draft: Any) => { draft.list.push({ id: draft.list.length + 1000, text }); return { state: undefined }; };
  /** What each viewer holds after applying the groups' deltas, by id. */
  const holds = (groups: readonly { ids: number[]; data?: string; reset?: boolean }[], held: Map<number, Json>): void => {
    for (const g of groups) for (const id of g.ids) if (g.data !== undefined) held.set(id, g.reset ? JSON.parse(g.data) : apply(held.get(id) ?? {}, JSON.parse(g.data)));
  };

  it('gives exactly the deltas a publish after the commit gives, over random sends', () => {
    const rnd = mulberry32(7);
    const plain = new ResidentDoc(new Store(), { list: [] }, 0);
    const spec = new ResidentDoc(new Store(), { list: [] }, 0);
    viewers(plain); viewers(spec);
    const first = plain.publish(chat, 0, 1 << 20, 1000, Date.now)!;
    expect(spec.publish(chat, 0, 1 << 20, 1000, Date.now)).toEqual(first);
    const heldPlain = new Map<number, Json>();
    const heldSpec = new Map<number, Json>();
    holds(first, heldPlain); holds(first, heldSpec);
    for (let seq = 1; seq <= 40; seq++) {
      const text = rnd() < 0.2 ? 'same' : `m${seq}`;
      plain.step(seq, 1 << 30, true, add(text));
      spec.step(seq, 1 << 30, true, add(text));
      const speculated = spec.speculate(chat, seq, 1 << 20, 1000, Date.now);
      expect(speculated).not.toBeNull();
      plain.commit(seq);
      spec.commit(seq);
      const published = plain.publish(chat, seq, 1 << 20, 1000, Date.now)!;
      expect(speculated!.map((g) => g.data)).toEqual(published.map((g) => g.data));
      holds(published, heldPlain); holds(speculated!, heldSpec);
      expect(heldSpec).toEqual(heldPlain);
    }
    // A publish after speculated commits has nothing left to send.
    expect(spec.publish(chat, 40, 1 << 20, 1000, Date.now)).toEqual([]);
  });

  it('declines while a viewer waits for its own view, and after a refused change gives everyone a full view', () => {
    const doc = new ResidentDoc(new Store(), { list: [] }, 0);
    viewers(doc);
    doc.step(1, 1 << 30, true, add('a'));
    expect(doc.speculate(chat, 1, 1 << 20, 1000, Date.now)).toBeNull(); // the joins wait for a publish
    doc.commit(1);
    const joined = doc.publish(chat, 1, 1 << 20, 1000, Date.now)!;
    expect(joined.every((g) => g.reset === true)).toBe(true);
    doc.step(2, 1 << 30, true, add('b'));
    expect(doc.speculate(chat, 2, 1 << 20, 1000, Date.now)!.length).toBeGreaterThan(0);
    doc.rollback(); // the append of seq 2 was refused: the speculated views were never delivered
    const after = doc.publish(chat, 1, 1 << 20, 1000, Date.now)!;
    expect(after.every((g) => g.reset === true)).toBe(true);
    expect(after.flatMap((g) => g.ids).sort()).toEqual([1, 2, 3]);
    expect(JSON.parse(after[0]!.data!).list['@o']).toHaveLength(1); // the committed state: 'a' only
  });

  it('after a refused change that changed nothing, owes nobody a full view', () => {
    const doc = new ResidentDoc(new Store(), { list: [] }, 0);
    viewers(doc);
    doc.publish(chat, 0, 1 << 20, 1000, Date.now);
    doc.step(1, 1 << 30, true, () => ({ state: undefined })); // a handler that leaves the state as it was
    expect(doc.speculate(chat, 1, 1 << 20, 1000, Date.now)).toEqual([]);
    doc.rollback();
    expect(doc.publish(chat, 0, 1 << 20, 1000, Date.now)).toEqual([]);
  });

  it('declines when its budget runs out, changing nothing', () => {
    const doc = new ResidentDoc(new Store(), { list: [] }, 0);
    viewers(doc);
    doc.commit(0);
    doc.publish(chat, 0, 1 << 20, 1000, Date.now);
    doc.step(1, 1 << 30, true, add('a'));
    let t = 0;
    expect(doc.speculate(chat, 1, 1 << 20, 5, () => (t += 10))).toBeNull();
    doc.commit(1);
    const published = doc.publish(chat, 1, 1 << 20, 1000, Date.now)!;
    expect(published.some((g) => g.data !== undefined && !g.reset)).toBe(true);
  });
});

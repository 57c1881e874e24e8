import { mulberry32 } from '../../test/support/prng';
import { apply, applyAll, decode, deepEqual, diff, encode, PatchFold, type ListHints } from './delta';
import type { Json, JsonObject } from '../shared/json';
import { deepFreeze, Gen, list, mutate, value } from '../../test/support/json-gen';

/** What a client receives: the patch after a trip through JSON text. */
const wire = (patch: Json | undefined): Json => JSON.parse(JSON.stringify(patch)) as Json;

const chat = (n: number): Json => ({
  title: 'general',
  messages: Array.from({ length: n }, (_, i) => ({ id: `m${i}`, who: `user${i % 7}`, text: `message number ${i}` })),
});

const isList = (v: Json): boolean => typeof v === 'object' && v !== null && !Array.isArray(v) && Array.isArray((v as JsonObject).l);

const ids = (...xs: string[]): Json => xs.map((id) => ({ id, text: id.toUpperCase() }));

describe('encode and decode', () => {
  it('turns a list of objects with unique ids into an object keyed by id with an "@o" order', () => {
    expect(encode({ l: [{ id: 'a', v: 1 }, { id: 2, v: [{ id: 'x' }] }] })).toStrictEqual({
      l: { '@o': ['a', '2'], a: { id: 'a', v: 1 }, 2: { id: 2, v: { '@o': ['x'], x: { id: 'x' } } } },
    });
  });

  it('keeps arrays of primitives, mixed arrays, elements without ids and empty arrays atomic', () => {
    const v: Json = { p: [1, 'a', null], mixed: [{ id: 'a' }, 3], noId: [{ id: 'a' }, { name: 'b' }], badId: [{ id: true }], empty: [] };
    expect(encode(v)).toStrictEqual(v);
  });

  it('falls back to an atomic array when ids repeat, including 1 and "1"', () => {
    expect(encode([{ id: 'a' }, { id: 'a' }])).toStrictEqual([{ id: 'a' }, { id: 'a' }]);
    expect(encode([{ id: 1 }, { id: '1' }])).toStrictEqual([{ id: 1 }, { id: '1' }]);
  });

  it('keeps a list atomic when an id starts with "@", since that key is reserved', () => {
    expect(encode([{ id: '@o' }, { id: 'b' }])).toStrictEqual([{ id: '@o' }, { id: 'b' }]);
  });

  it('still encodes keyed lists nested inside an atomic array', () => {
    expect(encode([1, [{ id: 'a' }]])).toStrictEqual([1, { '@o': ['a'], a: { id: 'a' } }]);
  });

  it('keeps numeric ids as numbers after decode', () => {
    const v: Json = [{ id: 7, t: 'x' }, { id: 1.5 }, { id: -3 }];
    const back = decode(encode(v));
    expect(back).toStrictEqual(v);
    expect(typeof ((back as JsonObject[])[0] as JsonObject).id).toBe('number');
  });

  it('throws on a reserved "@" key in user data, at any depth', () => {
    expect(() => encode({ '@o': [] })).toThrow(/reserved key/);
    expect(() => encode({ a: { '@x': 1 } })).toThrow(/reserved key/);
    expect(() => encode([{ id: 'a', '@meta': 1 }])).toThrow(/reserved key/);
  });

  it('keeps a "__proto__" key as data rather than setting a prototype', () => {
    const v = JSON.parse('{"__proto__": {"x": 1}, "l": [{"id": "__proto__"}]}') as Json;
    const back = decode(encode(v));
    expect(JSON.stringify(back)).toBe(JSON.stringify(v));
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
  });

  it('accepts an empty string as an id', () => {
    const a: Json = [{ id: '', t: 1 }, { id: 'b' }];
    const b: Json = [{ id: 'b' }, { id: '', t: 2 }];
    expect(encode(a)).toStrictEqual({ '@o': ['', 'b'], '': { id: '', t: 1 }, b: { id: 'b' } });
    expect(decode(apply(encode(a), wire(diff(encode(a), encode(b)))))).toStrictEqual(b);
  });

  it('throws when decoding an order that names a missing element', () => {
    expect(() => decode({ '@o': ['a', 'b'], a: { id: 'a' } })).toThrow(/missing element/);
  });
});

describe('diff', () => {
  it('returns undefined for the same reference and for deep-equal values', () => {
    const a = encode(chat(3));
    expect(diff(a, a)).toBeUndefined();
    expect(diff(a, encode(chat(3)))).toBeUndefined();
    expect(diff(null, null)).toBeUndefined();
  });

  it('sends the whole value when nothing was seen before, with "@o" as a full order', () => {
    expect(diff(undefined, encode(ids('a', 'b')))).toStrictEqual({ '@o': ['a', 'b'], a: { id: 'a', text: 'A' }, b: { id: 'b', text: 'B' } });
  });

  it('encodes one appended message to a 10 000-message chat as a patch under 200 bytes', () => {
    const prev = chat(10_000);
    const next = chat(10_001);
    const patch = diff(encode(prev), encode(next));
    expect(patch).toStrictEqual({ messages: { '@o': [[0, 9999], 'm10000'], m10000: { id: 'm10000', who: 'user4', text: 'message number 10000' } } });
    expect(JSON.stringify(patch).length).toBeLessThan(200);
    expect(decode(apply(encode(prev), wire(patch)))).toStrictEqual(next);
  });

  it('encodes a removal as ranges around the gap and a null for the element', () => {
    const patch = diff(encode(ids('msg-a', 'msg-b', 'msg-c', 'msg-d')), encode(ids('msg-a', 'msg-c', 'msg-d')));
    expect(patch).toStrictEqual({ '@o': [[0, 0], [2, 3]], 'msg-b': null });
  });

  it('encodes a reorder with ranges only and no element changes', () => {
    const patch = diff(encode(ids('msg-a', 'msg-b', 'msg-c', 'msg-d')), encode(ids('msg-d', 'msg-a', 'msg-b', 'msg-c')));
    expect(patch).toStrictEqual({ '@o': [[3, 3], [0, 2]] });
  });

  it('uses a string for a single reused id when it is shorter than a range', () => {
    const patch = diff(encode(ids('a', 'b', 'c', 'd')), encode(ids('a', 'c', 'd')));
    expect(patch).toStrictEqual({ '@o': ['a', [2, 3]], b: null });
  });

  it('leaves "@o" out when only an element changed, and patches just that element', () => {
    const prev = encode([{ id: 'a', text: 'hi', n: 1 }, { id: 'b', text: 'yo' }]);
    const next = encode([{ id: 'a', text: 'hello', n: 1 }, { id: 'b', text: 'yo' }]);
    expect(diff(prev, next)).toStrictEqual({ a: { text: 'hello' } });
  });

  it('replaces a list wholesale when it becomes a primitive', () => {
    expect(diff(encode({ l: ids('a') }), encode({ l: 5 }))).toStrictEqual({ l: 5 });
  });

  it('sends a full order when an object becomes a list', () => {
    const patch = diff(encode({ l: { a: { id: 'x' } } }), encode({ l: ids('a', 'b') }));
    expect(patch).toStrictEqual({ l: { '@o': ['a', 'b'], a: { text: 'A', id: 'a' }, b: { id: 'b', text: 'B' } } });
    expect(decode(apply(encode({ l: { a: { id: 'x' } } }), wire(patch)))).toStrictEqual({ l: ids('a', 'b') });
  });

  it('deletes "@o" and the elements when a list becomes a plain object', () => {
    const patch = diff(encode({ l: ids('a', 'b') }), encode({ l: { c: 1 } }));
    expect(patch).toStrictEqual({ l: { '@o': null, a: null, b: null, c: 1 } });
  });

  it('replaces a list with an empty array wholesale, since empty arrays stay atomic', () => {
    expect(diff(encode({ l: ids('a') }), encode({ l: [] }))).toStrictEqual({ l: [] });
  });

  it('replaces an atomic array wholesale when any element differs', () => {
    expect(diff(encode({ a: [1, 2, 3] }), encode({ a: [1, 2, 4] }))).toStrictEqual({ a: [1, 2, 4] });
  });

  it('treats a null object member as absent, as RFC 7386 must', () => {
    expect(diff({ a: 1 }, { a: 1, b: null })).toBeUndefined();
    expect(diff({ a: 1, b: 2 }, { a: 1, b: null })).toStrictEqual({ b: null });
  });
});

describe('apply', () => {
  it('does not mutate its inputs', () => {
    const target = deepFreeze(encode({ l: ids('a', 'b', 'c'), o: { x: 1 } }));
    const patch = deepFreeze(wire({ l: { '@o': [[1, 2], 'd'], a: null, d: { id: 'd' }, b: { text: 'bee' } }, o: { x: null, y: 2 } }));
    const before = JSON.stringify([target, patch]);
    const out = apply(target, patch);
    expect(JSON.stringify([target, patch])).toBe(before);
    expect(decode(out)).toStrictEqual({ l: [{ id: 'b', text: 'bee' }, { id: 'c', text: 'C' }, { id: 'd' }], o: { y: 2 } });
  });

  it('shares untouched subtrees with the target', () => {
    const target = encode({ l: ids('a', 'b'), other: { deep: { x: 1 } } }) as JsonObject;
    const out = apply(target, { l: { b: { text: 'new' } } }) as JsonObject;
    expect(out.other).toBe(target.other);
    expect((out.l as JsonObject).a).toBe((target.l as JsonObject).a);
  });

  it('throws on an order range outside the current order', () => {
    const target = encode(ids('a', 'b'));
    expect(() => apply(target, { '@o': [[0, 2]] })).toThrow(/does not fit/);
    expect(() => apply(target, { '@o': [[-1, 0]] })).toThrow(/does not fit/);
    expect(() => apply(target, { '@o': [[1, 0]] })).toThrow(/does not fit/);
    expect(() => apply(target, { '@o': [[0, 1, 2]] })).toThrow(/does not fit/);
  });

  it('throws when a list patch leaves an id in the order without an element', () => {
    expect(() => apply(encode(ids('a', 'b')), { '@o': [[0, 1], 'c'] })).toThrow(/missing element/);
    expect(() => apply(encode(ids('a', 'b')), { a: null })).toThrow(/missing element/);
  });

  it('throws on an order range when the target has no order to resolve it against', () => {
    expect(() => apply({ a: 1 }, { '@o': [[0, 0]] })).toThrow(/does not fit/);
  });

  it('replaces the target with a non-object patch and deletes keys patched to null', () => {
    expect(apply({ a: 1 }, [1, 2])).toStrictEqual([1, 2]);
    expect(apply({ a: 1, b: 2 }, { a: null })).toStrictEqual({ b: 2 });
    expect(apply(undefined, { a: { b: null, c: 1 } })).toStrictEqual({ a: { c: 1 } });
  });
});

describe('deepEqual', () => {
  it('ignores key order and distinguishes arrays from objects', () => {
    expect(deepEqual({ a: 1, b: [1, { c: 2 }] }, { b: [1, { c: 2 }], a: 1 })).toBe(true);
    expect(deepEqual([], {})).toBe(false);
    expect(deepEqual({ a: undefined as unknown as Json }, { b: 1 })).toBe(false);
  });
});

describe('seeded properties', () => {
  const SEEDS = Array.from({ length: 300 }, (_, i) => i + 1);

  it('decode(encode(v)) equals v for random values', () => {
    for (const seed of SEEDS) {
      const v = value(new Gen(seed), 4, true);
      expect(decode(encode(v))).toStrictEqual(v);
    }
  });

  it('applying diffs along a chain of random edits reproduces every version, without mutating inputs', () => {
    for (const seed of SEEDS) {
      const g = new Gen(seed);
      let version = g.chance(0.8) ? { l: list(g, 3), meta: value(g, 2, false) } : value(g, 4, true);
      let seen: Json | undefined; // the client's encoded state
      let prevEncoded: Json | undefined;
      for (let step = 0; step < 5; step++) {
        const encoded = deepFreeze(encode(version));
        const patch = diff(prevEncoded, encoded);
        if (prevEncoded !== undefined) expect(patch === undefined).toBe(deepEqual(decode(prevEncoded), version));
        if (patch !== undefined) seen = apply(seen === undefined ? undefined : deepFreeze(seen), deepFreeze(wire(patch)));
        expect(decode(seen as Json)).toStrictEqual(version);
        prevEncoded = encoded;
        version = mutate(g, version, 4, true);
      }
    }
  });
  it('order patches of long lists survive shifts, pushes, moves and shuffles (past the search window)', () => {
    for (const seed of SEEDS.slice(0, 120)) {
      const rnd = mulberry32(seed);
      let n = 0;
      let list = Array.from({ length: 20 + Math.floor(rnd() * 60) }, () => ({ id: `m${++n}` }));
      let seen: Json = apply(undefined, wire(diff(undefined, encode({ l: list }))!));
      for (let step = 0; step < 6; step++) {
        const next = list.slice();
        const kind = Math.floor(rnd() * 5);
        if (kind === 0) { next.shift(); next.push({ id: `m${++n}` }); }
        else if (kind === 1) { const [moved] = next.splice(Math.floor(rnd() * next.length), 1); next.splice(Math.floor(rnd() * next.length), 0, moved!); }
        else if (kind === 2) next.reverse();
        else if (kind === 3) { for (let i = next.length - 1; i > 0; i--) { const j = Math.floor(rnd() * (i + 1)); [next[i], next[j]] = [next[j]!, next[i]!]; } }
        else next.splice(Math.floor(rnd() * next.length), Math.floor(rnd() * 30), ...Array.from({ length: Math.floor(rnd() * 5) }, () => ({ id: `m${++n}` })));
        const patch = diff(encode({ l: list }), encode({ l: next }));
        if (patch !== undefined) seen = apply(deepFreeze(seen), deepFreeze(wire(patch)));
        expect(decode(seen)).toStrictEqual({ l: next });
        list = next;
      }
    }
  });

  it('applyAll (copy once, then edit in place) folds a chain of patches exactly as apply one by one, without mutating inputs', () => {
    for (const seed of SEEDS) {
      const g = new Gen(seed);
      const rnd = mulberry32(seed);
      let version = g.chance(0.8) ? { l: list(g, 3), meta: value(g, 2, false) } : value(g, 4, true);
      let n = 0;
      const start = deepFreeze(encode(version));
      const patches: Json[] = [];
      let prev = start;
      for (let step = 0; step < 8; step++) {
        if (rnd() < 0.4 && isList(version)) {
          // The list shapes a chat takes: shift + push, splice out, insert.
          const next = (version as { l: Json[] }).l.slice();
          if (rnd() < 0.5) { next.shift(); next.push({ id: `n${++n}` }); } else next.splice(Math.floor(rnd() * (next.length + 1)), Math.floor(rnd() * 3), { id: `n${++n}` });
          version = { ...(version as JsonObject), l: next };
        } else version = mutate(g, version, 4, true);
        const encoded = deepFreeze(encode(version));
        const patch = diff(prev, encoded);
        if (patch !== undefined) patches.push(deepFreeze(wire(patch)));
        prev = encoded;
      }
      const oneByOne = patches.reduce<Json>((s, p) => apply(s, p), start);
      const folded = applyAll(start, patches) as Json;
      expect(folded).toStrictEqual(oneByOne);
      expect(decode(folded)).toStrictEqual(version);
      const fold = new PatchFold(start);
      for (const p of patches) fold.apply(p);
      expect(fold.value).toStrictEqual(oneByOne);
    }
  });

  it('applyAll edits a 1 000-key map in place after its first copy and leaves the original untouched', () => {
    const start = deepFreeze({ present: Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`a${i}`, 1])) }) as Json;
    const patches = Array.from({ length: 64 }, (_, i) => ({ present: { [`b${i}`]: 1, [`a${i}`]: null } }) as Json);
    const out = applyAll(start, patches) as { present: Record<string, number> };
    expect(Object.keys(out.present)).toHaveLength(1000);
    expect(out.present.b63).toBe(1);
    expect(out.present.a0).toBeUndefined();
    expect((start as { present: Record<string, number> }).present.a0).toBe(1);
  });

  it('applyAll throws as apply does when a list patch names an id without its element', () => {
    const start = encode({ l: ids('a', 'b') });
    const grow = diff(start, encode({ l: ids('a', 'b', 'c') }))!;
    const broken = { l: { '@o': [[0, 2], 'd'] } } as Json;
    expect(() => apply(apply(start, grow), broken)).toThrow(/missing element|does not fit/);
    expect(() => applyAll(start, [grow, broken])).toThrow(/missing element|does not fit/);
  });

  it('list hints (a new array edited from an encoded one) give exactly the encoding and patches of a full encode and diff', () => {
    for (const seed of SEEDS.slice(0, 200)) {
      const rnd = mulberry32(seed);
      const numeric = rnd() < 0.5;
      let n = 0;
      const element = (): JsonObject => ({ id: numeric ? ++n : `m${++n}`, text: `t${n}` });
      const cache = new WeakMap<object, Json>();
      const hints: ListHints = { previous: new WeakMap(), derived: new WeakMap() };
      let list: Json[] = Array.from({ length: 1 + Math.floor(rnd() * 40) }, element);
      let encoded = encode(list, cache, hints);
      for (let step = 0; step < 8; step++) {
        const next = list.slice();
        const at = Math.floor(rnd() * next.length);
        switch (Math.floor(rnd() * 8)) {
          case 0: next.shift(); next.push(element()); break;
          case 1: next.push(element()); break;
          case 2: next.splice(at, 1 + Math.floor(rnd() * 3)); break;
          case 3: next.splice(at, 0, element(), element()); break;
          case 4: next[at] = { ...(next[at] as JsonObject), text: `edited ${step}` }; break; // same id, new content
          case 5: { const [moved] = next.splice(at, 1); next.splice(Math.floor(rnd() * (next.length + 1)), 0, moved!); break; }
          case 6: next.push({ ...(next[at] as JsonObject) }); break; // a second element with an id in use: atomic
          default: next.length = 0; break; // empty: atomic
        }
        hints.previous.set(next, list);
        const hinted = encode(next, cache, hints);
        const full = encode(next);
        expect(JSON.stringify(hinted)).toBe(JSON.stringify(full));
        expect(JSON.stringify(diff(encoded, hinted, hints))).toBe(JSON.stringify(diff(encoded, full)));
        expect(JSON.stringify(diff(hinted, encoded, hints))).toBe(JSON.stringify(diff(full, encoded)));
        list = Array.isArray(decode(full)) && next.length > 0 ? next : Array.from({ length: 3 }, element);
        encoded = list === next ? hinted : encode(list, cache, hints);
      }
    }
  });
});

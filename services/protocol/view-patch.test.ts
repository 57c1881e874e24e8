import { apply, decode, diff, encode } from './delta';
import { patchView } from './view-patch';
import type { Json, JsonObject } from '../shared/json';
import { deepFreeze, Gen, list, mutate, value } from '../../test/support/json-gen';

/** What a client receives: the patch after a trip through JSON text. */
const wire = (patch: Json): Json => JSON.parse(JSON.stringify(patch)) as Json;

/** One client step: the encoded state and the view after `patch`, the view kept incrementally. */
function step(view: Json, before: Json, patch: Json): { view: Json; encoded: Json } {
  const encoded = apply(before, patch);
  return { view: patchView(view, before, patch, encoded), encoded };
}

const chat = (n: number): Json => ({ title: 'general', messages: Array.from({ length: n }, (_, i) => ({ id: `m${i}`, text: `message ${i}` })) });

describe('patchView', () => {
  it('equals a full decode, key order included, over random chains of edits, and never mutates the previous view', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const g = new Gen(seed);
      let version = g.chance(0.8) ? { l: list(g, 3), meta: value(g, 2, false) } : value(g, 4, true);
      let prev = encode(version);
      let state = deepFreeze(wire(prev));
      let view = deepFreeze(decode(state));
      for (let i = 0; i < 8; i++) {
        version = mutate(g, version, 4, true);
        const next = encode(version);
        const patch = diff(prev, next);
        prev = next;
        if (patch === undefined) continue;
        const snapshot = JSON.stringify(view);
        const r = step(view, state, deepFreeze(wire(patch)));
        expect(JSON.stringify(view)).toBe(snapshot);
        expect(r.view).toStrictEqual(decode(r.encoded));
        expect(JSON.stringify(r.view)).toBe(JSON.stringify(decode(r.encoded)));
        state = deepFreeze(r.encoded as Json);
        view = deepFreeze(r.view);
      }
    }
  });

  it('shares every untouched element when a message is appended to a long chat', () => {
    const before = encode(chat(1000));
    const view = decode(before) as JsonObject;
    const patch = wire(diff(before, encode(chat(1001)))!);
    const next = step(view, before, patch).view as JsonObject;
    const [was, now] = [view.messages as Json[], next.messages as Json[]];
    expect(now).toHaveLength(1001);
    expect(now[1000]).toStrictEqual({ id: 'm1000', text: 'message 1000' });
    for (let i = 0; i < 1000; i++) expect(now[i]).toBe(was[i]);
    expect(next).not.toBe(view);
  });

  it('decodes again only the element a patch edits, inside ranges and out of order', () => {
    const msgs = (chat(5) as JsonObject).messages as JsonObject[];
    const edited = [msgs[4]!, msgs[0]!, { ...msgs[1]!, text: 'edited' }, msgs[2]!, msgs[3]!];
    const before = encode({ title: 'general', messages: msgs });
    const view = decode(before) as JsonObject;
    const patch = wire(diff(before, encode({ title: 'general', messages: edited }))!);
    const next = step(view, before, patch).view as JsonObject;
    expect(next).toStrictEqual({ title: 'general', messages: edited });
    const [was, now] = [view.messages as Json[], next.messages as Json[]];
    expect(now[1]).toBe(was[0]);
    expect(now[2]).not.toBe(was[1]);
    expect(now[3]).toBe(was[2]);
  });

  it('handles type changes and "__proto__" keys as data', () => {
    const cases: [Json, Json][] = [
      [{ l: [{ id: 'a' }] }, { l: 0 }],
      [{ l: [{ id: 'a' }] }, { l: { count: 2 } }],
      [{ l: { count: 2 } }, { l: [{ id: 'a' }] }],
      [JSON.parse('{"__proto__": {"x": 1}, "y": 1}') as Json, JSON.parse('{"__proto__": {"x": 2}}') as Json],
      [[{ id: 1 }], { a: 1 }],
    ];
    for (const [a, b] of cases) {
      const before = encode(a);
      const r = step(decode(before), before, wire(diff(before, encode(b))!));
      expect(r.view).toStrictEqual(b);
      expect(Object.getPrototypeOf(r.view)).toBe(Array.isArray(b) ? Array.prototype : Object.prototype);
    }
  });
});

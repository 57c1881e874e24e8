import { deltaBodyJson, deltaDataJson, deltaFrame, wireDelta } from './delta-wire';
import type { Delta } from './messages';
import type { Json } from '../shared/json';
import { Gen, value } from '../../test/support/json-gen';

/** The frame as the proxy wrote it before delta-wire: one JSON.stringify of the whole frame object. */
const previousFrame = (id: number, d: Delta): string =>
  JSON.stringify({ deliver: id, done: false, response: { delta: { data: d.data, seq: d.seq, ...(d.reset ? { reset: true } : {}) } } });

const tricky: Json[] = [
  {}, [], null, 0, -0, 1e21, 1.5e-7, 'x', true,
  JSON.parse('{"__proto__": {"a": 1}, "10": 1, "2": 2, "b": "é\\u2028\\ud800 \\"q\\" </script>"}') as Json,
  { messages: { '@o': [[0, 9999], 'm10000'], m10000: { id: 'm10000', text: 'hi 🙂' } } },
];

describe('delta-wire', () => {
  it('writes frames byte for byte as JSON.stringify of the frame object did, for tricky and random data', () => {
    const data = [...tricky, ...Array.from({ length: 300 }, (_, i) => value(new Gen(i + 1), 4, true))];
    for (const [i, d] of data.entries()) {
      for (const reset of [false, true]) {
        const delta: Delta = { data: d, seq: 1 + i * 7919, ...(reset ? { reset: true } : {}) };
        expect(deltaFrame(i, delta)).toBe(previousFrame(i, delta));
        // Through the split tier: the host's data_json, forwarded unparsed by the proxy.
        const forwarded = wireDelta(deltaDataJson(delta), delta.seq, reset);
        expect(deltaFrame(i, forwarded)).toBe(previousFrame(i, delta));
      }
    }
  });

  it('serializes a delta object once however many frames carry it', () => {
    const data = { a: 1 };
    let reads = 0;
    const delta = { get data() { reads++; return data; }, seq: 3 } as Delta;
    for (let id = 0; id < 1000; id++) deltaFrame(id, delta);
    expect(reads).toBe(1);
    expect(deltaBodyJson(delta)).toBe('{"data":{"a":1},"seq":3}');
  });

  it('never parses a forwarded delta unless its data is read, and then parses it once', () => {
    const parse = jest.spyOn(JSON, 'parse');
    try {
      const d = wireDelta('{"x":[1,2]}', 9, true);
      for (let id = 0; id < 100; id++) deltaFrame(id, d);
      expect(parse).not.toHaveBeenCalled();
      expect(d.data).toEqual({ x: [1, 2] });
      expect(d.data).toBe(d.data);
      expect(parse).toHaveBeenCalledTimes(1);
      expect(d).toMatchObject({ seq: 9, reset: true });
    } finally {
      parse.mockRestore();
    }
  });
});

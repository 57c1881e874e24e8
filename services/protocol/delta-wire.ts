/**
 * @module delta-wire
 * Serializes each distinct delta ONCE, however many viewers, connections and sockets it goes to.
 *
 * The host hands viewers that receive an identical delta in one change the same `Delta` object
 * (StreamSink contract), so the text is memoized per object: the host's gRPC envelope, the
 * in-process proxy and every client frame reuse one string. A client frame is then the frame
 * template spliced around that string for the stream's request id, byte for byte what
 * `JSON.stringify({deliver, done: false, response: {delta: {data, seq, reset?}}})` wrote before
 * (docs/protocol.md is unchanged). The split-tier proxy builds its deltas with `wireDelta` from the
 * host's `data_json`, so it forwards the bytes without parsing them.
 *
 * Deltas are immutable (docs/deltas.md §5): a memoized text never goes stale.
 */
import type { Json } from '../shared/json';
import type { Delta } from './messages';

interface Texts { data?: string; body?: string }

const memo = new WeakMap<Delta, Texts>();

function textsOf(delta: Delta): Texts {
  let t = memo.get(delta);
  if (t === undefined) { t = {}; memo.set(delta, t); }
  return t;
}

/** `JSON.stringify(delta.data)`, computed once per delta object. */
export function deltaDataJson(delta: Delta): string {
  const t = textsOf(delta);
  return (t.data ??= JSON.stringify(delta.data));
}

/** The `{"data":…,"seq":…,"reset"?:true}` member of a delta frame, computed once per delta object. */
export function deltaBodyJson(delta: Delta): string {
  const t = textsOf(delta);
  return (t.body ??= `{"data":${deltaDataJson(delta)},"seq":${JSON.stringify(delta.seq)}${delta.reset === true ? ',"reset":true' : ''}}`);
}

const FRAME_HEAD = '{"deliver":';
const FRAME_MIDDLE = ',"done":false,"response":{"delta":';
const FRAME_TAIL = '}}';

/** The client frame carrying `delta` on stream `streamId`: one concatenation around the shared body. */
export function deltaFrame(streamId: number, delta: Delta): string {
  return FRAME_HEAD + JSON.stringify(streamId) + FRAME_MIDDLE + deltaBodyJson(delta) + FRAME_TAIL;
}

/**
 * A delta received as JSON text (from the host's envelope). Its `data` is parsed only if someone
 * reads it; the proxy never does, it writes `deltaFrame`, which reuses `dataJson` as is. The text
 * comes from our host's `JSON.stringify`, so it is already the canonical form the frame needs.
 */
export function wireDelta(dataJson: string, seq: number, reset: boolean): Delta {
  let parsed: { value: Json } | undefined;
  const delta: Delta = {
    get data(): Json { return (parsed ??= { value: JSON.parse(dataJson) as Json }).value; },
    seq,
    ...(reset ? { reset: true } : {}),
  };
  memo.set(delta, { data: dataJson });
  return delta;
}

/**
 * @module wire-costs
 * `node dist/bench/wire-costs.js`: CPU of the fan-out transport per message, without sockets, so
 * the figures do not drown in the machine's noise: the host serializing deltas and HostBatch
 * envelopes (the real protobuf code from proto/host.proto), the proxy decoding them and writing
 * each viewer's client frame, before (one envelope per viewer, JSON parsed and re-encoded at the
 * proxy) and now (one grouped envelope per distinct delta, the text spliced into each frame). And
 * the SDK's work per delta: apply + decode of the whole view before, apply + patchView now.
 * Not part of `npm run bench`; nothing here asserts.
 */
import { serviceClient } from '../services/grpc/load-proto';
import type { HostEnvelope } from '../services/grpc/host-messages';
import { DeltaGrouper } from '../services/grpc/delta-grouper';
import { deltaFrame, wireDelta } from '../services/protocol/delta-wire';
import { apply, decode, diff, encode } from '../services/protocol/delta';
import { patchView } from '../services/protocol/view-patch';
import type { Delta } from '../services/protocol/messages';
import type { Json } from '../services/shared/json';

const multiplex = serviceClient('host.proto', 'adama.host.v1.Host').service.Multiplex!;
const MAX_BATCH = 64;

/** CPU ms per call of `fn`, over enough calls for about `budgetMs` of CPU. */
function cpuMsPer(fn: () => void, budgetMs = 400): number {
  fn();
  let runs = 0;
  const start = process.cpuUsage();
  let used = 0;
  while (used < budgetMs * 1000) {
    fn();
    runs++;
    const u = process.cpuUsage(start);
    used = u.user + u.system;
  }
  return used / 1000 / runs;
}

const chat = (n: number): Json => ({
  title: 'general', present: ['ann', 'bob'],
  messages: Array.from({ length: n }, (_, i) => ({ id: i + 1, author: `user${i % 7}`, text: `message number ${i} with some text`, at: 1763750000000 + i })),
});

/** The old path for one delta to `viewers` streams: per-viewer JSON, envelopes, parse and frame. */
function before(data: Json, viewers: number): void {
  const items: HostEnvelope[] = [];
  for (let id = 1; id <= viewers; id++) items.push({ id, delta: { data_json: JSON.stringify(data), seq: 7, reset: false } });
  for (let i = 0; i < items.length; i += MAX_BATCH) {
    const bytes = multiplex.responseSerialize({ items: items.slice(i, i + MAX_BATCH) });
    for (const env of (multiplex.responseDeserialize(bytes) as { items: HostEnvelope[] }).items) {
      if (env.body !== 'delta') continue;
      const delta: Delta = { data: JSON.parse(env.delta.data_json) as Json, seq: env.delta.seq };
      JSON.stringify({ deliver: env.id, done: false, response: { delta } });
    }
  }
}

/** The new path: one shared delta object, one grouped envelope, frames spliced around its text. */
function now(data: Json, viewers: number): void {
  const items: HostEnvelope[] = [];
  const grouper = new DeltaGrouper((e) => items.push(e), true);
  const shared: Delta = { data, seq: 7 };
  for (let id = 1; id <= viewers; id++) grouper.delta(id, shared);
  const bytes = multiplex.responseSerialize({ items });
  for (const env of (multiplex.responseDeserialize(bytes) as { items: HostEnvelope[] }).items) {
    if (env.body !== 'delta') continue;
    const delta = wireDelta(env.delta.data_json, env.delta.seq, env.delta.reset);
    for (const id of env.delta.streams!) deltaFrame(id, delta);
  }
}

function transport(): void {
  const append = diff(encode(chat(1000)), encode(chat(1001)))!;
  const cases: [string, Json][] = [['chat append (%d B)', append], ['full view, 1000-message chat (%d B)', encode(chat(1000))]];
  for (const [label, data] of cases) {
    const bytes = Buffer.byteLength(JSON.stringify(data));
    for (const viewers of [10, 100, 1000]) {
      if (bytes > 10_000 && viewers > 100) continue;
      const b = cpuMsPer(() => before(data, viewers));
      const n = cpuMsPer(() => now(data, viewers));
      process.stdout.write(`transport  ${label.replace('%d', String(bytes)).padEnd(40)} ${String(viewers).padStart(5)} viewers: before ${b.toFixed(3)} ms, now ${n.toFixed(3)} ms CPU per message (${(b / n).toFixed(1)}x)\n`);
    }
  }
}

function sdk(): void {
  for (const n of [0, 1000, 5000]) {
    const s0 = encode(chat(n));
    const view0 = decode(s0);
    const patch = JSON.parse(JSON.stringify(diff(s0, encode(chat(n + 1))))) as Json;
    const b = cpuMsPer(() => { decode(apply(s0, patch)); });
    const p = cpuMsPer(() => { const s1 = apply(s0, patch); patchView(view0, s0, patch, s1); });
    process.stdout.write(`sdk        append to a ${String(n).padStart(4)}-message chat: before (apply + decode) ${b.toFixed(3)} ms, now (apply + patchView) ${p.toFixed(3)} ms CPU per delta (${(b / p).toFixed(1)}x)\n`);
  }
}

transport();
sdk();

/**
 * The host's gRPC face over real gRPC on loopback, against a document host that keeps the
 * StreamSink contract (services/protocol/host-api.ts): viewers that receive an identical delta in one change get the
 * same Delta object, in one synchronous loop. Grouped fan-out must turn that into ONE envelope per
 * (document, distinct delta) for a proxy that announced it, one per stream for one that did not,
 * and the proxy side (HostConnection) must hand every sink the same unparsed delta.
 */
import type { DocumentStream, StreamSink } from '../protocol/host-api';
import { createHostService } from './grpc-host-service';
import { DeltaGrouper } from '../grpc/delta-grouper';
import { startGrpcServer, type RunningGrpcServer } from '../grpc/server';
import { GROUPED_DELTAS, WIRE_FEATURES_KEY, type HostEnvelope, type ProxyEnvelope } from '../grpc/host-messages';
import type { Delta } from '../protocol/messages';
import { deltaFrame } from '../protocol/delta-wire';
import type { Json } from '../shared/json';
import { silentLogger } from '../shared/log';
import type { DocRef } from '../shared/doc-ref';
import type { Who } from '../shared/identity';
import { HostConnection } from '../web-proxy/host-connection';
import { RawMultiplex, ViewWatcher } from '../../test/support/host-rpc';

/**
 * A document host reduced to the fan-out contract: a send to `room` delivers `{said: text}` to every
 * viewer as one shared Delta object, except that viewers whose agent starts with "solo" get their
 * own (a distinct view), so a change yields exactly two distinct deltas when both kinds watch.
 */
class ContractHost {
  readonly hostId = 'contract-host';
  readonly loadedDocuments = 1;
  private readonly viewers = new Map<string, Set<{ who: Who; sink: StreamSink }>>();
  private seq = 1;

  async createDocument(): Promise<{ seq: number }> { return { seq: 1 }; }
  async deleteDocument(): Promise<void> { /* not used here */ }
  async postMessage(): Promise<{ seq: number }> { return { seq: 1 }; }
  async listDocuments(): Promise<{ documents: [] }> { return { documents: [] }; }

  async openStream(ref: DocRef, who: Who, _options: unknown, sink: StreamSink): Promise<DocumentStream> {
    const room = this.viewers.get(ref.key) ?? new Set();
    this.viewers.set(ref.key, room);
    const viewer = { who, sink };
    room.add(viewer);
    sink.onDelta({ data: { said: null }, seq: this.seq, reset: true });
    return {
      send: async (_channel: string, message: Json) => {
        const seq = ++this.seq;
        const shared: Delta = { data: { said: message }, seq };
        for (const v of room) v.sink.onDelta(v.who.agent.startsWith('solo') ? { data: { said: message, solo: true }, seq } : shared);
        return { seq };
      },
      update: async () => undefined,
      close: async () => { room.delete(viewer); },
    };
  }
}

const who = (agent: string) => ({ agent, authority: 'anonymous' });
const open = (id: number, key: string, agent: string): ProxyEnvelope =>
  ({ id, open: { space: 'chat', key, who: who(agent), has_since: false, since: 0, viewer_state_json: '{}', suspect_hosts: [] } });

describe('grouped deltas on the Multiplex call', () => {
  let server: RunningGrpcServer;
  let address: string;
  const raws: RawMultiplex[] = [];

  beforeAll(async () => {
    const impl = createHostService({
      host: new ContractHost(), log: silentLogger, maxBatch: 64, maxQueued: 10_000,
      drain: { drain: async () => ({ documents_remaining: 0, drained: true }), cancel: async () => ({ resumed: false }), draining: false },
      documentsOwned: async (loaded) => ({ owned: loaded, known: true }),
    });
    server = await startGrpcServer('127.0.0.1', 0, [{ file: 'host.proto', service: 'adama.host.v1.Host', impl }]);
    address = `127.0.0.1:${server.port}`;
  });
  afterAll(async () => { for (const r of raws) r.close(); await server?.close(100); });

  /** A raw call with `n` streams (ids 1..n) on `key`, each past its first delta; `solo` more with their own view. */
  async function viewers(key: string, n: number, metadata: Record<string, string>, solo = 0): Promise<RawMultiplex> {
    const raw = new RawMultiplex(address, metadata);
    raws.push(raw);
    const agents = [...Array.from({ length: n }, (_, i) => `v${i}`), ...Array.from({ length: solo }, (_, i) => `solo${i}`)];
    raw.send(...agents.map((agent, i) => open(i + 1, key, agent)));
    for (let id = 1; id <= agents.length; id++) expect((await raw.answer(id)).body).toBe('reply');
    return raw;
  }

  /** Every delta envelope carrying seq `seq`, once the last expected stream has appeared in one. */
  async function deltasOf(raw: RawMultiplex, seq: number, streams: number): Promise<HostEnvelope[]> {
    const got: HostEnvelope[] = [];
    const covered = new Set<number>();
    while (covered.size < streams) {
      const env = await raw.next((e) => e.body === 'delta' && e.delta.seq === seq);
      got.push(env);
      const ids = env.body === 'delta' && env.delta.streams?.length ? env.delta.streams : [env.id];
      for (const id of ids) { expect(covered.has(id)).toBe(false); covered.add(id); }
    }
    return got;
  }

  it('sends one envelope listing every stream when 200 viewers share a delta', async () => {
    const raw = await viewers('grouped', 200, { [WIRE_FEATURES_KEY]: GROUPED_DELTAS });
    raw.send({ id: 1000, send: { stream: 1, channel: 'say', message_json: '"hi"', dedupe: '' } });
    const { body } = await raw.answer(1000);
    expect(body).toBe('reply');
    const envs = await deltasOf(raw, 2, 200);
    expect(envs).toHaveLength(1);
    const [env] = envs as [Extract<HostEnvelope, { body?: 'delta' }>];
    expect(env.id).toBe(0);
    expect([...env.delta.streams!].sort((a, b) => a - b)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    expect(env.delta).toMatchObject({ data_json: '{"said":"hi"}', seq: 2, reset: false });
  });

  it('sends one envelope per distinct delta when views differ', async () => {
    const raw = await viewers('mixed', 30, { [WIRE_FEATURES_KEY]: GROUPED_DELTAS }, 3);
    raw.send({ id: 1000, send: { stream: 1, channel: 'say', message_json: '"yo"', dedupe: '' } });
    await raw.answer(1000);
    const envs = await deltasOf(raw, 3, 33);
    // 30 viewers share one delta; each solo viewer has its own.
    expect(envs.map((e) => (e.body === 'delta' ? e.delta.streams!.length : 0)).sort((a, b) => b - a)).toEqual([30, 1, 1, 1]);
  });

  it('keeps one envelope per stream, without streams, for a proxy that did not announce grouped deltas', async () => {
    const raw = await viewers('old-peer', 20, {});
    raw.send({ id: 1000, send: { stream: 1, channel: 'say', message_json: '"old"', dedupe: '' } });
    await raw.answer(1000);
    const envs = await deltasOf(raw, 4, 20);
    expect(envs).toHaveLength(20);
    for (const e of envs) expect(e.body === 'delta' && e.delta.streams).toEqual([]);
    expect(envs.map((e) => e.id).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
  });

  it('delivers every delta of a burst to every stream once and in order', async () => {
    const raw = await viewers('burst', 100, { [WIRE_FEATURES_KEY]: GROUPED_DELTAS }, 2);
    const sends = 60;
    for (let i = 0; i < sends; i++) raw.send({ id: 2000 + i, send: { stream: 1 + (i % 102), channel: 'say', message_json: String(i), dedupe: '' } });
    const seqs = await Promise.all(Array.from({ length: sends }, async (_, i) => { const a = await raw.answer(2000 + i); return a.body === 'reply' ? a.reply.seq : -1; }));
    const expected = [...seqs].sort((a, b) => a - b);
    const seen = new Map<number, number[]>();
    let deliveries = 0;
    while (deliveries < sends * 102) {
      const env = await raw.next((e) => e.body === 'delta' && expected.includes(e.delta.seq));
      if (env.body !== 'delta') continue;
      for (const id of env.delta.streams!) { seen.set(id, [...(seen.get(id) ?? []), env.delta.seq]); deliveries++; }
    }
    for (let id = 1; id <= 102; id++) expect(seen.get(id)).toEqual(expected);
  });

  it('hands every sink on a HostConnection the same delta object, whose frame is the JSON the host sent', async () => {
    const conn = new HostConnection({ hostId: 'contract-host', address, log: silentLogger, maxBatch: 64, maxQueued: 10_000, onDead: () => undefined });
    try {
      const received: Delta[][] = [];
      const sinks = Array.from({ length: 50 }, (_, i) => {
        const w = new ViewWatcher();
        received[i] = [];
        const onDelta = w.onDelta.bind(w);
        w.onDelta = (d) => { received[i]!.push(d as Delta); onDelta(d); };
        return w;
      });
      const streams = await Promise.all(sinks.map((s, i) => conn.openStream({ space: 'chat', key: 'conn' }, who(`c${i}`), { viewerState: {} }, s)));
      const { seq } = await streams[0]!.send('say', { text: 'shared' });
      await Promise.all(sinks.map((s) => s.until((v) => (v as { said: unknown }).said !== null)));
      const last = received.map((r) => r[r.length - 1]!);
      for (const d of last) expect(d).toBe(last[0]);
      expect(deltaFrame(7, last[0]!)).toBe(`{"deliver":7,"done":false,"response":{"delta":{"data":{"said":{"text":"shared"}},"seq":${seq}}}}`);
    } finally {
      conn.close();
    }
  });
});

describe('DeltaGrouper', () => {
  it('never lets a stream join a group queued before another envelope of its own', async () => {
    const out: HostEnvelope[] = [];
    const g = new DeltaGrouper((e) => out.push(e), true);
    const d1: Delta = { data: 1, seq: 5 };
    const d2: Delta = { data: 2, seq: 5 };
    g.delta(1, d1);
    g.delta(2, d2);
    g.delta(2, d1); // joining the first envelope would put d1 before d2 for stream 2
    g.delta(3, d1); // joins the newest group for d1
    g.other({ id: 4, closed: { code: 1, message: 'x', retry: true, owner: '' } });
    g.delta(4, d1);
    const streams = out.map((e) => (e.body === 'delta' || 'delta' in e ? (e as { delta: { streams: number[] } }).delta.streams : `closed ${e.id}`));
    expect(streams).toEqual([[1], [2], [2, 3], 'closed 4', [4]]);
    await Promise.resolve();
    g.delta(5, d1); // a new turn: the old group was written, so a new envelope
    expect(out).toHaveLength(6);
    expect(g).toMatchObject({ envelopes: 5, deliveries: 6 });
  });
});

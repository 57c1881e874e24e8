/**
 * The SDK against a scripted server on a real WebSocket: the server streams random chains of
 * deltas (docs/deltas.md) and the SDK, which patches its view at the cost of each delta
 * (view-patch.ts) instead of decoding it whole, must report after every delta exactly the view a
 * full decode gives.
 */
import { WebSocketServer, type WebSocket as ServerSocket } from 'ws';
import WebSocket from 'ws';
import { AdamaClient, type WebSocketFactory } from './index';
import { apply, decode, diff, encode } from '../services/protocol/delta';
import type { Json } from '../services/shared/json';
import { Gen, list, mutate, value } from '../test/support/json-gen';

/** A chain of versions for `seed`, and the deltas a host would send for it. */
function chain(seed: number, steps: number): { versions: Json[]; deltas: { data: Json; seq: number; reset?: true }[] } {
  const g = new Gen(seed);
  let version: Json = g.chance(0.8) ? { l: list(g, 3), meta: value(g, 2, false) } : value(g, 4, true);
  const versions = [version];
  const deltas: { data: Json; seq: number; reset?: true }[] = [{ data: encode(version), seq: 1, reset: true }];
  let prev = encode(version);
  for (let i = 0; i < steps; i++) {
    version = mutate(g, version, 4, true);
    const next = encode(version);
    const patch = diff(prev, next);
    prev = next;
    if (patch === undefined) continue;
    versions.push(version);
    deltas.push({ data: patch, seq: deltas.length + 1 });
  }
  return { versions, deltas };
}

describe('AdamaClient views', () => {
  let wss: WebSocketServer;
  let url: string;
  /** What the scripted server streams to the next connection/create, keyed by document key. */
  const scripts = new Map<string, { data: Json; seq: number; reset?: true }[]>();

  beforeAll(async () => {
    wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise<void>((r) => wss.once('listening', () => r()));
    url = `ws://127.0.0.1:${(wss.address() as { port: number }).port}`;
    wss.on('connection', (ws: ServerSocket) => {
      ws.on('message', (raw) => {
        const f = JSON.parse(raw.toString()) as { id: number; method: string; key?: string };
        if (f.method === 'auth') ws.send(JSON.stringify({ deliver: f.id, done: true, response: { agent: 'a', authority: 'anonymous' } }));
        if (f.method === 'connection/create') for (const delta of scripts.get(f.key!) ?? []) ws.send(JSON.stringify({ deliver: f.id, done: false, response: { delta } }));
      });
    });
  });
  afterAll(async () => { await new Promise((r) => wss.close(r)); });

  it('after every delta of random chains, equals the full decode of the state (key order included)', async () => {
    const client = new AdamaClient({ url, identity: 'anonymous:a', WebSocket: WebSocket as unknown as WebSocketFactory });
    try {
      for (let seed = 1; seed <= 150; seed++) {
        const { versions, deltas } = chain(seed, 10);
        scripts.set(`doc-${seed}`, deltas);
        const seen: string[] = [];
        await new Promise<void>((resolve) => {
          client.connect('chat', `doc-${seed}`, {
            onView: (view, seq) => { seen.push(JSON.stringify(view)); if (seq === deltas.length) resolve(); },
          });
        });
        // What the SDK reported before: the full decode of the applied state, byte for byte.
        let state: Json | undefined;
        const decoded = deltas.map((d) => JSON.stringify(decode((state = d.reset ? d.data : apply(state, d.data)))));
        expect(seen).toEqual(decoded);
        expect(seen.map((v) => JSON.parse(v) as Json)).toStrictEqual(versions);
      }
    } finally {
      client.close();
    }
  }, 60_000);
});

describe('AdamaClient sends across a stream the server ended', () => {
  it('sends again on the reopened stream, same dedupe key, when the send arrived after the stream\'s failure frame', async () => {
    // The server: the first stream fails (retryable) as the first send reaches it, and that send
    // is answered UNKNOWN_CONNECTION, as a proxy answers a send for a stream it just removed.
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise<void>((r) => wss.once('listening', () => r()));
    const sends: { connection: number; dedupe: string }[] = [];
    let streams = 0;
    wss.on('connection', (ws: ServerSocket) => {
      ws.on('message', (raw) => {
        const f = JSON.parse(raw.toString()) as { id: number; method: string; connection?: number; dedupe?: string };
        if (f.method === 'auth') ws.send(JSON.stringify({ deliver: f.id, done: true, response: { agent: 'a', authority: 'anonymous' } }));
        if (f.method === 'connection/create') {
          streams++;
          ws.send(JSON.stringify({ deliver: f.id, done: false, response: { delta: { data: { n: streams }, seq: streams, reset: true } } }));
        }
        if (f.method === 'connection/send') {
          sends.push({ connection: f.connection!, dedupe: f.dedupe! });
          if (sends.length === 1) {
            ws.send(JSON.stringify({ failure: f.connection, code: 5002, message: 'host unreachable', retry: true }));
            ws.send(JSON.stringify({ failure: f.id, code: 1007, message: `no open stream ${f.connection} on this socket`, retry: false }));
          } else {
            ws.send(JSON.stringify({ deliver: f.id, done: true, response: { seq: 7 } }));
          }
        }
      });
    });
    const url = `ws://127.0.0.1:${(wss.address() as { port: number }).port}`;
    const client = new AdamaClient({ url, identity: 'anonymous:a', WebSocket: WebSocket as unknown as WebSocketFactory });
    try {
      const doc = client.connect('chat', 'k');
      await doc.ready;
      await expect(doc.send('say', { text: 'hi' })).resolves.toEqual({ seq: 7 });
      expect(sends).toHaveLength(2);
      expect(sends[1]!.connection).not.toBe(sends[0]!.connection);
      expect(sends[1]!.dedupe).toBe(sends[0]!.dedupe);
    } finally {
      client.close();
      await new Promise((r) => wss.close(r));
    }
  });
});

/**
 * Delta frames on real WebSockets, on one process (the proxy calls the host in-process) and on
 * split tiers (real `adama host` and `adama proxy` processes over gRPC): the proxy now splices one
 * pre-serialized delta body into each frame instead of stringifying a frame object per viewer, and
 * the split-tier proxy no longer parses the host's delta at all. Clients must not see a byte of
 * difference: every delta frame is exactly what JSON.stringify of the frame object produced, and
 * the SDK, which now patches its view instead of decoding it whole, ends with the view a fresh
 * connection receives.
 */
import WebSocket from 'ws';
import { startTestCluster, waitFor } from '../support/cluster';
import { startSplitCluster } from '../support/split-cluster';
import type { AdamaClient } from '../../client/index';

type Frame = { deliver?: number; done?: boolean; response?: { delta?: { data: unknown; seq: number; reset?: boolean } }; ping?: number };

/** The frame as the proxy wrote it before: one JSON.stringify of the frame object. */
const previousFrame = (f: Frame): string => {
  const d = f.response!.delta!;
  return JSON.stringify({ deliver: f.deliver, done: false, response: { delta: { data: d.data, seq: d.seq, ...(d.reset ? { reset: true } : {}) } } });
};

/** A raw socket that keeps the exact text of every delta frame. */
class TextSocket {
  readonly deltas: string[] = [];
  private readonly replies = new Map<number, (f: Frame) => void>();
  private readonly waiters = new Set<() => void>();
  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const text = data.toString('utf8');
      const f = JSON.parse(text) as Frame & { failure?: number };
      if (f.ping !== undefined) { ws.send(JSON.stringify({ pong: f.ping })); return; }
      if (f.done === false) { this.deltas.push(text); for (const w of [...this.waiters]) w(); }
      const id = f.done === true ? f.deliver : f.failure;
      if (id !== undefined && this.replies.has(id)) { this.replies.get(id)!(f); this.replies.delete(id); }
    });
  }
  static async open(url: string, name: string): Promise<TextSocket> {
    const ws = new WebSocket(url);
    await new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('error', reject); });
    const s = new TextSocket(ws);
    await s.request({ id: 1, method: 'auth', identity: `anonymous:${name}` });
    return s;
  }
  request(frame: { id: number } & Record<string, unknown>): Promise<Frame> {
    return new Promise((resolve) => { this.replies.set(frame.id, resolve); this.ws.send(JSON.stringify(frame)); });
  }
  connect(key: string, id = 3): void { this.ws.send(JSON.stringify({ id, method: 'connection/create', space: 'chat', key })); }
  /** Resolves once the delta frames received so far satisfy `pred` (checked on each new one). */
  until(pred: (frames: string[]) => boolean): Promise<void> {
    return new Promise((resolve) => {
      const check = () => { if (pred(this.deltas)) { this.waiters.delete(check); resolve(); } };
      this.waiters.add(check);
      check();
    });
  }
  close(): void { this.ws.close(); }
}

const TEXTS = ['plain', 'é ü ß', 'emoji 🙂👍🏽', 'quote " backslash \\ slash /', 'line\u2028sep\u2029', '</script><b>', 'tab\tnl\n', '\u0001ctl'];

async function exercise(url: string, sdk: (name: string) => AdamaClient, key: string): Promise<void> {
  const viewers = await Promise.all(['ann', 'bob', 'cid'].map((n) => TextSocket.open(url, n)));
  await viewers[0]!.request({ id: 2, method: 'document/create', space: 'chat', key, arg: { title: 'frames ✓' } });
  for (const v of viewers) v.connect(key);
  const views = waitFor<string>();
  const watcher = sdk('sdk-watcher').connect('chat', key, { onView: (v) => views.push(JSON.stringify(v)) });
  await watcher.ready;
  const sender = sdk('sdk-sender').connect('chat', key);
  for (const text of TEXTS) await sender.send('say', { text });
  const sawAll = (frames: string[]) => frames.some((t) => t.includes('ctl'));
  await Promise.all(viewers.map((v) => v.until(sawAll)));
  for (const v of viewers) {
    expect(v.deltas.length).toBeGreaterThan(TEXTS.length);
    for (const text of v.deltas) expect(text).toBe(previousFrame(JSON.parse(text) as Frame));
  }
  // The SDK's patched view is the view a fresh connection receives whole.
  const fresh = sdk('sdk-watcher').connect('chat', key);
  const whole = await fresh.ready;
  await views.until((v) => v === JSON.stringify(whole));
  expect(watcher.view).toStrictEqual(whole);
  for (const v of viewers) v.close();
}

describe('delta frames on real sockets', () => {
  it('are byte-identical to the previous format on one process', async () => {
    const c = await startTestCluster();
    try {
      await exercise(c.wsUrl, (n) => c.client(n), 'frames-one');
    } finally {
      await c.close();
    }
  }, 60_000);

  it('are byte-identical to the previous format on split tiers, forwarded unparsed', async () => {
    const c = await startSplitCluster({ hosts: 1, proxies: 1 });
    try {
      await exercise(String(c.proxies[0]!.ready.ws), (n) => c.client(n), 'frames-split');
    } finally {
      await c.close();
    }
  }, 120_000);
});

/**
 * A raw protocol client for tests that speak frames directly (malformed input, limits). Frames
 * are collected; `next` awaits the first unread frame matching a predicate.
 */
import WebSocket from 'ws';

export type Frame = Record<string, unknown>;

export class RawSocket {
  private readonly frames: Frame[] = [];
  private readonly waiters: { pred: (f: Frame) => boolean; resolve(f: Frame): void }[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as Frame;
      if ('ping' in frame) { ws.send(JSON.stringify({ pong: frame.ping })); return; }
      const w = this.waiters.find((x) => x.pred(frame));
      if (w) { this.waiters.splice(this.waiters.indexOf(w), 1); w.resolve(frame); } else this.frames.push(frame);
    });
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  static async open(url: string): Promise<RawSocket> {
    const ws = new WebSocket(url);
    await new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('error', reject); });
    return new RawSocket(ws);
  }

  /**
   * A socket authenticated as `identity` (request 1) with document `space/key` created (2) and a
   * connection to it open: its id is 3 and its first delta has arrived.
   */
  static async connected(url: string, identity: string, space: string, key: string): Promise<RawSocket> {
    const s = await RawSocket.open(url);
    s.send({ id: 1, method: 'auth', identity });
    await s.reply(1);
    s.send({ id: 2, method: 'document/create', space, key, arg: {} });
    await s.reply(2);
    s.send({ id: 3, method: 'connection/create', space, key });
    await s.next((f) => f.deliver === 3);
    return s;
  }

  send(frame: unknown): void { this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame)); }

  next(pred: (f: Frame) => boolean = () => true, timeoutMs = 10_000): Promise<Frame> {
    const i = this.frames.findIndex(pred);
    if (i >= 0) return Promise.resolve(this.frames.splice(i, 1)[0]!);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no matching frame in time')), timeoutMs);
      this.waiters.push({ pred, resolve: (f) => { clearTimeout(timer); resolve(f); } });
    });
  }

  /** The reply (done or failure) to request `id`. */
  reply(id: number): Promise<Frame> {
    return this.next((f) => (f.deliver === id && f.done === true) || f.failure === id);
  }

  close(): void { this.ws.close(); }
}

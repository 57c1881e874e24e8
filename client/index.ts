/**
 * @module client
 * The Adama client SDK for browsers and Node. One socket carries many document streams; each
 * document exposes its view as plain JSON (the SDK applies deltas, docs/deltas.md). When the
 * socket drops, the SDK reconnects with jittered exponential backoff, resumes each stream with
 * `since` (so only what was missed is sent), and retries unacknowledged sends with their dedupe
 * key, so a send is applied at most once and acknowledged exactly once.
 */
import { apply, decode } from '../services/protocol/delta';
import { patchView } from '../services/protocol/view-patch';
import type { Delta, ServerFrame } from '../services/protocol/messages';
import type { Json } from '../services/shared/json';
import { jitteredBackoffMs } from '../services/shared/backoff';
import { E } from '../services/shared/errors';

/** The subset of the WebSocket API the SDK needs: the browser's, or the `ws` package's in Node. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onclose: ((ev: unknown) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
}
export type WebSocketFactory = new (url: string) => WebSocketLike;

export interface ClientOptions {
  /** ws(s)://host:port/ws */
  url: string;
  /** e.g. "anonymous:alice"; sent with `auth` after every (re)connect. */
  identity: string;
  WebSocket?: WebSocketFactory;
  /** First reconnect delay; doubles per attempt up to maxBackoffMs, with full jitter. */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** Reconnect if the server is silent (no ping) for this long. */
  silenceTimeoutMs?: number;
  /** Attempts for a send that fails with a retryable code. */
  maxSendAttempts?: number;
}

export class AdamaFailure extends Error {
  /** `retryAfterMs`: for RATE_LIMITED, how long the server asks us to wait before trying again. */
  constructor(readonly code: number, message: string, readonly retry: boolean, readonly retryAfterMs?: number) { super(message); this.name = 'AdamaFailure'; }
}

interface Pending { resolve(v: Record<string, Json>): void; reject(e: AdamaFailure): void }

export interface DocumentOptions {
  viewerState?: Json;
  /**
   * Called with the whole current view after every delta. Views share the subtrees a delta did
   * not touch with the previous view (so unchanged parts keep their identity); treat them as
   * immutable.
   */
  onView?(view: Json, seq: number): void;
  /** Called when the stream ends with a failure that will not be retried. */
  onError?(error: AdamaFailure): void;
}

export class AdamaClient {
  private ws: WebSocketLike | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly docs = new Map<number, AdamaDocument>();
  /** Every document not ended yet, whether or not its stream is open right now (close() ends them). */
  private readonly documents = new Set<AdamaDocument>();
  private connected: Promise<void>;
  private markConnected!: () => void;
  private attempt = 0;
  private closedByUser = false;
  /** Set when the server refused our identity (not retryable); cleared by a later successful auth. */
  private authFailure: AdamaFailure | null = null;
  private lastFrameAtMs = Date.now();
  private readonly watchdog: ReturnType<typeof setInterval>;
  /** Every timer the client and its documents set (reconnect, reopen, retry waits): close() clears them all. */
  private readonly timers = new Map<ReturnType<typeof setTimeout>, () => void>();
  private readonly sendSalt = Math.random().toString(36).slice(2, 10);
  private sendCounter = 0;

  constructor(readonly options: ClientOptions) {
    this.connected = new Promise((r) => (this.markConnected = r));
    this.open();
    const silence = options.silenceTimeoutMs ?? 10_000;
    this.watchdog = setInterval(() => {
      if (this.ws && Date.now() - this.lastFrameAtMs > silence) this.ws.close(4000, 'silent server');
    }, Math.min(silence, 1000));
    (this.watchdog as { unref?: () => void }).unref?.();
  }

  /** Creates a document; rejects with AdamaFailure (code 3003 if it exists). */
  async createDocument(space: string, key: string, arg: Json = {}): Promise<{ seq: number }> {
    const r = await this.request({ method: 'document/create', space, key, arg });
    return { seq: r.seq as number };
  }

  /** Deletes a document (the space's canDelete decides; DELETE_DENIED otherwise). Its streams end with DOCUMENT_DELETED. */
  async deleteDocument(space: string, key: string): Promise<void> {
    await this.request({ method: 'document/delete', space, key });
  }

  /** A page of a space's documents in key order (the space's canList decides); pass `next` as `after` for the following page. */
  async listDocuments(space: string, options: { after?: string; limit?: number } = {}): Promise<{ documents: { key: string; seq: number; updatedAt: string }[]; next?: string }> {
    const r = await this.request({ method: 'document/list', space, ...(options.after !== undefined ? { after: options.after } : {}), ...(options.limit !== undefined ? { limit: options.limit } : {}) });
    return r as unknown as { documents: { key: string; seq: number; updatedAt: string }[]; next?: string };
  }

  /** Opens a stream to a document; `ready` resolves with the first view. */
  connect(space: string, key: string, options: DocumentOptions = {}): AdamaDocument {
    return new AdamaDocument(this, space, key, options);
  }

  close(): void {
    this.closedByUser = true;
    clearInterval(this.watchdog);
    // Waits end now (a retrying send then sees "client closed"); nothing is left scheduled.
    for (const [timer, wake] of this.timers) { clearTimeout(timer); wake(); }
    this.timers.clear();
    this.ws?.close(1000, 'client closed');
    for (const p of this.pending.values()) p.reject(new AdamaFailure(0, 'client closed', false));
    this.pending.clear();
    for (const d of [...this.documents]) d.fail(new AdamaFailure(0, 'client closed', false));
  }

  /** @internal */ track(doc: AdamaDocument): void { this.documents.add(doc); }
  /** @internal */ untrack(doc: AdamaDocument): void { this.documents.delete(doc); }

  /** @internal Runs `fn` after `ms` unless the client closes first. */
  later(fn: () => void, ms: number): void {
    if (this.closedByUser) return;
    const timer = setTimeout(() => { this.timers.delete(timer); fn(); }, ms);
    this.timers.set(timer, () => undefined);
  }

  /** @internal Resolves after `ms`, or at once when the client closes. */
  sleep(ms: number): Promise<void> {
    if (this.closedByUser) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => { this.timers.delete(timer); resolve(); }, ms);
      this.timers.set(timer, resolve);
    });
  }

  /** @internal */ newDedupeKey(): string { return `${this.sendSalt}-${++this.sendCounter}`; }

  /** @internal Sends a request once the socket is up; resolves with its done response. */
  async request(body: Record<string, Json>, onOpen?: (id: number) => void): Promise<Record<string, Json>> {
    await this.connected;
    if (this.closedByUser) throw new AdamaFailure(0, 'client closed', false);
    if (this.authFailure) throw this.authFailure;
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      onOpen?.(id);
      this.ws!.send(JSON.stringify({ id, ...body }));
    });
  }

  /** @internal */ registerStream(id: number, doc: AdamaDocument): void { this.docs.set(id, doc); }
  /** @internal */ unregisterStream(id: number): void { this.docs.delete(id); }

  private open(): void {
    const Ctor = this.options.WebSocket ?? (globalThis as unknown as { WebSocket: WebSocketFactory }).WebSocket;
    const ws = new Ctor(this.options.url);
    this.ws = ws;
    ws.onopen = () => {
      this.attempt = 0;
      this.lastFrameAtMs = Date.now();
      const id = this.nextId++;
      this.pending.set(id, { resolve: () => this.afterAuth(), reject: (e) => this.authRefused(e) });
      ws.send(JSON.stringify({ id, method: 'auth', identity: this.options.identity }));
    };
    ws.onmessage = (ev) => this.onFrame(String(ev.data));
    ws.onerror = () => undefined;
    ws.onclose = () => this.onSocketClosed(ws);
  }

  /** A refused identity will not get better by waiting: fail every stream and every request now and later. */
  private authRefused(e: AdamaFailure): void {
    if (e.retry) return; // the socket dropped during auth; the reconnect will try again
    this.authFailure = e;
    for (const d of this.docs.values()) d.fail(e);
    this.markConnected();
  }

  private afterAuth(): void {
    this.authFailure = null;
    const docs = [...this.docs.values()];
    this.docs.clear();
    this.markConnected();
    for (const d of docs) d.reopen();
  }

  private onSocketClosed(ws: WebSocketLike): void {
    if (this.ws !== ws) return;
    this.ws = null;
    this.connected = new Promise((r) => (this.markConnected = r));
    // Requests in flight on the dead socket fail as retryable; sends and streams retry themselves.
    for (const p of this.pending.values()) p.reject(new AdamaFailure(0, 'socket closed', true));
    this.pending.clear();
    for (const d of this.docs.values()) d.socketLost();
    if (this.closedByUser) return;
    const base = this.options.initialBackoffMs ?? 100;
    const cap = this.options.maxBackoffMs ?? 5000;
    const delay = jitteredBackoffMs(this.attempt++, base, cap);
    this.later(() => this.open(), delay);
  }

  private onFrame(text: string): void {
    this.lastFrameAtMs = Date.now();
    let frame: ServerFrame;
    try { frame = JSON.parse(text) as ServerFrame; } catch { return; }
    if ('ping' in frame) { this.ws?.send(JSON.stringify({ pong: frame.ping })); return; }
    if ('failure' in frame) {
      const failure = new AdamaFailure(frame.code, frame.message, frame.retry, frame.retryAfterMs);
      if (frame.failure === null) return;
      const doc = this.docs.get(frame.failure);
      const p = this.pending.get(frame.failure);
      this.pending.delete(frame.failure);
      if (doc) { this.docs.delete(frame.failure); doc.streamFailed(failure); }
      p?.reject(failure);
      return;
    }
    if (frame.done === false) { this.docs.get(frame.deliver)?.delta(frame.response.delta); return; }
    const p = this.pending.get(frame.deliver);
    this.pending.delete(frame.deliver);
    p?.resolve(frame.response);
  }
}

export class AdamaDocument {
  /** The current view as plain JSON; undefined until the first delta. */
  view: Json | undefined;
  seq: number | undefined;
  readonly ready: Promise<Json>;
  private encoded: Json | undefined;
  private streamId: number | null = null;
  /** Resolves with the stream id once the (re)opened stream delivered its first delta. */
  private open = deferred<number>();
  private ended = false;
  /** Why the stream ended, when the server ended it; later calls fail with the same code. */
  private failure: AdamaFailure | null = null;
  private markReady!: (v: Json) => void;
  private failReady!: (e: AdamaFailure) => void;
  private viewerState: Json;

  constructor(private readonly client: AdamaClient, readonly space: string, readonly key: string, private readonly options: DocumentOptions) {
    this.viewerState = options.viewerState ?? {};
    this.ready = new Promise((resolve, reject) => { this.markReady = resolve; this.failReady = reject; });
    this.ready.catch(() => undefined);
    client.track(this);
    this.reopen();
  }

  /** Sends to a channel; resolves with the durable seq. Retryable failures are retried with the same dedupe key. */
  async send(channel: string, message: Json): Promise<{ seq: number }> {
    const dedupe = this.client.newDedupeKey();
    const attempts = this.client.options.maxSendAttempts ?? 8;
    for (let attempt = 1; ; attempt++) {
      let id: number | undefined;
      try {
        id = await this.currentStream();
        const r = await this.client.request({ method: 'connection/send', connection: id, channel, message, dedupe });
        return { seq: r.seq as number };
      } catch (err) {
        const f = err instanceof AdamaFailure ? err : new AdamaFailure(0, String(err), false);
        // The stream ended on the server (its failure frame came first) while this send was on
        // its way: the send goes again on the reopened stream, under the same dedupe key.
        const streamGone = f.code === E.UNKNOWN_CONNECTION.code && id !== undefined && id !== this.streamId;
        if ((!f.retry && !streamGone) || attempt >= attempts || this.ended) throw f;
        // Full jitter that grows with each attempt, on top of what a rate limit asked for: many sends
        // refused together (one principal with many in flight) then spread out instead of all
        // coming back at once and being refused again until their attempts run out.
        const jitterMs = jitteredBackoffMs(attempt, 50, 2000);
        const delayMs = (f.retryAfterMs ?? 0) + jitterMs;
        await this.client.sleep(delayMs);
      }
    }
  }

  async update(viewerState: Json): Promise<void> {
    this.viewerState = viewerState;
    const id = await this.currentStream();
    await this.client.request({ method: 'connection/update', connection: id, viewerState });
  }

  async end(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    this.client.untrack(this);
    const id = this.streamId;
    if (id === null) return;
    this.client.unregisterStream(id);
    await this.client.request({ method: 'connection/end', connection: id }).catch(() => undefined);
  }

  /** @internal The socket dropped: sends wait until the stream is reopened on the next socket. */
  socketLost(): void {
    this.streamId = null;
    if (this.open.settled) this.open = deferred<number>();
  }

  /** @internal (Re)opens the stream on the current socket, resuming from the last seq seen. */
  reopen(): void {
    if (this.ended) return;
    if (this.open.settled) this.open = deferred<number>();
    const body: Record<string, Json> = { method: 'connection/create', space: this.space, key: this.key, viewerState: this.viewerState };
    if (this.seq !== undefined) body.since = this.seq;
    this.client.request(body, (id) => { this.streamId = id; this.client.registerStream(id, this); })
      .catch((e: AdamaFailure) => { if (!e.retry) this.fail(e); });
  }

  /** @internal */ delta(d: Delta): void {
    try {
      // Apply the patch to the encoded state, then bring the view along at the cost of the patch:
      // only what it touched is decoded again (view-patch.ts); a reset decodes the whole view.
      const before = this.encoded;
      const encoded = d.reset || before === undefined ? d.data : apply(before, d.data);
      this.view = encoded === d.data || this.view === undefined ? decode(encoded) : patchView(this.view, before, d.data, encoded);
      this.encoded = encoded;
    } catch {
      // A delta that does not apply means we lost track: ask for the whole view again.
      this.encoded = undefined;
      this.seq = undefined;
      void this.resync();
      return;
    }
    this.seq = d.seq;
    if (this.streamId !== null) this.open.resolve(this.streamId);
    this.markReady(this.view);
    this.options.onView?.(this.view, d.seq);
  }

  /** @internal */ streamFailed(f: AdamaFailure): void {
    this.socketLost();
    if (f.retry && !this.ended) this.client.later(() => this.reopen(), 100 + Math.random() * 200);
    else this.fail(f);
  }

  /** @internal */ fail(f: AdamaFailure): void {
    if (this.ended) return;
    this.ended = true;
    this.client.untrack(this);
    this.failure = f;
    this.failReady(f);
    this.open.reject(f);
    this.options.onError?.(f);
  }

  private async resync(): Promise<void> {
    const id = this.streamId;
    if (id !== null) { this.client.unregisterStream(id); await this.client.request({ method: 'connection/end', connection: id }).catch(() => undefined); }
    this.reopen();
  }

  private currentStream(): Promise<number> {
    if (this.ended) return Promise.reject(this.failure ?? new AdamaFailure(0, 'stream ended', false));
    return this.open.promise;
  }
}

interface Deferred<T> { promise: Promise<T>; settled: boolean; resolve(v: T): void; reject(e: unknown): void }

function deferred<T>(): Deferred<T> {
  const d = { settled: false } as Deferred<T>;
  d.promise = new Promise<T>((resolve, reject) => {
    d.resolve = (v) => { d.settled = true; resolve(v); };
    d.reject = (e) => { d.settled = true; reject(e); };
  });
  d.promise.catch(() => undefined);
  return d;
}

/**
 * @module socket-session
 * One client WebSocket: decodes frames, enforces the per-socket limits, multiplexes document
 * streams, keeps the connection alive with pings, and writes every reply in the protocol's
 * shape. Every failure a client can cause is answered with a coded failure frame; nothing a
 * client sends can throw out of here.
 *
 * Edge checks (identity, rate limits, message size) run in arrival order through one promise
 * chain per socket, so an `auth` is in force for the frames behind it and two sends on a stream
 * reach the host in the order the client wrote them; only the checks are serialised, not the
 * host's work, so a slow send never holds up the next one.
 */
import type WebSocket from 'ws';
import { decodeClientFrame } from '../protocol/codec';
import { deltaFrame } from '../protocol/delta-wire';
import type { Request, ServerFrame } from '../protocol/messages';
import { AdamaError, E, errorByCode, toErrorBody, type ErrorBody, type ErrorEntry } from '../shared/errors';
import { requestResult, withSpan, type AdamaMetrics } from '../shared/telemetry';
import type { Attributes, Tracer } from '@opentelemetry/api';
import type { Json } from '../shared/json';
import type { Logger } from '../shared/log';
import type { ProxyConfig } from '../shared/config';
import type { Who } from '../shared/identity';
import type { HostClient } from '../protocol/host-api';
import { ProxyStream } from './proxy-stream';
import type { EdgeGuard } from './edge/edge-guard';

/** document/list without a `limit`. */
const DEFAULT_LIST_LIMIT = 100;
import type { Principal } from './edge/token-verifier';

/** WebSocket close code for closes the server initiates for a protocol reason; the reason names the error code. */
export const CLOSE_PROTOCOL = 4000;

export interface SessionDeps {
  host: HostClient;
  config: Readonly<ProxyConfig>;
  log: Logger;
  metrics: AdamaMetrics;
  /** Spans per request (OTLP export is off unless configured). */
  tracer: Tracer;
  connId: number;
  edge: EdgeGuard;
  /** The client's address, the key of per-address limits. */
  remoteAddress: string;
}

export class SocketSession {
  private readonly streams = new Map<number, ProxyStream>();
  /** Ids of requests received and not answered yet (a stream's id moves to `streams` once it opens). */
  private readonly pendingIds = new Set<number>();
  private principal: Principal | null = null;
  private releaseSocketSlot: (() => void) | null = null;
  /** Tail of the in-order edge checks; starts with this socket's own admission. */
  private checks: Promise<unknown>;
  private lastPongAtMs = Date.now();
  private closed = false;

  constructor(private readonly ws: WebSocket, private readonly deps: SessionDeps) {
    ws.on('message', (data, isBinary) => this.onMessage(isBinary ? null : data.toString('utf8')));
    ws.on('close', () => this.onClose());
    ws.on('error', (err) => deps.log.debug({ conn: deps.connId, err: String(err) }, 'socket.error'));
    deps.metrics.socketsOpen.add(1);
    const admitted = deps.edge.admit('socket', deps.remoteAddress, null);
    this.checks = admitted.catch(() => undefined);
    admitted.catch((err: unknown) => {
      // Over the per-address socket rate: say why with the usual coded frame, then close with the code.
      this.fail(null, err);
      this.close(E.RATE_LIMITED);
    });
  }

  get streamCount(): number { return this.streams.size; }

  /** Closes the socket from the server side with a coded reason. */
  close(entry: ErrorEntry, wsCode = CLOSE_PROTOCOL): void {
    if (this.closed) return;
    this.ws.close(wsCode, `${entry.code} ${entry.name}`);
    this.onClose();
  }

  /**
   * Inbound backpressure: a socket with this many requests still being checked or handled stops
   * being read until half of them finished, so one flooding client queues in its own TCP buffer
   * instead of in our event loop, and other sockets keep their latency.
   */
  private static readonly MAX_IN_FLIGHT = 32;
  private inFlight = 0;

  private started(): void {
    if (++this.inFlight >= SocketSession.MAX_IN_FLIGHT && !this.ws.isPaused) this.ws.pause();
  }

  private finished(): void {
    if (--this.inFlight <= SocketSession.MAX_IN_FLIGHT / 2 && this.ws.isPaused && !this.closed) this.ws.resume();
  }

  private onMessage(text: string | null): void {
    if (text === null) { this.fail(null, new AdamaError(E.FRAME_NOT_JSON, 'binary frames are not accepted')); return; }
    const decoded = decodeClientFrame(text, this.deps.config.maxFrameBytes);
    switch (decoded.kind) {
      case 'pong': this.lastPongAtMs = Date.now(); return;
      case 'error':
        if (decoded.id !== null && this.idInUse(decoded.id)) this.refuseDuplicate(decoded.id);
        else this.fail(decoded.id, decoded.error);
        return;
      case 'request': {
        this.lastPongAtMs = Date.now();
        const req = decoded.request;
        if (this.idInUse(req.id)) { this.refuseDuplicate(req.id); return; }
        this.pendingIds.add(req.id);
        this.started();
        const frameChars = text.length;
        const checked = this.checks.then(() => this.check(req, frameChars));
        this.checks = checked.catch(() => undefined);
        checked.then((who) => withSpan(this.deps.tracer, `adama.${req.method}`, spanAttributes(req, this.deps.connId), () => this.handle(req, who))).catch((err: unknown) => this.fail(req.id, err)).finally(() => {
          this.pendingIds.delete(req.id);
          this.finished();
        });
      }
    }
  }

  /** The edge checks of one request, in arrival order (`frameChars`: the length of its frame); returns the identity a create acts as. */
  private async check(req: Request, frameChars: number): Promise<Who | null> {
    const { edge, remoteAddress } = this.deps;
    switch (req.method) {
      case 'auth': {
        const principal = await edge.authenticate(req.identity);
        // The address already paid for this socket when it connected; auth charges the principal only.
        await edge.admit('socket', null, principal.who);
        const release = edge.claimSocket(principal.who);
        this.releaseSocketSlot?.();
        this.releaseSocketSlot = release;
        this.principal = principal;
        if (this.closed) this.releaseSocketSlot();
        return principal.who;
      }
      case 'document/create':
      case 'document/delete':
      case 'document/list':
      case 'connection/create': {
        const who = await this.who(req.identity);
        await edge.admit('stream', remoteAddress, who);
        return who;
      }
      case 'connection/send': {
        const stream = this.stream(req.connection);
        edge.checkMessageSize(stream.ref.space, req.message, frameChars);
        await edge.admit('message', remoteAddress, stream.who);
        return null;
      }
      case 'connection/update': {
        await edge.admit('message', remoteAddress, this.stream(req.connection).who);
        return null;
      }
      case 'connection/end': return null;
    }
  }

  private async handle(req: Request, who: Who | null): Promise<void> {
    switch (req.method) {
      case 'auth': {
        this.reply(req.id, { agent: who!.agent, authority: who!.authority });
        return;
      }
      case 'document/create': {
        const { seq } = await this.deps.host.createDocument({ space: req.space, key: req.key }, who!, req.arg ?? null);
        this.reply(req.id, { seq });
        return;
      }
      case 'document/delete': {
        await this.deps.host.deleteDocument({ space: req.space, key: req.key }, who!);
        this.reply(req.id, {});
        return;
      }
      case 'document/list': {
        const page = await this.deps.host.listDocuments(req.space, who!, req.after ?? '', req.limit ?? DEFAULT_LIST_LIMIT);
        this.reply(req.id, { documents: page.documents, ...(page.next !== undefined ? { next: page.next } : {}) });
        return;
      }
      case 'connection/create': return this.openStream(req, who!);
      case 'connection/send': {
        const startedMs = Date.now();
        try {
          const { seq } = await this.stream(req.connection).send(req.channel, req.message, req.dedupe);
          this.deps.metrics.sends.add(1, { result: 'ok' });
          this.deps.metrics.sendToAckMs.record(Date.now() - startedMs);
          this.reply(req.id, { seq });
        } catch (err) {
          this.deps.metrics.sends.add(1, { result: requestResult(toErrorBody(err)) });
          throw err;
        }
        return;
      }
      case 'connection/update': {
        await this.stream(req.connection).update(req.viewerState);
        this.reply(req.id, {});
        return;
      }
      case 'connection/end': {
        const stream = this.stream(req.connection);
        this.removeStream(req.connection);
        await stream.end();
        this.reply(req.connection, {});
        if (req.id !== req.connection) this.reply(req.id, {});
        return;
      }
    }
  }

  private async openStream(req: Extract<Request, { method: 'connection/create' }>, who: Who): Promise<void> {
    if (this.streams.size >= this.deps.config.maxStreamsPerSocket) {
      throw new AdamaError(E.TOO_MANY_STREAMS, `this socket already has ${this.streams.size} streams (limit ${this.deps.config.maxStreamsPerSocket})`);
    }
    const stream = new ProxyStream({
      id: req.id,
      ref: { space: req.space, key: req.key },
      who,
      viewerState: req.viewerState ?? {},
      since: req.since,
      host: this.deps.host,
      log: this.deps.log,
      maxPendingSends: this.deps.config.maxPendingSendsPerStream,
      rerouteBackoffMs: this.deps.config.rerouteBackoffMs,
      output: {
        // One shared serialized body per distinct delta; only the frame around it is per stream.
        delta: (id, delta) => this.writeText(deltaFrame(id, delta)),
        failed: (id, error) => { this.removeStream(id); this.writeFailure(id, error); },
        reattached: () => this.deps.metrics.failovers.add(1),
      },
    });
    this.streams.set(req.id, stream);
    this.deps.metrics.streamsOpen.add(1);
    try {
      await stream.opened();
      this.deps.metrics.connects.add(1, { result: 'ok' });
    } catch (err) {
      this.deps.metrics.connects.add(1, { result: requestResult(toErrorBody(err)) });
      this.removeStream(req.id);
      throw err;
    }
    if (this.closed) void stream.end();
  }

  private removeStream(id: number): void {
    if (this.streams.delete(id)) this.deps.metrics.streamsOpen.add(-1);
  }

  /** The identity given with this request, else the socket's `auth`, which must not have expired. */
  private async who(identity: string | undefined): Promise<Who> {
    if (identity !== undefined) return (await this.deps.edge.authenticate(identity)).who;
    if (!this.principal) throw new AdamaError(E.IDENTITY_INVALID, 'no identity: send auth first or pass identity');
    if (this.principal.expiresAtMs !== null && this.principal.expiresAtMs <= Date.now()) {
      throw new AdamaError(E.TOKEN_EXPIRED, 'the token given with auth has expired; send auth with a new token');
    }
    return this.principal.who;
  }

  private stream(id: number): ProxyStream {
    const s = this.streams.get(id);
    if (!s) throw new AdamaError(E.UNKNOWN_CONNECTION, `no open stream ${id} on this socket`);
    return s;
  }

  private reply(id: number, response: Record<string, Json>): void {
    this.write({ deliver: id, done: true, response });
  }

  /** An open stream's id, or a request's that has not been answered yet: any frame under it would be ambiguous. */
  private idInUse(id: number): boolean {
    return this.streams.has(id) || this.pendingIds.has(id);
  }

  /**
   * A request under an id in use is refused with `failure: null` (never `failure: <id>`, which
   * would say that the stream or request under that id ended) and `refusedId` naming it; the
   * stream or request that owns the id is untouched (docs/protocol.md).
   */
  private refuseDuplicate(id: number): void {
    const e = E.DUPLICATE_REQUEST_ID;
    this.deps.metrics.protocolErrors.add(1, { code: e.name });
    this.write({ failure: null, refusedId: id, code: e.code, message: `request id ${id} is in use by an open stream or an unanswered request on this socket; choose another`, retry: e.retry });
  }

  private fail(id: number | null, err: unknown): void {
    const body = toErrorBody(err);
    if (!(err instanceof AdamaError)) this.deps.log.error({ conn: this.deps.connId, err: String(err), stack: (err as Error)?.stack }, 'request.internal_error');
    this.writeFailure(id, body);
  }

  private writeFailure(id: number | null, body: ErrorBody): void {
    this.deps.metrics.protocolErrors.add(1, { code: errorByCode(body.code)?.name ?? 'INTERNAL' });
    this.write({ failure: id, code: body.code, message: body.message, retry: body.retry, ...(body.retryAfterMs !== undefined ? { retryAfterMs: body.retryAfterMs } : {}) });
  }

  /** Every frame goes through here: a socket that stopped reading is closed rather than buffered without bound. */
  private write(frame: ServerFrame): void {
    this.writeText(JSON.stringify(frame));
  }

  private writeText(text: string): void {
    if (this.closed || this.ws.readyState !== this.ws.OPEN) return;
    if (this.ws.bufferedAmount > this.deps.config.maxBufferedBytes) {
      this.deps.log.warn({ conn: this.deps.connId, bytes: this.ws.bufferedAmount }, 'socket.slow_consumer');
      this.close(E.SLOW_CONSUMER);
      return;
    }
    this.ws.send(text);
  }

  /**
   * One keepalive tick (proxy-server.ts runs one timer for every socket and builds the ping frame
   * once per tick): a socket silent past the pong timeout is closed, any other gets the ping.
   */
  keepalive(nowMs: number, pingFrame: string): void {
    if (this.closed) return;
    if (nowMs - this.lastPongAtMs > this.deps.config.pongTimeoutMs) {
      this.deps.log.info({ conn: this.deps.connId }, 'socket.pong_timeout');
      this.close(E.PONG_TIMEOUT);
      return;
    }
    this.writeText(pingFrame);
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    this.releaseSocketSlot?.();
    for (const s of this.streams.values()) void s.end();
    this.deps.metrics.streamsOpen.add(-this.streams.size);
    this.streams.clear();
    this.deps.metrics.socketsOpen.add(-1);
  }
}

/** What a request's span records: never identities or message bodies. */
function spanAttributes(req: Request, connId: number): Attributes {
  const attrs: Attributes = { 'adama.conn': connId, 'adama.request': req.id };
  if ('space' in req) attrs['adama.space'] = req.space;
  if ('key' in req) attrs['adama.key'] = req.key;
  if ('connection' in req) attrs['adama.stream'] = req.connection;
  if ('channel' in req) attrs['adama.channel'] = req.channel;
  return attrs;
}

/**
 * @module socket-session
 * One client WebSocket: decodes frames, enforces the per-socket limits, multiplexes document
 * streams, keeps the connection alive with pings, and writes every reply in the protocol's
 * shape. Every failure a client can cause is answered with a coded failure frame; nothing a
 * client sends can throw out of here.
 */
import type WebSocket from 'ws';
import { decodeClientFrame } from '../protocol/codec';
import type { Request, ServerFrame } from '../protocol/messages';
import { AdamaError, E, errorByCode, toErrorBody, type ErrorBody, type ErrorEntry } from '../shared/errors';
import { requestResult, type AdamaMetrics } from '../shared/telemetry';
import { parseIdentity } from '../shared/identity';
import type { Json } from '../shared/json';
import type { Logger } from '../shared/log';
import type { ProxyConfig } from '../shared/config';
import type { Who } from '../storage/data-service';
import type { HostClient } from '../adama-host/host-api';
import { ProxyStream } from './proxy-stream';

/** WebSocket close code for closes the server initiates for a protocol reason; the reason names the error code. */
export const CLOSE_PROTOCOL = 4000;

export interface SessionDeps {
  host: HostClient;
  config: Readonly<ProxyConfig>;
  log: Logger;
  metrics: AdamaMetrics;
  connId: number;
}

export class SocketSession {
  private readonly streams = new Map<number, ProxyStream>();
  private defaultWho: Who | null = null;
  private lastPongAtMs = Date.now();
  private readonly pingTimer: NodeJS.Timeout;
  private closed = false;

  constructor(private readonly ws: WebSocket, private readonly deps: SessionDeps) {
    ws.on('message', (data, isBinary) => this.onMessage(isBinary ? null : data.toString('utf8')));
    ws.on('close', () => this.onClose());
    ws.on('error', (err) => deps.log.debug({ conn: deps.connId, err: String(err) }, 'socket.error'));
    this.pingTimer = setInterval(() => this.ping(), deps.config.pingIntervalMs);
    this.pingTimer.unref();
    deps.metrics.socketsOpen.add(1);
  }

  get streamCount(): number { return this.streams.size; }

  /** Closes the socket from the server side with a coded reason. */
  close(entry: ErrorEntry, wsCode = CLOSE_PROTOCOL): void {
    if (this.closed) return;
    this.ws.close(wsCode, `${entry.code} ${entry.name}`);
    this.onClose();
  }

  private onMessage(text: string | null): void {
    if (text === null) { this.fail(null, new AdamaError(E.FRAME_NOT_JSON, 'binary frames are not accepted')); return; }
    const decoded = decodeClientFrame(text, this.deps.config.maxFrameBytes);
    switch (decoded.kind) {
      case 'pong': this.lastPongAtMs = Date.now(); return;
      case 'error': this.fail(decoded.id, decoded.error); return;
      case 'request':
        this.lastPongAtMs = Date.now();
        this.handle(decoded.request).catch((err: unknown) => this.fail(decoded.request.id, err));
    }
  }

  private async handle(req: Request): Promise<void> {
    switch (req.method) {
      case 'auth': {
        this.defaultWho = parseIdentity(req.identity);
        this.reply(req.id, { agent: this.defaultWho.agent, authority: this.defaultWho.authority });
        return;
      }
      case 'document/create': {
        const { seq } = await this.deps.host.createDocument({ space: req.space, key: req.key }, this.who(req.identity), req.arg ?? null);
        this.reply(req.id, { seq });
        return;
      }
      case 'connection/create': return this.openStream(req);
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

  private async openStream(req: Extract<Request, { method: 'connection/create' }>): Promise<void> {
    if (this.streams.has(req.id)) throw new AdamaError(E.DUPLICATE_REQUEST_ID, `stream ${req.id} is already open`);
    if (this.streams.size >= this.deps.config.maxStreamsPerSocket) {
      throw new AdamaError(E.TOO_MANY_STREAMS, `this socket already has ${this.streams.size} streams (limit ${this.deps.config.maxStreamsPerSocket})`);
    }
    const who = this.who(req.identity);
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
        delta: (id, delta) => this.write({ deliver: id, done: false, response: { delta } }),
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

  private who(identity: string | undefined): Who {
    if (identity !== undefined) return parseIdentity(identity);
    if (this.defaultWho) return this.defaultWho;
    throw new AdamaError(E.IDENTITY_INVALID, 'no identity: send auth first or pass identity');
  }

  private stream(id: number): ProxyStream {
    const s = this.streams.get(id);
    if (!s) throw new AdamaError(E.UNKNOWN_CONNECTION, `no open stream ${id} on this socket`);
    return s;
  }

  private reply(id: number, response: Record<string, Json>): void {
    this.write({ deliver: id, done: true, response });
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
    if (this.closed || this.ws.readyState !== this.ws.OPEN) return;
    if (this.ws.bufferedAmount > this.deps.config.maxBufferedBytes) {
      this.deps.log.warn({ conn: this.deps.connId, bytes: this.ws.bufferedAmount }, 'socket.slow_consumer');
      this.close(E.SLOW_CONSUMER);
      return;
    }
    this.ws.send(JSON.stringify(frame));
  }

  private ping(): void {
    if (Date.now() - this.lastPongAtMs > this.deps.config.pongTimeoutMs) {
      this.deps.log.info({ conn: this.deps.connId }, 'socket.pong_timeout');
      this.close(E.PONG_TIMEOUT);
      return;
    }
    this.write({ ping: Date.now() });
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.pingTimer);
    for (const s of this.streams.values()) void s.end();
    this.deps.metrics.streamsOpen.add(-this.streams.size);
    this.streams.clear();
    this.deps.metrics.socketsOpen.add(-1);
  }
}

/**
 * @module grpc-host-service
 * The adama-host's gRPC face (proto/host.proto). Each Multiplex call is one proxy: envelopes are
 * decoded apart from being handled, every request gets exactly one answer, and everything the
 * call attached is detached when it ends, however it ends (proxy gone, garbage, cancel).
 */
import type * as grpc from '@grpc/grpc-js';
import { AdamaError, E, toErrorBody } from '../shared/errors';
import { findUnstorableString, mayHoldUnstorableEscape, type Json } from '../shared/json';
import type { Logger } from '../shared/log';
import type { DocRef } from '../shared/doc-ref';
import type { Who } from '../shared/identity';
import { EnvelopeBatcher, QueueOverflowError } from '../grpc/envelope-batcher';
import { unaryHandler } from '../grpc/service-error';
import { DeltaGrouper } from '../grpc/delta-grouper';
import { GROUPED_DELTAS, WIRE_FEATURES_KEY, type DrainRequest, type FailureMsg, type HostBatch, type HostEnvelope, type OpenStreamMsg, type ProxyBatch, type ProxyEnvelope, type StatusReply, type WhoMsg } from '../grpc/host-messages';
import type { DocumentStream } from '../protocol/host-api';
import type { DocumentHost } from './document-host';
import type { OwnedCount } from './owned-count';
import type { HostDrain } from './host-drain';

export interface HostServiceDeps {
  host: Pick<DocumentHost, 'hostId' | 'loadedDocuments' | 'openStream' | 'createDocument' | 'deleteDocument' | 'listDocuments' | 'postMessage'>;
  log: Logger;
  /** The host's drain (host-drain.ts): Drain, CancelDrain and Status's `draining`. */
  drain: Pick<HostDrain, 'drain' | 'cancel' | 'draining'>;
  /** documents_owned for Status (see owned-count.ts); never rejects. */
  documentsOwned(loaded: number): Promise<OwnedCount>;
  /** Envelopes per outbound gRPC message, and envelopes held for a proxy that is not reading. */
  maxBatch: number;
  maxQueued: number;
}

type MultiplexCall = grpc.ServerDuplexStream<ProxyBatch, HostBatch>;

export function createHostService(deps: HostServiceDeps): grpc.UntypedServiceImplementation {
  let nextCallId = 1;
  return {
    Multiplex(call: MultiplexCall) {
      new MultiplexSession(call, deps, nextCallId++);
    },
    Drain: unaryHandler((req: DrainRequest) => deps.drain.drain(req.timeout_ms || 60_000), deps.log, 'Drain'),
    CancelDrain: unaryHandler(() => deps.drain.cancel(), deps.log, 'CancelDrain'),
    Status(_call: grpc.ServerUnaryCall<unknown, StatusReply>, callback: grpc.sendUnaryData<StatusReply>) {
      const loaded = deps.host.loadedDocuments;
      void deps.documentsOwned(loaded).then((owned) => callback(null, {
        host_id: deps.host.hostId, draining: deps.drain.draining, documents_loaded: loaded, documents_owned: owned.owned, documents_owned_known: owned.known,
      }));
    },
  };
}

/** One proxy's Multiplex call: the document streams it opened, by their envelope id. */
class MultiplexSession {
  private readonly streams = new Map<number, Promise<DocumentStream>>();
  private readonly out: EnvelopeBatcher<HostEnvelope>;
  private readonly deltas: DeltaGrouper;
  private ended = false;

  constructor(private readonly call: MultiplexCall, private readonly deps: HostServiceDeps, private readonly callId: number) {
    this.out = new EnvelopeBatcher<HostEnvelope>(call, { maxBatch: deps.maxBatch, maxQueued: deps.maxQueued });
    this.deltas = new DeltaGrouper((env) => this.push(env), announcesGroupedDeltas(call.metadata));
    call.on('data', (batch: ProxyBatch) => {
      for (const env of batch.items ?? []) this.handle(env);
    });
    call.on('end', () => this.end('proxy ended the stream'));
    call.on('error', (err) => this.end(`stream error: ${err.message}`));
    call.on('cancelled', () => this.end('proxy cancelled'));
    deps.log.info({ peer: call.getPeer(), call: callId, groupedDeltas: announcesGroupedDeltas(call.metadata) }, 'multiplex.opened');
  }

  private handle(env: ProxyEnvelope): void {
    const id = env.id;
    // `result`: the reply's result_json (list); every other reply carries only a seq.
    const run = (p: Promise<unknown>, result?: (r: unknown) => string) =>
      p.then((r) => this.send({ id, reply: { seq: (r as { seq?: number } | undefined)?.seq ?? 0, result_json: result ? result(r) : '' } }), (err: unknown) => {
        if (!(err instanceof AdamaError)) this.deps.log.error({ call: this.callId, err: String(err), stack: (err as Error)?.stack }, 'multiplex.internal_error');
        this.send({ id, failure: failureOf(err) });
      });
    try {
      switch (env.body) {
        case 'open': run(this.open(id, env.open)); return;
        case 'send': { const m = env.send; run(this.stream(m.stream).then((s) => s.send(m.channel, parseJson(m.message_json, 'message_json'), m.dedupe || undefined))); return; }
        case 'update': { const m = env.update; run(this.stream(m.stream).then((s) => s.update(parseJson(m.viewer_state_json, 'viewer_state_json')))); return; }
        case 'close': run(this.close(env.close.stream)); return;
        case 'create': { const m = env.create; run(this.deps.host.createDocument({ space: m.space, key: m.key }, who(m.who), parseJson(m.arg_json, 'arg_json'))); return; }
        case 'post': { const m = env.post; run(this.deps.host.postMessage({ space: m.space, key: m.key }, who(m.who), m.channel, parseJson(m.message_json, 'message_json'), m.dedupe || undefined)); return; }
        case 'delete': { const m = env.delete; run(this.deps.host.deleteDocument({ space: m.space, key: m.key }, who(m.who))); return; }
        case 'list': { const m = env.list; run(this.deps.host.listDocuments(m.space, who(m.who), m.after, m.limit), (page) => JSON.stringify(page)); return; }
        default: throw new AdamaError(E.PEER_PROTOCOL_ERROR, 'envelope without a body');
      }
    } catch (err) {
      this.send({ id, failure: failureOf(err) });
    }
  }

  private async open(id: number, m: OpenStreamMsg): Promise<void> {
    if (this.streams.has(id)) throw new AdamaError(E.DUPLICATE_REQUEST_ID, `stream ${id} is already open on this call`);
    const ref: DocRef = { space: m.space, key: m.key };
    const opening = this.deps.host.openStream(ref, who(m.who), { since: m.has_since ? m.since : undefined, viewerState: parseJson(m.viewer_state_json || '{}', 'viewer_state_json'), suspectHosts: m.suspect_hosts ?? [] }, {
      onDelta: (d) => { if (!this.ended) this.deltas.delta(id, d); },
      onClosed: (error) => { this.streams.delete(id); this.send({ id, closed: { ...error, owner: '' } }); },
    });
    this.streams.set(id, opening);
    try {
      await opening;
    } catch (err) {
      this.streams.delete(id);
      throw err;
    }
    // The proxy may have gone while the document loaded; do not leave a viewer behind.
    if (this.ended) await (await opening).close();
  }

  private async close(id: number): Promise<void> {
    const s = this.streams.get(id);
    this.streams.delete(id);
    if (s) await (await s).close();
  }

  private stream(id: number): Promise<DocumentStream> {
    return this.streams.get(id) ?? Promise.reject(new AdamaError(E.UNKNOWN_CONNECTION, `no stream ${id} on this call`));
  }

  private send(env: HostEnvelope): void {
    if (!this.ended) this.deltas.other(env);
  }

  private push(env: HostEnvelope): void {
    if (this.ended) return;
    try {
      this.out.push(env);
    } catch (err) {
      if (!(err instanceof QueueOverflowError)) throw err;
      this.deps.log.warn({ call: this.callId, queued: this.out.queued }, 'multiplex.peer_queue_full');
      this.end('proxy stopped reading');
      this.call.destroy(new AdamaError(E.PEER_QUEUE_FULL, err.message));
    }
  }

  /** Detaches every stream this proxy had; idempotent. */
  private end(reason: string): void {
    if (this.ended) return;
    this.ended = true;
    this.out.close();
    const streams = [...this.streams.values()];
    this.streams.clear();
    for (const s of streams) s.then((h) => h.close(), () => undefined).catch(() => undefined);
    this.deps.log.info({ call: this.callId, streams: streams.length, reason, deltaEnvelopes: this.deltas.envelopes, deltaDeliveries: this.deltas.deliveries }, 'multiplex.closed');
    if (!this.call.writableEnded && !this.call.destroyed) this.call.end();
  }
}

/** Whether the proxy's Multiplex metadata says it reads grouped deltas (`Delta.streams`). */
function announcesGroupedDeltas(metadata: grpc.Metadata | undefined): boolean {
  return (metadata?.get(WIRE_FEATURES_KEY) ?? []).some((v) => String(v).split(',').some((f) => f.trim() === GROUPED_DELTAS));
}

function who(m: WhoMsg | undefined): Who {
  if (!m || !m.agent || !m.authority) throw new AdamaError(E.PEER_PROTOCOL_ERROR, 'envelope without who');
  return { agent: m.agent, authority: m.authority };
}

/** The proxy already refused unstorable strings; the host checks again, as it trusts no peer's input. */
function parseJson(text: string, field: string): Json {
  let value: Json;
  try {
    value = JSON.parse(text) as Json;
  } catch {
    throw new AdamaError(E.PEER_PROTOCOL_ERROR, `${field} is not valid JSON`);
  }
  if (mayHoldUnstorableEscape(text) && findUnstorableString(value) !== undefined) {
    throw new AdamaError(E.STRING_NOT_WELL_FORMED, `${field} holds a lone surrogate or U+0000`);
  }
  return value;
}

function failureOf(err: unknown): FailureMsg {
  const body = toErrorBody(err);
  return { ...body, owner: err instanceof AdamaError && err.owner ? err.owner : '' };
}

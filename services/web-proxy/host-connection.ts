/**
 * @module host-connection
 * The proxy's link to one adama-host: one gRPC channel and one Multiplex call carrying every
 * document stream and request this proxy has on that host, batched. It implements `HostClient`
 * for that host. When the call breaks, every pending request fails with HOST_UNREACHABLE and
 * every stream is closed with it (retryable), so each ProxyStream re-attaches through routing.
 */
import * as grpc from '@grpc/grpc-js';
import { internalChannel, INSECURE_INTERNAL, type InternalTls } from '../grpc/internal-tls';
import { AdamaError, E, fromErrorBody, isAdamaError, type ErrorBody } from '../shared/errors';
import type { Json } from '../shared/json';
import type { Logger } from '../shared/log';
import type { DocRef } from '../shared/doc-ref';
import type { Who } from '../shared/identity';
import { EnvelopeBatcher, QueueOverflowError } from '../grpc/envelope-batcher';
import { GROUPED_DELTAS, WIRE_FEATURES_KEY, type FailureMsg, type HostBatch, type HostEnvelope, type ProxyBatch, type ProxyEnvelope, type ReplyMsg } from '../grpc/host-messages';
import { wireDelta } from '../protocol/delta-wire';
import { serviceClient } from '../grpc/load-proto';
import type { DocumentPage, DocumentStream, HostClient, OpenStreamOptions, StreamSink } from '../protocol/host-api';

export interface HostConnectionOptions {
  hostId: string;
  address: string;
  log: Logger;
  maxBatch: number;
  maxQueued: number;
  /** mTLS for internal gRPC (internal-tls.ts); plaintext when absent. */
  tls?: InternalTls;
  /** Called once when the connection is dead for good (the owner drops and recreates it). */
  onDead(conn: HostConnection, reason: string): void;
}

interface Pending { resolve(reply: ReplyMsg): void; reject(err: AdamaError): void }

/** Keepalive so that a host that vanished without a FIN (SIGKILL behind NAT, frozen) is noticed. */
const CHANNEL_OPTIONS: grpc.ChannelOptions = {
  'grpc.keepalive_time_ms': 2_000,
  'grpc.keepalive_timeout_ms': 2_000,
  'grpc.keepalive_permit_without_calls': 1,
  'grpc.max_receive_message_length': 64 * 1024 * 1024,
};

export class HostConnection implements HostClient {
  readonly hostId: string;
  private readonly client: grpc.Client;
  private readonly call: grpc.ClientDuplexStream<ProxyBatch, HostBatch>;
  private readonly out: EnvelopeBatcher<ProxyEnvelope>;
  private readonly pending = new Map<number, Pending>();
  private readonly sinks = new Map<number, StreamSink>();
  private nextId = 1;
  private dead = false;

  constructor(private readonly o: HostConnectionOptions) {
    this.hostId = o.hostId;
    const Client = serviceClient('host.proto', 'adama.host.v1.Host');
    this.client = new Client(o.address, ...internalChannel(o.tls ?? INSECURE_INTERNAL, 'host', CHANNEL_OPTIONS));
    // We read grouped deltas (one envelope per distinct delta, listing its streams); a host that
    // does not know the key ignores it and sends one envelope per stream, which we read too.
    const metadata = new grpc.Metadata();
    metadata.set(WIRE_FEATURES_KEY, GROUPED_DELTAS);
    this.call = (this.client as unknown as { Multiplex(m: grpc.Metadata): grpc.ClientDuplexStream<ProxyBatch, HostBatch> }).Multiplex(metadata);
    this.out = new EnvelopeBatcher<ProxyEnvelope>(this.call, { maxBatch: o.maxBatch, maxQueued: o.maxQueued });
    this.call.on('data', (batch: HostBatch) => { for (const env of batch.items ?? []) this.receive(env); });
    this.call.on('error', (err: Error) => this.die(`stream error: ${err.message}`));
    this.call.on('end', () => this.die('host ended the stream'));
  }

  get isDead(): boolean { return this.dead; }
  get streamCount(): number { return this.sinks.size; }

  async createDocument(ref: DocRef, who: Who, arg: Json): Promise<{ seq: number }> {
    const { seq } = await this.request({ create: { space: ref.space, key: ref.key, who, arg_json: JSON.stringify(arg) } });
    return { seq };
  }

  async deleteDocument(ref: DocRef, who: Who): Promise<void> {
    await this.request({ delete: { space: ref.space, key: ref.key, who } });
  }

  async postMessage(ref: DocRef, who: Who, channel: string, message: Json, dedupe?: string): Promise<{ seq: number }> {
    const { seq } = await this.request({ post: { space: ref.space, key: ref.key, who, channel, message_json: JSON.stringify(message), dedupe: dedupe ?? '' } });
    return { seq };
  }

  async listDocuments(space: string, who: Who, after: string, limit: number): Promise<DocumentPage> {
    const { result_json } = await this.request({ list: { space, who, after, limit } });
    return JSON.parse(result_json) as DocumentPage;
  }

  async openStream(ref: DocRef, who: Who, options: OpenStreamOptions, sink: StreamSink): Promise<DocumentStream> {
    const id = this.nextId++;
    this.sinks.set(id, sink);
    try {
      await this.request({ open: { space: ref.space, key: ref.key, who, has_since: options.since !== undefined, since: options.since ?? 0, viewer_state_json: JSON.stringify(options.viewerState), suspect_hosts: [...(options.suspectHosts ?? [])] } }, id);
    } catch (err) {
      this.sinks.delete(id);
      throw err;
    }
    return {
      send: async (channel, message, dedupe) => ({ seq: await this.streamRequest(id, { send: { stream: id, channel, message_json: JSON.stringify(message), dedupe: dedupe ?? '' } }) }),
      update: async (viewerState) => { await this.streamRequest(id, { update: { stream: id, viewer_state_json: JSON.stringify(viewerState) } }); },
      close: async () => {
        if (!this.sinks.delete(id) || this.dead) return;
        await this.request({ close: { stream: id } }).catch(() => undefined);
      },
    };
  }

  close(): void {
    this.die('closed by proxy');
  }

  /**
   * A request on a document stream. The host writes a stream's `closed` before any later answer on
   * the same ordered call, so an UNKNOWN_CONNECTION for a stream whose sink is already gone means
   * "the host closed it while this was in flight": the request was not applied and is retryable
   * once the stream has re-attached.
   */
  private async streamRequest(id: number, body: Record<string, unknown>): Promise<number> {
    const closedError = () => new AdamaError(E.DOC_UNLOADED, `stream ${id} on host ${this.hostId} was closed; retry`);
    if (!this.sinks.has(id)) throw closedError();
    try {
      return (await this.request(body)).seq;
    } catch (err) {
      if (isAdamaError(err, E.UNKNOWN_CONNECTION) && !this.sinks.has(id)) throw closedError();
      throw err;
    }
  }

  /** `body` is one member of the envelope's oneof, e.g. `{ send: {...} }`. */
  private request(body: Record<string, unknown>, id = this.nextId++): Promise<ReplyMsg> {
    if (this.dead) return Promise.reject(new AdamaError(E.HOST_UNREACHABLE, `host ${this.hostId} is unreachable`));
    return new Promise<ReplyMsg>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      try {
        this.out.push({ id, ...body } as ProxyEnvelope);
      } catch (err) {
        this.pending.delete(id);
        if (err instanceof QueueOverflowError) {
          reject(new AdamaError(E.PEER_QUEUE_FULL, err.message));
          this.die('host stopped reading');
        } else reject(err);
      }
    });
  }

  private receive(env: HostEnvelope): void {
    switch (env.body) {
      case 'delta': {
        // Not parsed: every sink gets the same delta object, whose text the client frames reuse.
        const delta = wireDelta(env.delta.data_json, env.delta.seq, env.delta.reset);
        const streams = env.delta.streams;
        if (streams === undefined || streams.length === 0) this.sinks.get(env.id)?.onDelta(delta);
        else for (const id of streams) this.sinks.get(id)?.onDelta(delta);
        return;
      }
      case 'closed': {
        const sink = this.sinks.get(env.id);
        this.sinks.delete(env.id);
        sink?.onClosed(bodyOf(env.closed));
        return;
      }
      case 'reply': this.settle(env.id, (p) => p.resolve(env.reply)); return;
      case 'failure': this.settle(env.id, (p) => p.reject(fromErrorBody({ ...env.failure, owner: env.failure.owner || undefined }))); return;
      default: this.o.log.warn({ host: this.hostId, id: env.id }, 'host.envelope_without_body');
    }
  }

  private settle(id: number, fn: (p: Pending) => void): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    fn(p);
  }

  /** Fails everything in flight and closes every stream with a retryable error; idempotent. */
  private die(reason: string): void {
    if (this.dead) return;
    this.dead = true;
    this.out.close();
    const error = new AdamaError(E.HOST_UNREACHABLE, `host ${this.hostId}: ${reason}`);
    for (const p of this.pending.values()) p.reject(error);
    this.pending.clear();
    const sinks = [...this.sinks.values()];
    this.sinks.clear();
    for (const s of sinks) s.onClosed({ code: error.code, message: error.message, retry: true });
    this.call.cancel();
    this.client.close();
    this.o.log.warn({ host: this.hostId, streams: sinks.length, reason }, 'host.connection_lost');
    this.o.onDead(this, reason);
  }
}

function bodyOf(f: FailureMsg): ErrorBody {
  return { code: f.code, message: f.message, retry: f.retry };
}

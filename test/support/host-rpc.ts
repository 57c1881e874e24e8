/**
 * Talking to a real adama-host from a test (admin RPCs: services/grpc/host-admin-client.ts): a raw Multiplex call
 * that writes bytes of our choosing (garbage, truncations) or well-formed envelopes, and a
 * viewer that folds deltas into the current view so tests can await what a viewer sees.
 */
import * as grpc from '@grpc/grpc-js';
import type { StreamSink } from '../../services/protocol/host-api';
import type { HostEnvelope, ProxyEnvelope } from '../../services/grpc/host-messages';
import { serviceClient } from '../../services/grpc/load-proto';
import { apply, decode } from '../../services/protocol/delta';
import type { ErrorBody } from '../../services/shared/errors';
import type { Json } from '../../services/shared/json';
import { INSECURE_INTERNAL, internalChannel, type InternalTls } from '../../services/grpc/internal-tls';

const Host = serviceClient('host.proto', 'adama.host.v1.Host');
const multiplex = Host.service.Multiplex!;

/** The encoding of a ProxyBatch holding `items`, as the proxy would write it. */
export function encodeBatch(items: ProxyEnvelope[]): Buffer {
  return multiplex.requestSerialize({ items });
}

/** A Multiplex call that writes raw bytes; answers are decoded and awaited by predicate. */
export class RawMultiplex {
  readonly ended: Promise<{ code: number; details: string }>;
  private readonly client: grpc.Client;
  private readonly call: grpc.ClientDuplexStream<Buffer, Buffer>;
  private readonly received: HostEnvelope[] = [];
  private readonly waiters: { pred: (e: HostEnvelope) => boolean; resolve(e: HostEnvelope): void }[] = [];

  /** `metadata`: the Multiplex call's metadata, e.g. the wire features a proxy announces. */
  /** `tls`: the proxy certificate a spawned host requires (testTls('proxy')); plaintext for in-process hosts. */
  constructor(address: string, metadata: Record<string, string> = {}, tls: InternalTls = INSECURE_INTERNAL) {
    this.client = new grpc.Client(address, ...internalChannel(tls, 'host'));
    const md = new grpc.Metadata();
    for (const [k, v] of Object.entries(metadata)) md.set(k, v);
    this.call = this.client.makeBidiStreamRequest('/adama.host.v1.Host/Multiplex', (b: Buffer) => b, (b: Buffer) => b, md);
    this.call.on('data', (bytes: Buffer) => {
      for (const env of (multiplex.responseDeserialize(bytes) as { items: HostEnvelope[] }).items) {
        const w = this.waiters.find((x) => x.pred(env));
        if (w) { this.waiters.splice(this.waiters.indexOf(w), 1); w.resolve(env); } else this.received.push(env);
      }
    });
    this.ended = new Promise((resolve) => {
      this.call.on('status', (s: grpc.StatusObject) => resolve({ code: s.code, details: s.details }));
    });
    this.call.on('error', () => undefined); // the status event carries the outcome
  }

  writeRaw(bytes: Buffer): void { this.call.write(bytes); }

  send(...items: ProxyEnvelope[]): void { this.writeRaw(encodeBatch(items)); }

  /** The first answer (received or future) matching `pred`. */
  next(pred: (e: HostEnvelope) => boolean, timeoutMs = 20_000): Promise<HostEnvelope> {
    const i = this.received.findIndex(pred);
    if (i >= 0) return Promise.resolve(this.received.splice(i, 1)[0]!);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no matching host envelope in time')), timeoutMs);
      this.waiters.push({ pred, resolve: (e) => { clearTimeout(timer); resolve(e); } });
    });
  }

  /** The reply or failure answering request `id`. */
  answer(id: number): Promise<HostEnvelope> {
    return this.next((e) => e.id === id && (e.body === 'reply' || e.body === 'failure'));
  }

  close(): void {
    this.call.cancel();
    this.client.close();
  }
}

/** A StreamSink that keeps the decoded view and resolves `until(pred)` when a view matches. */
export class ViewWatcher implements StreamSink {
  view: Json | undefined;
  seq = 0;
  /** Resolves with the error the host closed the stream with. */
  readonly closed: Promise<ErrorBody>;
  private markClosed!: (e: ErrorBody) => void;
  private encoded: Json | undefined;
  private readonly waiters: { pred: (v: Json) => boolean; resolve(v: Json): void }[] = [];

  onDelta(d: { data: Json; seq: number; reset?: boolean }): void {
    this.encoded = d.reset || this.encoded === undefined ? d.data : apply(this.encoded, d.data);
    this.seq = d.seq;
    this.view = decode(this.encoded);
    for (const w of [...this.waiters]) if (w.pred(this.view)) { this.waiters.splice(this.waiters.indexOf(w), 1); w.resolve(this.view); }
  }

  constructor() { this.closed = new Promise((r) => (this.markClosed = r)); }

  onClosed(error: ErrorBody): void { this.markClosed(error); }

  until(pred: (v: Json) => boolean, timeoutMs = 20_000): Promise<Json> {
    if (this.view !== undefined && pred(this.view)) return Promise.resolve(this.view);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`view did not match in time; last: ${JSON.stringify(this.view)}`)), timeoutMs);
      this.waiters.push({ pred, resolve: (v) => { clearTimeout(timer); resolve(v); } });
    });
  }
}

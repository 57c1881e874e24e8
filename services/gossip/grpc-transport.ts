/**
 * @module grpc-transport
 * GossipTransport over gRPC: `GossipPeer.Push` per message, one cached client per peer address,
 * short deadlines (a message older than a round is worthless). Errors are counted, not thrown:
 * a dead peer is exactly what the detector is for. A client unused for `clientIdleMs` is closed
 * (peers come and go: pods get new addresses), so the cache holds the live cluster, not history.
 */
import { internalChannel, INSECURE_INTERNAL, type InternalTls } from '../grpc/internal-tls';
import * as grpc from '@grpc/grpc-js';
import { serviceClient } from '../grpc/load-proto';
import type { Logger } from '../shared/log';
import { decodeEnvelope, encodeEnvelope, type EnvelopeWire } from './codec';
import type { GossipMessage } from './messages';
import type { GossipTransport } from './transport';

export interface GrpcTransport extends GossipTransport {
  /** Handlers for the `adama.gossip.v1.GossipPeer` service, to add to the sidecar's server. */
  readonly peerService: grpc.UntypedServiceImplementation;
  readonly stats: { sent: number; failed: number; bytesOut: number };
  /** Peer clients cached now. */
  readonly clientCount: number;
}

/** A peer not sent to for this long loses its cached client: several failure timeouts. */
export const GOSSIP_CLIENT_IDLE_MS = 30_000;

/** `address` is read lazily: the server's port is known only after it binds, and it binds with our peer service. */
export function createGrpcTransport(o: { address: () => string; log: Logger; pushDeadlineMs: number; clientIdleMs?: number; nowMs?: () => number; tls?: InternalTls }): GrpcTransport {
  const channel = internalChannel(o.tls ?? INSECURE_INTERNAL, 'gossip', { 'grpc.initial_reconnect_backoff_ms': 100, 'grpc.max_reconnect_backoff_ms': 1_000 });
  const Peer = serviceClient('gossip.proto', 'adama.gossip.v1.GossipPeer');
  const idleMs = o.clientIdleMs ?? GOSSIP_CLIENT_IDLE_MS;
  const now = o.nowMs ?? Date.now;
  const clients = new Map<string, { client: grpc.Client; usedAtMs: number }>();
  let sweptAtMs = now();
  let handler: ((msg: GossipMessage) => void) | undefined;
  let closed = false;
  const stats = { sent: 0, failed: 0, bytesOut: 0 };
  /** At most once per idle period: one pass over a map the size of the cluster. */
  const sweep = (t: number): void => {
    if (t - sweptAtMs < idleMs) return;
    sweptAtMs = t;
    for (const [to, e] of clients) if (t - e.usedAtMs >= idleMs) { e.client.close(); clients.delete(to); }
  };
  const clientFor = (to: string): grpc.Client => {
    const t = now();
    sweep(t);
    let e = clients.get(to);
    if (!e) {
      e = { client: new Peer(to, ...channel), usedAtMs: t };
      clients.set(to, e);
    }
    e.usedAtMs = t;
    return e.client;
  };
  return {
    get address() { return o.address(); },
    get clientCount() { return clients.size; },
    stats,
    peerService: {
      Push(call: grpc.ServerUnaryCall<EnvelopeWire, object>, cb: grpc.sendUnaryData<object>) {
        const msg = decodeEnvelope(call.request);
        cb(null, {});
        if (msg === undefined) { o.log.warn({ peer: call.getPeer() }, 'gossip.bad_message'); return; }
        handler?.(msg);
      },
    },
    send(to, msg) {
      if (closed) return;
      stats.sent++;
      const client = clientFor(to) as grpc.Client & { Push: (req: EnvelopeWire, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null) => void) => void };
      client.Push(encodeEnvelope(msg), { deadline: Date.now() + o.pushDeadlineMs }, (err) => {
        if (err) { stats.failed++; o.log.debug({ peer: to, code: err.code }, 'gossip.push_failed'); }
      });
    },
    onMessage(h) { handler = h; },
    async close() {
      closed = true;
      for (const e of clients.values()) e.client.close();
      clients.clear();
    },
  };
}

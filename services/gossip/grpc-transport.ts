/**
 * @module grpc-transport
 * GossipTransport over gRPC: `GossipPeer.Push` per message, one cached client per peer address,
 * short deadlines (a message older than a round is worthless). Errors are counted, not thrown:
 * a dead peer is exactly what the detector is for.
 */
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
}

/** `address` is read lazily: the server's port is known only after it binds, and it binds with our peer service. */
export function createGrpcTransport(o: { address: () => string; log: Logger; pushDeadlineMs: number }): GrpcTransport {
  const Peer = serviceClient('gossip.proto', 'adama.gossip.v1.GossipPeer');
  const clients = new Map<string, grpc.Client>();
  let handler: ((msg: GossipMessage) => void) | undefined;
  let closed = false;
  const stats = { sent: 0, failed: 0, bytesOut: 0 };
  const clientFor = (to: string): grpc.Client => {
    let c = clients.get(to);
    if (!c) {
      c = new Peer(to, grpc.credentials.createInsecure(), { 'grpc.initial_reconnect_backoff_ms': 100, 'grpc.max_reconnect_backoff_ms': 1_000 });
      clients.set(to, c);
    }
    return c;
  };
  return {
    get address() { return o.address(); },
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
      for (const c of clients.values()) c.close();
      clients.clear();
    },
  };
}

/**
 * @module transport
 * The narrow seam between the gossip core and the network (memberlist's Transport, smaller):
 * one-way, best-effort sends to a sidecar address, and one handler for whatever arrives. Losing a
 * message is normal; the next round repairs it. gRPC in production, memory in tests/simulation.
 */
import type { GossipMessage } from './messages';

export interface GossipTransport {
  /** Where peers reach us (host:port for gRPC, a name in memory). */
  readonly address: string;
  /** Fire and forget; never throws. */
  send(to: string, msg: GossipMessage): void;
  /** The single receiver of inbound messages; set once before the first round. */
  onMessage(handler: (msg: GossipMessage) => void): void;
  close(): Promise<void>;
}

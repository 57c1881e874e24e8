/**
 * @module memory-transport
 * The in-memory twin of the gRPC transport: a network of named endpoints on a Clock, with
 * seeded random loss and delay, and byte accounting by `messageBytes` (the proto encoding size).
 * `down` endpoints neither send nor receive, like a SIGKILLed process.
 */
import type { Clock } from '../shared/clock';
import { messageBytes, type GossipMessage } from './messages';
import type { Rng } from './rng';
import type { GossipTransport } from './transport';

export interface MemoryNetworkOptions {
  clock: Clock;
  rng: Rng;
  /** Probability in [0, 1) that any one message is lost. */
  lossRate?: number;
  /** Each message takes a uniform delay in [minDelayMs, maxDelayMs]. */
  minDelayMs?: number;
  maxDelayMs?: number;
}

export class MemoryNetwork {
  private readonly handlers = new Map<string, (msg: GossipMessage) => void>();
  readonly down = new Set<string>();
  /** Totals since the last `resetCounters`. */
  bytes = 0;
  messages = 0;
  lost = 0;
  constructor(private readonly o: MemoryNetworkOptions) {}

  transport(address: string): GossipTransport {
    const net = this;
    return {
      address,
      send(to, msg) { net.deliver(address, to, msg); },
      onMessage(handler) { net.handlers.set(address, handler); },
      async close() { net.handlers.delete(address); },
    };
  }

  resetCounters(): void { this.bytes = 0; this.messages = 0; this.lost = 0; }

  private deliver(from: string, to: string, msg: GossipMessage): void {
    if (this.down.has(from)) return;
    this.messages++;
    this.bytes += messageBytes(msg);
    if (this.o.rng.next() < (this.o.lossRate ?? 0)) { this.lost++; return; }
    const min = this.o.minDelayMs ?? 0;
    const delay = min + this.o.rng.next() * ((this.o.maxDelayMs ?? min) - min);
    this.o.clock.setTimeout(() => {
      if (this.down.has(to)) return;
      this.handlers.get(to)?.(msg);
    }, delay);
  }
}

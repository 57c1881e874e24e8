/**
 * @module delta-grouper
 * The host's outbound deltas on one Multiplex call. Viewers that receive an identical delta in one
 * change get the same `Delta` object, synchronously in one loop (StreamSink contract, services/protocol/host-api.ts);
 * for a proxy that announced grouped deltas, every stream on this call that gets that object joins
 * ONE envelope (`Delta.streams`), serialized once (delta-wire.ts). Older proxies get one envelope
 * per stream, still with the text serialized once.
 *
 * A group stays open until the current microtask checkpoint: the loop that delivers a change runs
 * within it, and the envelope batcher writes no earlier than setImmediate, so a group is never
 * extended after it was written. A stream joins an open group only if nothing for it was queued
 * after that group, so each stream still sees its envelopes in the order they were produced.
 */
import type { Delta } from '../protocol/messages';
import { deltaDataJson } from '../protocol/delta-wire';
import type { HostEnvelope } from './host-messages';

interface OpenGroup { streams: number[]; position: number }

export class DeltaGrouper {
  private readonly groups = new Map<Delta, OpenGroup>();
  /** Queue position of the last envelope naming each id, while a group is open. */
  private readonly lastPosition = new Map<number, number>();
  private position = 0;
  private resetScheduled = false;
  /** Delta envelopes written and stream deliveries they carried (deliveries / envelopes = sharing). */
  envelopes = 0;
  deliveries = 0;

  constructor(private readonly push: (env: HostEnvelope) => void, private readonly grouped: boolean) {}

  /** A delta for document stream `stream`. */
  delta(stream: number, d: Delta): void {
    this.deliveries++;
    if (!this.grouped) {
      this.envelopes++;
      this.push({ id: stream, delta: { data_json: deltaDataJson(d), seq: d.seq, reset: d.reset === true } });
      return;
    }
    const open = this.groups.get(d);
    if (open !== undefined && (this.lastPosition.get(stream) ?? -1) < open.position) {
      open.streams.push(stream);
      this.lastPosition.set(stream, open.position);
      return;
    }
    const streams = [stream];
    this.envelopes++;
    this.push({ id: 0, delta: { data_json: deltaDataJson(d), seq: d.seq, reset: d.reset === true, streams } });
    const position = ++this.position;
    this.groups.set(d, { streams, position });
    this.lastPosition.set(stream, position);
    if (!this.resetScheduled) {
      this.resetScheduled = true;
      queueMicrotask(() => this.reset());
    }
  }

  /** Any other envelope (reply, failure, closed) under `id`. */
  other(env: HostEnvelope): void {
    this.push(env);
    // Only an open group could be joined out of order; with none open there is nothing to track.
    if (this.groups.size > 0) this.lastPosition.set(env.id, ++this.position);
  }

  private reset(): void {
    this.resetScheduled = false;
    this.groups.clear();
    this.lastPosition.clear();
    this.position = 0;
  }
}

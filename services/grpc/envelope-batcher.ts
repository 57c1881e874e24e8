/**
 * @module envelope-batcher
 * Coalesces envelopes written in the same turn of the event loop into one gRPC message (a batch),
 * and respects the stream's flow control: when `write` reports a full buffer, batching continues
 * in memory up to `maxQueued` envelopes and resumes on 'drain'. Past the bound, `push` throws, so
 * a peer that stops reading cannot grow our memory without limit.
 */
export interface BatchSink<T> {
  write(batch: { items: T[] }): boolean;
  once(event: 'drain', listener: () => void): unknown;
}

export interface BatcherLimits {
  /** Envelopes per gRPC message. */
  maxBatch: number;
  /** Envelopes held while the peer is not reading. */
  maxQueued: number;
}

export class QueueOverflowError extends Error {}

export class EnvelopeBatcher<T> {
  private queue: T[] = [];
  private scheduled = false;
  private blocked = false;
  private closed = false;

  constructor(private readonly sink: BatchSink<T>, private readonly limits: BatcherLimits) {}

  get queued(): number { return this.queue.length; }

  push(item: T): void {
    if (this.closed) return;
    if (this.queue.length >= this.limits.maxQueued) throw new QueueOverflowError(`more than ${this.limits.maxQueued} envelopes queued for a peer that is not reading`);
    this.queue.push(item);
    if (!this.scheduled && !this.blocked) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  close(): void {
    this.closed = true;
    this.queue = [];
  }

  private flush(): void {
    this.scheduled = false;
    while (this.queue.length > 0 && !this.closed) {
      const items = this.queue.splice(0, this.limits.maxBatch);
      if (!this.sink.write({ items })) {
        this.blocked = true;
        this.sink.once('drain', () => { this.blocked = false; this.flush(); });
        return;
      }
    }
  }
}

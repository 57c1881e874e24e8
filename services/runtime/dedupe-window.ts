/**
 * @module dedupe-window
 * Remembers the seq assigned to recent dedupe keys of one document, so a client that retries a
 * send (for example after a failover) gets the original seq instead of a second application.
 * Bounded: the oldest keys are forgotten first. Rebuilt from the log and snapshot on load.
 */
export class DedupeWindow {
  private readonly seqByKey = new Map<string, number>();
  constructor(private readonly capacity: number) {}

  get(key: string): number | undefined { return this.seqByKey.get(key); }

  remember(key: string, seq: number): void {
    this.seqByKey.delete(key);
    this.seqByKey.set(key, seq);
    while (this.seqByKey.size > this.capacity) {
      const oldest = this.seqByKey.keys().next().value as string;
      this.seqByKey.delete(oldest);
    }
  }

  /** Serialisable form for the snapshot's meta. */
  entries(): [string, number][] { return [...this.seqByKey.entries()]; }
}

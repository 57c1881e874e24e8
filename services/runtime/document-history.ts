/**
 * @module document-history
 * The most recent change records of one document, kept in memory so that a viewer resuming with
 * `since` is usually served without a database read. Bounded; older records stay in the log.
 */
import type { ChangeRecord } from '../storage/data-service';

export class DocumentHistory {
  private readonly records: ChangeRecord[] = [];
  constructor(private readonly capacity: number) {}

  push(record: ChangeRecord): void {
    this.records.push(record);
    if (this.records.length > this.capacity) this.records.splice(0, this.records.length - this.capacity);
  }

  /** Records with fromExclusive < seq <= toInclusive, or undefined if any of them is no longer held. */
  range(fromExclusive: number, toInclusive: number): ChangeRecord[] | undefined {
    if (toInclusive <= fromExclusive) return [];
    const first = this.records[0];
    if (!first || first.seq > fromExclusive + 1) return undefined;
    const start = fromExclusive + 1 - first.seq;
    const out = this.records.slice(start, start + (toInclusive - fromExclusive));
    return out.length === toInclusive - fromExclusive && out[out.length - 1]?.seq === toInclusive ? out : undefined;
  }
}

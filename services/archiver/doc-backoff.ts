/**
 * @module doc-backoff
 * Per-document backoff after a failure (issue 18.13): GC deletes, and archives of a document. Pure: the caller
 * passes `nowMs`. The first failure waits `baseMs`, each further one doubles the wait up to
 * `maxMs`; a success forgets the document. At most `maxEntries` documents are remembered (the
 * oldest is forgotten first), so a store that fails for everything cannot grow it without bound.
 */
import { backoffMs } from '../shared/backoff';

export class DocBackoff {
  private readonly entries = new Map<string, { failures: number; untilMs: number }>();

  constructor(private readonly baseMs: number, private readonly maxMs: number, private readonly maxEntries = 10_000) {}

  /** True while `doc`'s objects must not be tried again. */
  blocked(doc: string, nowMs: number): boolean {
    const e = this.entries.get(doc);
    return e !== undefined && nowMs < e.untilMs;
  }

  /** Records a failure; returns how long `doc` now waits (ms). */
  failed(doc: string, nowMs: number): number {
    const failures = (this.entries.get(doc)?.failures ?? 0) + 1;
    const waitMs = backoffMs(failures - 1, this.baseMs, this.maxMs);
    this.entries.delete(doc);
    this.entries.set(doc, { failures, untilMs: nowMs + waitMs });
    while (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    return waitMs;
  }

  succeeded(doc: string): void { this.entries.delete(doc); }

  get size(): number { return this.entries.size; }
}

/**
 * @module group-commit
 * Group commit across documents: one host's appends, many documents, few database round trips.
 * `GroupCommitter` has the signature of `DataService.append` and sends what it collects through
 * `DataService.appendMany`, one statement per flush.
 *
 * Policy (classic group commit, no timer): an append that arrives while fewer than `maxInFlight`
 * flushes run is flushed at once, together with whatever else was submitted in the same tick
 * (the flush starts on a microtask, before any I/O, so there is no waiting). Appends that arrive
 * while the flushes are busy queue up; when a flush completes, the queue goes out as the next
 * batch, up to `maxBatchItems`. Nothing is acknowledged early: a caller's promise settles only
 * when the statement that carries its item has returned. Each item is fenced on its own (a
 * fenced item is `{ok: false}` alone, an item whose data the database refuses rejects alone with
 * RECORD_UNSTORABLE); if the statement itself fails, every item of that batch rejects with the
 * error, because its outcome is unknown.
 *
 * A document appears at most once per batch and never in two flushes at once: a second append
 * for a document that is already batched or in flight waits for the next batch, so one
 * document's appends reach the database in the order they were submitted.
 */
import { systemClock, type Clock } from '../shared/clock';
import { AdamaError, E } from '../shared/errors';
import type { Appender, AppendItem, AppendResult, ChangeRecord, DataService } from '../storage/data-service';
import { appendProblem } from '../storage/records';
import { docRefKey, type DocRef } from '../shared/doc-ref';

export interface GroupCommitterOptions {
  /**
   * Most items (documents) in one statement. Default 128. Raising it makes each round trip carry
   * more work under load, at the cost of a longer statement that every item in it waits for.
   */
  maxBatchItems?: number;
  /**
   * Flushes (statements) running at once. Default 1, which batches best. With a pool, 2 keeps
   * the database busy while one batch returns, at the cost of smaller batches and one more
   * connection held by appends.
   */
  maxInFlight?: number;
  /** Appends waiting for a flush before new ones are refused with DOC_QUEUE_FULL. Default 10_000. */
  maxQueued?: number;
  /** Called after every flush (succeeded or failed) with its item count and duration, for metrics. */
  onFlush?(batchSize: number, durationMs: number): void;
  /** For flush durations only. Default: the system clock. */
  clock?: Clock;
}

export const GROUP_COMMIT_DEFAULTS = { maxBatchItems: 128, maxInFlight: 1, maxQueued: 10_000 } as const;

interface Pending {
  item: AppendItem;
  id: string;
  resolve(result: AppendResult): void;
  reject(err: unknown): void;
}

export class GroupCommitter implements Appender {
  /** Flushes completed (succeeded or failed). */
  flushes = 0;
  /** Items carried by completed flushes. */
  itemsFlushed = 0;

  private readonly maxBatchItems: number;
  private readonly maxInFlight: number;
  private readonly maxQueued: number;
  private readonly clock: Clock;
  private queue: Pending[] = [];
  /** Documents in a running flush. */
  private readonly busy = new Set<string>();
  private readonly running = new Set<Promise<void>>();
  private pumpScheduled = false;
  private closed = false;

  constructor(private readonly data: Pick<DataService, 'appendMany'>, private readonly options: GroupCommitterOptions = {}) {
    this.maxBatchItems = positiveInt('maxBatchItems', options.maxBatchItems ?? GROUP_COMMIT_DEFAULTS.maxBatchItems);
    this.maxInFlight = positiveInt('maxInFlight', options.maxInFlight ?? GROUP_COMMIT_DEFAULTS.maxInFlight);
    this.maxQueued = positiveInt('maxQueued', options.maxQueued ?? GROUP_COMMIT_DEFAULTS.maxQueued);
    this.clock = options.clock ?? systemClock;
  }

  /** Appends waiting for a flush (not counting those in flight). */
  get queued(): number { return this.queue.length; }

  /** Flushes running now. */
  get inFlight(): number { return this.running.size; }

  append(ref: DocRef, host: string, epoch: number, expectedHead: number, records: readonly ChangeRecord[]): Promise<AppendResult> {
    if (this.closed) return Promise.reject(new AdamaError(E.HOST_SHUTTING_DOWN, `group commit is closed: append to ${ref.space}/${ref.key} refused`));
    if (this.queue.length >= this.maxQueued) {
      return Promise.reject(new AdamaError(E.DOC_QUEUE_FULL, `group commit queue is full (${this.maxQueued} appends): ${ref.space}/${ref.key} refused`));
    }
    // Checked here as well as in appendMany: a malformed item must fail alone, not its whole batch.
    const invalid = appendProblem('append', ref, expectedHead, records);
    if (invalid !== null) return Promise.reject(invalid);
    return new Promise<AppendResult>((resolve, reject) => {
      this.queue.push({ item: { ref, host, epoch, expectedHead, records }, id: docRefKey(ref), resolve, reject });
      this.schedulePump();
    });
  }

  /** Refuses new appends, rejects queued ones with HOST_SHUTTING_DOWN and waits for running flushes. */
  async close(): Promise<void> {
    this.closed = true;
    const queued = this.queue;
    this.queue = [];
    for (const p of queued) p.reject(new AdamaError(E.HOST_SHUTTING_DOWN, `group commit closed before ${p.item.ref.space}/${p.item.ref.key} was flushed`));
    while (this.running.size > 0) await Promise.all([...this.running]);
  }

  /** One microtask hop gathers everything submitted in the current tick into the next flush. */
  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    queueMicrotask(() => { this.pumpScheduled = false; this.pump(); });
  }

  private pump(): void {
    while (!this.closed && this.running.size < this.maxInFlight && this.queue.length > 0) {
      const batch = this.takeBatch();
      if (batch.length === 0) return; // every queued document is already in flight
      const flight = this.flush(batch).finally(() => {
        this.running.delete(flight);
        this.pump();
      });
      this.running.add(flight);
    }
  }

  /** The oldest queued appends, up to maxBatchItems, at most one per document and none for a document in flight. */
  private takeBatch(): Pending[] {
    const batch: Pending[] = [];
    const rest: Pending[] = [];
    for (let i = 0; i < this.queue.length; i++) {
      const p = this.queue[i] as Pending;
      if (batch.length >= this.maxBatchItems) { rest.push(...this.queue.slice(i)); break; }
      if (this.busy.has(p.id)) { rest.push(p); continue; }
      this.busy.add(p.id);
      batch.push(p);
    }
    this.queue = rest;
    return batch;
  }

  /** Never rejects: the outcome goes to each caller. */
  private async flush(batch: Pending[]): Promise<void> {
    const startedMs = this.clock.nowMs();
    let results: AppendResult[] | undefined;
    let failure: unknown;
    try {
      results = await this.data.appendMany(batch.map((p) => p.item));
      if (results.length !== batch.length) {
        failure = new AdamaError(E.INTERNAL, `appendMany returned ${results.length} results for ${batch.length} items`);
      }
    } catch (err) {
      failure = err;
    }
    for (const p of batch) this.busy.delete(p.id);
    this.flushes += 1;
    this.itemsFlushed += batch.length;
    try {
      this.options.onFlush?.(batch.length, this.clock.nowMs() - startedMs);
    } catch {
      // A metrics callback must not keep callers from hearing their outcome.
    }
    batch.forEach((p, i) => {
      const result = results?.[i];
      if (failure !== undefined || result === undefined) p.reject(failure);
      else if (!result.ok && result.refused) p.reject(result.refused); // this item alone: its data
      else p.resolve(result);
    });
  }
}

/** The same checks as `DataService.append`: non-empty, seqs expectedHead+1, +2, ... */
function positiveInt(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new AdamaError(E.INTERNAL, `GroupCommitter: ${name} must be a positive integer, got ${value}`);
  return value;
}

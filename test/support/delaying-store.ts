/**
 * @module delaying-store
 * Test-only: a real object store (filesystem or S3) whose put RESPONSES can be held back. The
 * object is written by the real store first; only the answer to the archiver waits until the
 * test lets it go, which is what a slow or lossy network to S3 looks like. Every write and delete
 * is an awaitable event, so tests order steps on events, not on sleeps.
 */
import type { ObjectStore } from '../../services/archiver/object-store';

interface Deferred<T> { promise: Promise<T>; resolve(v: T): void }
function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

export class DelayingStore implements ObjectStore {
  /** Keys in the order their bytes reached the real store. */
  readonly written: string[] = [];
  /** Keys deleted through this store, in order. */
  readonly deleted: string[] = [];
  private holding = true;
  private readonly writtenEvents: Deferred<string>[] = [];
  private readonly gates: Deferred<void>[] = [];

  constructor(private readonly inner: ObjectStore) {}

  describe(): string { return `delaying(${this.inner.describe()})`; }
  get(key: string): Promise<Buffer | null> { return this.inner.get(key); }
  list(prefix: string): Promise<string[]> { return this.inner.list(prefix); }
  collectIncomplete(beforeMs: number): Promise<number> { return this.inner.collectIncomplete?.(beforeMs) ?? Promise.resolve(0); }

  async delete(key: string): Promise<void> {
    await this.inner.delete(key);
    this.deleted.push(key);
  }

  async put(key: string, body: Buffer): Promise<void> {
    await this.inner.put(key, body);
    const n = this.written.push(key) - 1;
    this.event(this.writtenEvents, n).resolve(key);
    if (this.holding) await this.event(this.gates, n).promise;
  }

  /** Resolves with the key of the `n`-th (0-based) object once its bytes are in the real store. */
  writtenNth(n: number): Promise<string> { return this.event(this.writtenEvents, n).promise; }

  /** Lets the `n`-th put answer. */
  answer(n: number): void { this.event(this.gates, n).resolve(); }

  /** Answers every held put and stops holding later ones. */
  answerAll(): void {
    this.holding = false;
    for (let i = 0; i < Math.max(this.gates.length, this.written.length); i++) this.event(this.gates, i).resolve();
  }

  private event<T>(list: Deferred<T>[], n: number): Deferred<T> {
    while (list.length <= n) list.push(deferred<T>());
    return list[n]!;
  }
}

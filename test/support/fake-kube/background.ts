/**
 * @module background
 * Every asynchronous thing the fake does on its own (garbage collection, the workload controllers,
 * the kubelet) runs here, so a test can `await settled()` instead of sleeping, and a failure is
 * reported (by `settled()`) rather than thrown into a request or lost as an unhandled rejection.
 */

export class Background {
  private readonly pending = new Map<Promise<void>, string>();
  private readonly failures: Error[] = [];
  private closed = false;

  /** Every failure so far, oldest first (kept for `FakeKube.errors`). */
  readonly history: Error[] = [];

  /** Runs `fn` on a later turn of the event loop; never throws into the caller. */
  run(label: string, fn: () => Promise<void> | void): void {
    if (this.closed) return;
    const task = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => (this.closed ? undefined : fn()))
      .catch((e: unknown) => this.fail(label, e))
      .finally(() => { this.pending.delete(task); });
    this.pending.set(task, label);
  }

  /** Records a failure that happened outside `run` (a store listener, say). */
  fail(label: string, e: unknown): void {
    const err = new Error(`fake-kube ${label}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    this.failures.push(err);
    this.history.push(err);
  }

  /**
   * Resolves once no task is pending (tasks started by tasks included); rejects with the first
   * failure since the last call, or after `timeoutMs` naming what is still running.
   */
  async settled(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.pending.size > 0) {
      const left = deadline - Date.now();
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([
        Promise.allSettled([...this.pending.keys()]).then(() => false),
        new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(true), Math.max(0, left)); }),
      ]);
      clearTimeout(timer);
      if (timedOut) throw new Error(`fake-kube: still running after ${timeoutMs} ms: ${[...this.pending.values()].join(', ')}`);
    }
    const first = this.failures.shift();
    this.failures.length = 0;
    if (first) throw first;
  }

  close(): void { this.closed = true; }
}

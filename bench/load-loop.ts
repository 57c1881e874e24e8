/**
 * @module load-loop
 * A closed-loop load generator: `workers` loops, each starting its next operation as soon as the
 * previous one settles, until a deadline or a total operation cap (whichever comes first). The
 * elapsed time runs until the last operation in flight has settled, so the rate counts only work
 * that finished.
 */
import { summarize, perSecond, type LatencySummary } from './stats';
import { describeError, nowMs, withTimeout } from './timing';

export interface LoadOptions {
  workers: number;
  durationMs: number;
  /** Hard cap on operations started across all workers. */
  maxOps: number;
  opTimeoutMs: number;
  /** The operation of worker `worker`; its latency is measured from the call to settlement. Returns units done (default 1). */
  op(worker: number): Promise<number | void>;
}

export interface LoadResult {
  /** Operations that succeeded. */
  ok: number;
  /** Units those operations did (records for batched appends; equals ok otherwise). */
  units: number;
  errors: number;
  /** Up to five distinct error messages with their counts. */
  errorSamples: Record<string, number>;
  elapsedMs: number;
  okPerSec: number;
  unitsPerSec: number;
  latency: LatencySummary;
}

export async function runClosedLoop(o: LoadOptions): Promise<LoadResult> {
  const latenciesMs: number[] = [];
  const errorSamples: Record<string, number> = {};
  let started = 0;
  let ok = 0;
  let units = 0;
  let errors = 0;
  const startMs = nowMs();
  const deadlineMs = startMs + o.durationMs;
  const worker = async (w: number): Promise<void> => {
    while (nowMs() < deadlineMs && started < o.maxOps) {
      started++;
      const t0 = nowMs();
      try {
        const done = await withTimeout(o.op(w), o.opTimeoutMs, 'operation');
        latenciesMs.push(nowMs() - t0);
        ok++;
        units += typeof done === 'number' ? done : 1;
      } catch (err) {
        errors++;
        const key = describeError(err);
        if (key in errorSamples || Object.keys(errorSamples).length < 5) errorSamples[key] = (errorSamples[key] ?? 0) + 1;
      }
    }
  };
  await Promise.all(Array.from({ length: o.workers }, (_, w) => worker(w)));
  const elapsedMs = nowMs() - startMs;
  return { ok, units, errors, errorSamples, elapsedMs, okPerSec: perSecond(ok, elapsedMs), unitsPerSec: perSecond(units, elapsedMs), latency: summarize(latenciesMs) };
}

/**
 * @module stats
 * Pure arithmetic over latency samples (milliseconds): nearest-rank percentiles, mean, rates and
 * the fixed-width text the benchmark prints. No clocks, no I/O.
 */

export interface LatencySummary {
  count: number;
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
  maxMs: number;
}

/** Nearest-rank percentile (0 < p <= 100) of samples already sorted ascending; NaN when empty. */
export function percentile(sortedMs: readonly number[], p: number): number {
  if (sortedMs.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sortedMs.length);
  return sortedMs[Math.min(sortedMs.length, Math.max(1, rank)) - 1]!;
}

export function summarize(samplesMs: readonly number[]): LatencySummary {
  const sorted = [...samplesMs].sort((a, b) => a - b);
  const sum = sorted.reduce((acc, v) => acc + v, 0);
  return {
    count: sorted.length,
    p50Ms: round(percentile(sorted, 50), 3),
    p99Ms: round(percentile(sorted, 99), 3),
    meanMs: round(sorted.length === 0 ? Number.NaN : sum / sorted.length, 3),
    maxMs: round(sorted.length === 0 ? Number.NaN : sorted[sorted.length - 1]!, 3),
  };
}

/** Events per second over an elapsed time in milliseconds (0 when nothing elapsed). */
export function perSecond(count: number, elapsedMs: number): number {
  return elapsedMs <= 0 ? 0 : round((count * 1000) / elapsedMs, 1);
}

/** How many times slower `value` is than `baseline` (e.g. 12.5 means 12.5x). */
export function ratio(value: number, baseline: number, digits = 1): number {
  return baseline > 0 ? round(value / baseline, digits) : Number.NaN;
}

export function round(value: number, digits: number): number {
  if (!Number.isFinite(value)) return value;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** "n=500 p50 0.123 ms  p99 0.456 ms  mean 0.150 ms  max 1.2 ms" */
export function formatLatency(s: LatencySummary): string {
  return `n=${s.count}  p50 ${ms(s.p50Ms)}  p99 ${ms(s.p99Ms)}  mean ${ms(s.meanMs)}  max ${ms(s.maxMs)}`;
}

export function formatRate(perSec: number, unit: string): string {
  return `${Math.round(perSec).toLocaleString('en-US')} ${unit}/s`;
}

function ms(v: number): string {
  return `${v < 10 ? v.toFixed(3) : v.toFixed(1)} ms`;
}

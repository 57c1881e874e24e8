/**
 * @module archiver-plan
 * The archiver's pure decisions: configuration defaults and validation, pacing, garbage selection
 * and the lag figure. No I/O, no clock reads; the shell passes `nowMs` in.
 */
import { parseArchiveKey, type ParsedArchiveKey } from './archive-format';

export interface ArchiverConfig {
  /** A free document becomes archivable after this long without a change or bind (ms). Lower: more restores on reconnect. */
  idleMs: number;
  /** Upper bound on documents started per second, so archiving never crowds out hosts' queries. */
  docsPerSecond: number;
  /** Documents archived at once (object uploads in flight). Raising it costs database connections and store bandwidth. */
  concurrency: number;
  /** Documents claimed per pass. */
  batchSize: number;
  /** How long a claim is held (database clock); an archiver that dies is replaced after this. Must cover one document's upload. */
  claimLeaseMs: number;
  /** Sleep between passes that found nothing to do (ms). */
  idlePollMs: number;
  /**
   * Unreferenced objects younger than this are left alone (ms): one may be between its upload and
   * its directory update. Must exceed claimLeaseMs plus clock skew between replicas.
   */
  gcGraceMs: number;
  /** How often a pass also collects orphaned objects (ms). */
  gcIntervalMs: number;
  /**
   * Cap of the per-document backoff (ms) after a failed archive (first retry after one
   * claimLeaseMs) or GC delete (after one gcIntervalMs); each further failure doubles the wait.
   */
  backoffMaxMs: number;
  /** Dedupe keys kept in an archive's meta; match the hosts' dedupeKeysPerDocument. */
  dedupeKeys: number;
}

export const ARCHIVER_DEFAULTS: Readonly<ArchiverConfig> = Object.freeze({
  idleMs: 24 * 3_600_000, // a day: most documents are cold far longer, and a restore costs one slower connect
  docsPerSecond: 50,
  concurrency: 4,
  batchSize: 100,
  claimLeaseMs: 60_000,
  idlePollMs: 5_000,
  gcGraceMs: 3_600_000,
  gcIntervalMs: 600_000,
  backoffMaxMs: 6 * 3_600_000, // a broken key is retried a few times a day, not every interval
  dedupeKeys: 1024,
});

export function resolveArchiverConfig(overrides: Partial<ArchiverConfig> = {}): Readonly<ArchiverConfig> {
  const known = new Set(Object.keys(ARCHIVER_DEFAULTS));
  for (const k of Object.keys(overrides)) if (!known.has(k)) throw new Error(`unknown archiver setting ${k}`);
  const c: ArchiverConfig = { ...ARCHIVER_DEFAULTS, ...overrides };
  for (const [k, v] of Object.entries(c)) {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new Error(`archiver ${k} must be a non-negative number, got ${v}`);
  }
  if (c.docsPerSecond <= 0 || c.concurrency < 1 || c.batchSize < 1 || c.claimLeaseMs < 1) throw new Error('archiver docsPerSecond, concurrency, batchSize and claimLeaseMs must be positive');
  if (c.gcGraceMs < c.claimLeaseMs) throw new Error(`archiver gcGraceMs (${c.gcGraceMs}) must be at least claimLeaseMs (${c.claimLeaseMs})`);
  return Object.freeze(c);
}

/** When the next document may start under `docsPerSecond` (a simple evenly spaced schedule). */
export function nextStartMs(lastStartMs: number | null, docsPerSecond: number, nowMs: number): number {
  if (lastStartMs === null) return nowMs;
  return Math.max(nowMs, lastStartMs + 1000 / docsPerSecond);
}

export interface GcCandidate extends ParsedArchiveKey { objectKey: string }

/** Archive keys old enough to collect, parsed (document, claim token), before the database is asked which are referenced. */
export function planGcCandidates(keys: readonly string[], nowMs: number, graceMs: number): GcCandidate[] {
  return keys.flatMap((k) => {
    const parsed = parseArchiveKey(k);
    return parsed !== null && nowMs - parsed.createdMs >= graceMs ? [{ ...parsed, objectKey: k }] : [];
  });
}

/** How far behind the archiver runs: the oldest claimed document's idle time beyond the threshold. */
export function lagMs(updatedAtMs: readonly number[], idleMs: number, nowMs: number): number {
  if (updatedAtMs.length === 0) return 0;
  return Math.max(0, nowMs - Math.min(...updatedAtMs) - idleMs);
}

/**
 * @module archiver
 * The archiver's steps, each safe to interrupt at any point and to run on several replicas:
 *
 * 1. claim a free, idle document (lease; replicas take disjoint sets);
 * 2. cut its state at the claimed head from the hot rows and upload it under a new key;
 * 3. THE commit point: markArchived, only if still free at the claimed epoch and head;
 * 4. trim its hot rows, only while it is still archived under that key.
 *
 * A crash after 2 leaves an orphan object (collected later) and a claim that expires; after 3, an
 * archived document with hot rows, which `finishTrims` completes (a host that binds it first
 * restores from the object and the guarded trim then does nothing). See docs/archiver.md.
 */
import type { Clock } from '../shared/clock';
import { AdamaError, E } from '../shared/errors';
import type { Logger } from '../shared/log';
import { noopTelemetry, restoreResult, type AdamaMetrics } from '../shared/telemetry';
import type { ColdDocument, HotRows } from '../storage/archive-data';
import type { DataService, DirectoryRow } from '../storage/data-service';
import type { DocRef } from '../shared/doc-ref';
import { ARCHIVE_PREFIX, archiveKey, decodeArchive, encodeArchive } from './archive-format';
import { cutArchive } from './archive-cut';
import type { ArchiverConfig } from './archiver-plan';
import { planGcCandidates } from './archiver-plan';
import { DocBackoff } from './doc-backoff';
import type { ObjectStore } from './object-store';
import { errorCode, errorDetail } from './failure-detail';
import { fetchArchive } from './restore';

/** Counters since start; exposed by the admin Inspect call and logged each pass. */
export interface ArchiverCounters {
  archived: number;
  restored: number;
  skipped: number;
  failures: number;
  trimmed: number;
  gcDeleted: number;
  /** Garbage-collection deletes that failed (each retried after a per-document backoff). */
  gcFailures: number;
  bytesWritten: number;
  bytesRead: number;
  /** How far behind the idle threshold the oldest document of the last pass was (ms). */
  lagMs: number;
}

/** One garbage collection: objects deleted, deletes that failed, half-done uploads removed. */
export interface GcResult { deleted: number; failed: number; incompleteRemoved: number }

export type ArchiveOutcome =
  | { kind: 'archived'; objectKey: string; bytes: number; headSeq: number }
  | { kind: 'skipped'; reason: string };

/** Test-only crash points (ADAMA_ARCHIVER_CRASH_AFTER, archiver-process.ts). */
export interface ArchiverFaults { afterObjectWrite?(): void; afterDirectoryUpdate?(): void }

export interface ArchiverDeps {
  data: DataService;
  store: ObjectStore;
  clock: Clock;
  log: Logger;
  /** Names this replica's claims (for operators; the fence is each claim's token). */
  workerId: string;
  config: Readonly<ArchiverConfig>;
  faults?: ArchiverFaults;
  /** Prometheus instruments (adama_archiver_*, adama_documents_restored_total); no-op when absent. */
  metrics?: AdamaMetrics;
}

export interface Inspection {
  directory: DirectoryRow | null;
  hot: HotRows;
  object: { key: string; exists: boolean; bytes: number; verified: boolean; error?: string } | null;
}

export class Archiver {
  readonly counters: ArchiverCounters = { archived: 0, restored: 0, skipped: 0, failures: 0, trimmed: 0, gcDeleted: 0, gcFailures: 0, bytesWritten: 0, bytesRead: 0, lagMs: 0 };

  readonly metrics: AdamaMetrics;
  private readonly gcBackoff: DocBackoff;
  /** Documents whose archive failed: each retry waits one lease, then doubling up to backoffMaxMs. */
  private readonly archiveBackoff: DocBackoff;

  constructor(private readonly deps: ArchiverDeps) {
    this.metrics = deps.metrics ?? noopTelemetry().metrics;
    this.gcBackoff = new DocBackoff(Math.max(1, deps.config.gcIntervalMs), deps.config.backoffMaxMs);
    this.archiveBackoff = new DocBackoff(deps.config.claimLeaseMs, Math.max(deps.config.claimLeaseMs, deps.config.backoffMaxMs));
  }

  /** Admin ArchiveNow: claims one free document however recently used, then archives it. */
  async archiveNow(ref: DocRef): Promise<ArchiveOutcome> {
    const claimed = await this.deps.data.claimDocument(ref, this.deps.workerId, this.deps.config.claimLeaseMs);
    if (!claimed) {
      const row = await this.deps.data.lookup(ref);
      if (!row) throw new AdamaError(E.DOCUMENT_NOT_FOUND, `${ref.space}/${ref.key} does not exist`);
      // A live claim, even our own, is never re-taken or extended (issue 18.11).
      return this.skip(ref, row.state === 'free' ? 'another archive of it is in progress (its claim is live)' : `it is ${row.state}`);
    }
    return this.archiveClaimed(claimed);
  }

  /** Steps 2–4 for one claimed document. Rejects only on infrastructure failures (counted). */
  async archiveClaimed(c: ColdDocument): Promise<ArchiveOutcome> {
    const { data, store, log, clock } = this.deps;
    const ref: DocRef = { space: c.space, key: c.key };
    try {
      const { snapshot, records } = await data.load(ref);
      const cut = cutArchive(snapshot, records, c.headSeq, this.deps.config.dedupeKeys);
      if (cut.kind === 'skip') {
        await data.releaseClaim(ref, c.claimToken);
        return this.skip(ref, cut.reason);
      }
      const nowMs = clock.nowMs();
      // The key names the claim's token: only this claim can ever commit this object, and the
      // collector revokes exactly this claim before deleting it.
      const objectKey = archiveKey(ref, c.headSeq, nowMs, c.claimToken);
      const body = encodeArchive({ ...ref, headSeq: c.headSeq, epoch: c.epoch, archivedAtMs: nowMs, state: cut.state, meta: cut.meta });
      await store.put(objectKey, body);
      this.deps.faults?.afterObjectWrite?.();
      if (!(await data.markArchived(c, objectKey))) {
        // Touched since the claim (bound, written, our lease ran out or the collector revoked it):
        // the object is not the document and no commit can name it. Delete it now; if that fails,
        // the collector will.
        await store.delete(objectKey).catch(() => undefined);
        await data.releaseClaim(ref, c.claimToken);
        return this.skip(ref, 'the directory row changed since the claim');
      }
      this.deps.faults?.afterDirectoryUpdate?.();
      await this.trim(ref, objectKey);
      this.counters.archived += 1;
      this.counters.bytesWritten += body.length;
      this.metrics.archiverArchived.add(1);
      this.metrics.archiverBytesWritten.add(body.length);
      this.archiveBackoff.succeeded(docId(ref));
      log.info({ space: ref.space, key: ref.key, seq: c.headSeq, epoch: c.epoch, bytes: body.length, ref: objectKey }, 'archiver.archived');
      return { kind: 'archived', objectKey, bytes: body.length, headSeq: c.headSeq };
    } catch (err) {
      this.counters.failures += 1;
      this.metrics.archiverFailures.add(1);
      // Back the document off: its claim stays on the row (under its token) for the backoff, so no
      // replica retries it every lease period (issue 18.13).
      const retryInMs = this.archiveBackoff.failed(docId(ref), clock.nowMs());
      await data.holdClaim(c, retryInMs).catch(() => undefined);
      log.warn({ space: ref.space, key: ref.key, seq: c.headSeq, code: errorCode(err), err: String(err), detail: errorDetail(err), retryInMs }, 'archiver.failed');
      throw err;
    }
  }

  /**
   * Admin RestoreNow: brings an archived document back to the hot tables without a host (state
   * free), verified exactly as a host's restore is. A document that is not archived is left alone.
   */
  async restoreNow(ref: DocRef): Promise<{ restored: boolean; headSeq: number; reason?: string }> {
    const row = await this.deps.data.lookup(ref);
    if (!row || row.state === 'deleted') throw new AdamaError(E.DOCUMENT_NOT_FOUND, `${ref.space}/${ref.key} does not exist`);
    if (row.state !== 'archived' || row.archiveRef === null) return { restored: false, headSeq: row.headSeq, reason: `it is ${row.state}` };
    const startedMs = this.deps.clock.nowMs();
    try {
      const { doc, bytes } = await fetchArchive(this.deps.store, row.archiveRef, ref, row.headSeq);
      const ok = await this.deps.data.unarchive(ref, row.archiveRef, { seq: row.headSeq, state: doc.state, meta: doc.meta });
      if (!ok) return { restored: false, headSeq: row.headSeq, reason: 'the directory row changed (a host may have restored it)' };
      this.counters.restored += 1;
      this.counters.bytesRead += bytes;
      this.metrics.documentsRestored.add(1, { result: 'ok' });
      this.metrics.documentRestoreMs.record(this.deps.clock.nowMs() - startedMs);
      this.deps.log.info({ space: ref.space, key: ref.key, seq: row.headSeq, bytes, ref: row.archiveRef }, 'archiver.restored');
      return { restored: true, headSeq: row.headSeq };
    } catch (err) {
      this.counters.failures += 1;
      this.metrics.archiverFailures.add(1);
      this.metrics.documentsRestored.add(1, { result: restoreResult(err) });
      this.metrics.documentRestoreMs.record(this.deps.clock.nowMs() - startedMs);
      this.deps.log.warn({ space: ref.space, key: ref.key, seq: row.headSeq, ref: row.archiveRef, code: errorCode(err), err: String(err), detail: errorDetail(err) }, 'archiver.restore_failed');
      throw err;
    }
  }

  /** Completes trims interrupted by a crash between the directory update and the trim. */
  async finishTrims(limit: number): Promise<number> {
    let n = 0;
    for (const u of await this.deps.data.listUntrimmed(limit)) if (await this.trim(u, u.archiveRef)) n += 1;
    return n;
  }

  /**
   * Deletes archive objects past the grace that no directory row references. For each chunk the
   * claims that uploaded them are revoked first (under their tokens, read from the keys), and only
   * then is the directory asked which are referenced: after the revoke no commit can name them, so
   * an object found unreferenced stays unreferenced until it is deleted (issue 18.11).
   */
  async collectGarbage(): Promise<GcResult> {
    const { store, data, clock, config, log } = this.deps;
    const nowMs = clock.nowMs();
    const incompleteRemoved = (await store.collectIncomplete?.(nowMs - config.gcGraceMs)) ?? 0;
    if (incompleteRemoved > 0) log.info({ removed: incompleteRemoved }, 'archiver.gc_incomplete_removed');
    const candidates = planGcCandidates(await store.list(ARCHIVE_PREFIX), nowMs, config.gcGraceMs)
      .filter((c) => !this.gcBackoff.blocked(docId(c), nowMs));
    let deleted = 0;
    let failed = 0;
    for (let i = 0; i < candidates.length; i += 500) {
      const chunk = candidates.slice(i, i + 500);
      await data.revokeClaims(chunk.map((c) => ({ space: c.space, key: c.key, claimToken: c.claimToken })));
      const referenced = await data.referencedArchiveRefs(chunk.map((c) => c.objectKey));
      for (const doc of chunk) {
        const key = doc.objectKey;
        // Referenced, or its document failed earlier in this pass (one failure per document per pass).
        if (referenced.has(key) || this.gcBackoff.blocked(docId(doc), nowMs)) continue;
        try {
          await store.delete(key);
        } catch (err) {
          // One object's failure is that object's: count it, back its document off, go on.
          failed += 1;
          this.metrics.archiverGcFailures.add(1);
          const retryInMs = this.gcBackoff.failed(docId(doc), nowMs);
          log.warn({ space: doc.space, key: doc.key, ref: key, code: errorCode(err), err: String(err), detail: errorDetail(err), retryInMs }, 'archiver.gc_delete_failed');
          continue;
        }
        this.gcBackoff.succeeded(docId(doc));
        deleted += 1;
        log.info({ ref: key }, 'archiver.gc_deleted');
      }
    }
    this.counters.gcDeleted += deleted;
    this.counters.gcFailures += failed;
    this.metrics.archiverGcDeleted.add(deleted);
    return { deleted, failed, incompleteRemoved };
  }

  async inspect(ref: DocRef): Promise<Inspection> {
    const directory = await this.deps.data.lookup(ref);
    const hot = await this.deps.data.hotRows(ref);
    if (!directory?.archiveRef) return { directory, hot, object: null };
    const key = directory.archiveRef;
    // Fetched once, then verified: a corrupt object still shows its real size (issue 18.14).
    let body: Buffer | null;
    try {
      body = await this.deps.store.get(key);
    } catch (err) {
      return { directory, hot, object: { key, exists: false, bytes: 0, verified: false, error: inspectError(err) } };
    }
    if (body === null) return { directory, hot, object: { key, exists: false, bytes: 0, verified: false, error: 'missing from the object store' } };
    try {
      decodeArchive(body, key, ref, directory.headSeq);
      return { directory, hot, object: { key, exists: true, bytes: body.length, verified: true } };
    } catch (err) {
      return { directory, hot, object: { key, exists: true, bytes: body.length, verified: false, error: inspectError(err) } };
    }
  }

  private async trim(ref: DocRef, objectKey: string): Promise<boolean> {
    const t = await this.deps.data.trimArchived(ref, objectKey);
    if (t.trimmed) this.counters.trimmed += 1;
    this.deps.log.debug({ space: ref.space, key: ref.key, ...t }, 'archiver.trimmed');
    return t.trimmed;
  }

  private skip(ref: DocRef, reason: string): ArchiveOutcome {
    this.counters.skipped += 1;
    this.metrics.archiverSkipped.add(1);
    this.deps.log.info({ space: ref.space, key: ref.key, reason }, 'archiver.skipped');
    return { kind: 'skipped', reason };
  }
}

function docId(ref: DocRef): string { return `${ref.space}/${ref.key}`; }


/** Inspect is for operators: the message and the internal detail both. */
function inspectError(err: unknown): string {
  const detail = errorDetail(err);
  return detail === undefined ? String(err) : `${String(err)} (${detail})`;
}

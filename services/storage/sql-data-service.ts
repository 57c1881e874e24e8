/**
 * @module sql-data-service
 * `DataService` over a `pg` pool: the same SQL (data-sql.ts) on PostgreSQL and on embedded PGlite.
 *
 * Rules that keep it correct on both: every write is one statement (no transaction spans two round
 * trips); no named prepared statements, advisory locks or session SETs, because PGlite serves every
 * pool client over one shared session. PostgreSQL returns int8 as strings; they are converted to
 * numbers here (document seqs and epochs stay far below 2^53).
 */
import type { Pool, QueryResult, QueryResultRow } from 'pg';
import { AdamaError, E } from '../shared/errors';
import type { Json } from '../shared/json';
import { silentLogger, type Logger } from '../shared/log';
import type { AppendItem, AppendResult, ChangeRecord, DataService, DirectoryRow, DirectoryState, DocumentListing, FindBindResult, HostLease, Snapshot, SpaceVersion } from './data-service';
import { appendProblem } from './records';
import { docRefKey, type DocRef } from '../shared/doc-ref';
import type { Who } from '../shared/identity';
import * as SQL from './data-sql';
import * as ASQL from './data-sql-archive';
import type { ClaimRef, ColdDocument, HotRows, UntrimmedDocument } from './archive-data';
import { isDataException, isUniqueViolation, toStorageError } from './pg-errors';

export interface SqlDataServiceOptions {
  /** End the pool in close(). Default true; pass false when the pool is shared with other code. */
  ownsPool?: boolean;
  /**
   * Extra attempts for findBind and deploySpace after losing a race to a concurrent writer (only
   * happens on real PostgreSQL under contention; each attempt is one short statement). Default 5.
   */
  raceRetries?: number;
  log?: Logger;
}

export const SQL_DATA_SERVICE_DEFAULTS = { ownsPool: true, raceRetries: 5 } as const;

type Int8 = string | number;

interface ColdRow { space: string; key: string; epoch: Int8; head_seq: Int8; archive_claim_token: string; updated_at_ms: number }

interface RecordRow { seq: Int8; who: Json; request: Json; redo: Json; undo: Json }

export class SqlDataService implements DataService {
  private readonly ownsPool: boolean;
  private readonly raceRetries: number;
  private closed = false;
  /** Whether named statements are safe here (see hot); asked once. */
  private sessionPerConnection: Promise<boolean> | null = null;

  constructor(private readonly pool: Pool, options: SqlDataServiceOptions = {}) {
    this.ownsPool = options.ownsPool ?? SQL_DATA_SERVICE_DEFAULTS.ownsPool;
    this.raceRetries = options.raceRetries ?? SQL_DATA_SERVICE_DEFAULTS.raceRetries;
    const log = options.log ?? silentLogger;
    // An idle client losing its connection emits 'error' on the pool; unhandled, that kills the
    // process. The pool already discards the client and the next query reports the outage.
    pool.on('error', (err) => log.warn({ err: err.message }, 'storage.pool_error'));
  }

  async create(ref: DocRef, host: string, first: ChangeRecord): Promise<{ epoch: number } | null> {
    if (first.seq !== 1) throw new AdamaError(E.INTERNAL, `create: the first record must have seq 1, got ${first.seq}`);
    const r = await this.query<{ epoch: Int8 }>('create', SQL.CREATE_SQL, [
      ref.space, ref.key, host, whoParam(first.who), jsonParam(first.request), jsonParam(first.redo), jsonParam(first.undo),
    ]);
    const row = r.rows[0];
    return row ? { epoch: int(row.epoch) } : null;
  }

  async deleteDocument(ref: DocRef, host: string, epoch: number): Promise<{ archiveRef: string | null } | null> {
    const r = await this.query<{ archive_ref: string | null }>('deleteDocument', SQL.DELETE_SQL, [ref.space, ref.key, host, epoch]);
    const row = r.rows[0];
    return row ? { archiveRef: row.archive_ref } : null;
  }

  async listDocuments(space: string, after: string, limit: number): Promise<DocumentListing[]> {
    if (!Number.isInteger(limit) || limit < 1) throw new AdamaError(E.INTERNAL, `listDocuments: limit must be a positive integer, got ${limit}`);
    const r = await this.query<{ key: string; head_seq: Int8; updated_at: Date }>('listDocuments', SQL.LIST_DOCUMENTS_SQL, [space, after, limit]);
    return r.rows.map((row) => ({ key: row.key, seq: int(row.head_seq), updatedAt: new Date(row.updated_at).toISOString() }));
  }

  async findBind(ref: DocRef, host: string, deadHosts: readonly string[]): Promise<FindBindResult> {
    for (let attempt = 0; attempt <= this.raceRetries; attempt++) {
      const r = await this.query<{
        seen_state: DirectoryState; seen_host: string | null; live_owner: boolean;
        epoch: Int8 | null; head_seq: Int8 | null; archive_ref: string | null;
      }>('findBind', SQL.FIND_BIND_SQL, [ref.space, ref.key, host, [...deadHosts]]);
      const row = r.rows[0];
      if (!row || row.seen_state === 'deleted') return { kind: 'not_found' };
      if (row.epoch !== null && row.head_seq !== null) {
        return { kind: 'bound', epoch: int(row.epoch), headSeq: int(row.head_seq), archiveRef: row.archive_ref, previousState: row.seen_state };
      }
      if (row.live_owner && row.seen_host !== null) return { kind: 'owned', host: row.seen_host };
      // The row changed between this statement's snapshot and its update: look again.
    }
    throw new AdamaError(E.STORAGE_UNAVAILABLE, `findBind ${ref.space}/${ref.key}: lost ${this.raceRetries + 1} races to concurrent binds`);
  }

  async append(ref: DocRef, host: string, epoch: number, expectedHead: number, records: readonly ChangeRecord[]): Promise<AppendResult> {
    checkAppend('append', ref, expectedHead, records);
    const payload = JSON.stringify(records.map(recordPayload));
    try {
      const r = await this.pool.query(await this.hot('adama_append', SQL.APPEND_SQL, [ref.space, ref.key, host, epoch, expectedHead, expectedHead + records.length, payload]));
      return r.rowCount === records.length ? { ok: true } : { ok: false };
    } catch (err) {
      // A log row already at one of these seqs: someone else wrote there, so we are not the writer.
      if (isUniqueViolation(err)) return { ok: false };
      if (isDataException(err)) return { ok: false, refused: unstorable(ref, err) };
      throw toStorageError(err, 'append');
    }
  }

  async appendMany(items: readonly AppendItem[]): Promise<AppendResult[]> {
    if (items.length === 0) return [];
    const seen = new Set<string>();
    for (const item of items) {
      checkAppend('appendMany', item.ref, item.expectedHead, item.records);
      const id = docRefKey(item.ref);
      if (seen.has(id)) throw new AdamaError(E.INTERNAL, `appendMany: ${item.ref.space}/${item.ref.key} appears twice in one batch`);
      seen.add(id);
    }
    const payload = JSON.stringify(items.map((item, i) => ({
      i, space: item.ref.space, key: item.ref.key, host: item.host, epoch: item.epoch,
      expected: item.expectedHead, head: item.expectedHead + item.records.length, records: item.records.map(recordPayload),
    })));
    let rows: { i: number; inserted: number }[];
    try {
      rows = (await this.pool.query<{ i: number; inserted: number }>(await this.hot('adama_append_many', SQL.APPEND_MANY_SQL, [payload]))).rows;
    } catch (err) {
      if (!isUniqueViolation(err) && !isDataException(err)) throw toStorageError(err, 'appendMany');
      // One item collided, or carried data the database refuses, and the statement committed
      // nothing: ask item by item so only that item is refused. Wait for all of them before
      // reporting a failure, so no append is still running when this call settles.
      const settled = await Promise.allSettled(items.map((item) => this.append(item.ref, item.host, item.epoch, item.expectedHead, item.records)));
      const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
      if (failed) throw failed.reason;
      return settled.map((s) => (s as PromiseFulfilledResult<AppendResult>).value);
    }
    const results: AppendResult[] = items.map(() => ({ ok: false }));
    for (const row of rows) {
      const item = items[row.i];
      if (item && row.inserted === item.records.length) results[row.i] = { ok: true };
    }
    return results;
  }

  async release(ref: DocRef, host: string, epoch: number): Promise<boolean> {
    const r = await this.query<{ released: boolean }>('release', SQL.RELEASE_SQL, [ref.space, ref.key, host, epoch]);
    return r.rows[0]?.released === true;
  }

  async releaseAllBoundTo(host: string): Promise<number> {
    const r = await this.query<{ released: number }>('releaseAllBoundTo', SQL.RELEASE_ALL_BOUND_SQL, [host]);
    return r.rows[0]?.released ?? 0;
  }

  async load(ref: DocRef): Promise<{ snapshot: Snapshot | null; records: ChangeRecord[] }> {
    const r = await this.query<RecordRow & { is_snapshot: boolean; state: Json; meta: Json }>('load', SQL.LOAD_SQL, [ref.space, ref.key]);
    let snapshot: Snapshot | null = null;
    const records: ChangeRecord[] = [];
    for (const row of r.rows) {
      if (row.is_snapshot) snapshot = { seq: int(row.seq), state: row.state, meta: row.meta };
      else records.push(toRecord(row));
    }
    return { snapshot, records };
  }

  async readLog(ref: DocRef, fromExclusive: number, toInclusive: number): Promise<ChangeRecord[]> {
    const r = await this.query<RecordRow>('readLog', SQL.READ_LOG_SQL, [ref.space, ref.key, fromExclusive, toInclusive]);
    return r.rows.map(toRecord);
  }

  async compact(ref: DocRef, host: string, epoch: number, snapshot: Snapshot, keepHistory: number): Promise<boolean> {
    if (!Number.isInteger(keepHistory) || keepHistory < 0) throw new AdamaError(E.INTERNAL, `compact: keepHistory must be a non-negative integer, got ${keepHistory}`);
    const r = await this.query<{ written: number }>('compact', SQL.COMPACT_SQL, [
      ref.space, ref.key, host, epoch, snapshot.seq, jsonParam(snapshot.state), jsonParam(snapshot.meta), keepHistory,
    ]);
    return (r.rows[0]?.written ?? 0) > 0;
  }

  async lookup(ref: DocRef): Promise<DirectoryRow | null> {
    const r = await this.query<{
      space: string; key: string; host: string | null; epoch: Int8; head_seq: Int8; state: DirectoryState; archive_ref: string | null;
    }>('lookup', SQL.LOOKUP_SQL, [ref.space, ref.key]);
    const row = r.rows[0];
    if (!row) return null;
    return { space: row.space, key: row.key, host: row.host, epoch: int(row.epoch), headSeq: int(row.head_seq), state: row.state, archiveRef: row.archive_ref };
  }

  async listByHost(host: string): Promise<DocRef[]> {
    const r = await this.query<{ space: string; key: string }>('listByHost', SQL.LIST_BY_HOST_SQL, [host]);
    return r.rows.map((row) => ({ space: row.space, key: row.key }));
  }

  async countByHost(host: string): Promise<number> {
    const r = await this.query<{ owned: number }>('countByHost', SQL.COUNT_BY_HOST_SQL, [host]);
    return r.rows[0]?.owned ?? 0;
  }

  async deploySpace(space: string, code: string): Promise<SpaceVersion> {
    for (let attempt = 0; attempt <= this.raceRetries; attempt++) {
      const r = await this.query<{ version: number; code: string; added: boolean }>('deploySpace', SQL.DEPLOY_SPACE_SQL, [space, code]);
      const row = r.rows[0];
      if (row && (row.added || row.code === code)) return { space, version: row.version, code: row.code };
      // A concurrent deploy took the next version number first: deploy on top of it.
    }
    throw new AdamaError(E.STORAGE_UNAVAILABLE, `deploySpace ${space}: lost ${this.raceRetries + 1} races to concurrent deploys`);
  }

  async getSpace(space: string): Promise<SpaceVersion | null> {
    const r = await this.query<{ version: number; code: string }>('getSpace', SQL.GET_SPACE_SQL, [space]);
    const row = r.rows[0];
    return row ? { space, version: row.version, code: row.code } : null;
  }

  async getSpaceVersion(space: string): Promise<number | null> {
    const r = await this.query<{ version: number }>('getSpaceVersion', SQL.GET_SPACE_VERSION_SQL, [space]);
    return r.rows[0]?.version ?? null;
  }

  async heartbeatHost(hostId: string, address: string, leaseMs: number): Promise<void> {
    await this.query('heartbeatHost', SQL.HEARTBEAT_SQL, [hostId, address, leaseMs]);
  }

  async liveHosts(): Promise<HostLease[]> {
    const r = await this.query<{ host_id: string; address: string; lease_expires_at_ms: number }>('liveHosts', SQL.LIVE_HOSTS_SQL, []);
    return r.rows.map((row) => ({ hostId: row.host_id, address: row.address, leaseExpiresAtMs: Math.floor(row.lease_expires_at_ms) }));
  }

  async hostAddress(hostId: string): Promise<string | null> {
    const r = await this.query<{ address: string }>('hostAddress', SQL.HOST_ADDRESS_SQL, [hostId]);
    return r.rows[0]?.address ?? null;
  }

  async expireHost(hostId: string): Promise<void> {
    await this.query('expireHost', SQL.EXPIRE_HOST_SQL, [hostId]);
  }

  // ---- archive (archive-data.ts, docs/archiver.md) -------------------------------------------

  async claimColdDocuments(worker: string, idleMs: number, leaseMs: number, limit: number): Promise<ColdDocument[]> {
    const r = await this.query<ColdRow>('claimColdDocuments', ASQL.CLAIM_COLD_SQL, [worker, idleMs, leaseMs, limit]);
    return r.rows.map(toCold);
  }

  async claimDocument(ref: DocRef, worker: string, leaseMs: number): Promise<ColdDocument | null> {
    const r = await this.query<ColdRow>('claimDocument', ASQL.CLAIM_ONE_SQL, [ref.space, ref.key, worker, leaseMs]);
    return r.rows[0] ? toCold(r.rows[0]) : null;
  }

  async releaseClaim(ref: DocRef, claimToken: string): Promise<void> {
    await this.query('releaseClaim', ASQL.RELEASE_CLAIM_SQL, [ref.space, ref.key, claimToken]);
  }

  async holdClaim(claim: ClaimRef, holdMs: number): Promise<void> {
    await this.query('holdClaim', ASQL.HOLD_CLAIM_SQL, [claim.space, claim.key, claim.claimToken, holdMs]);
  }

  async revokeClaims(claims: readonly ClaimRef[]): Promise<number> {
    if (claims.length === 0) return 0;
    const r = await this.query('revokeClaims', ASQL.REVOKE_CLAIMS_SQL, [claims.map((c) => c.space), claims.map((c) => c.key), claims.map((c) => c.claimToken)]);
    return r.rowCount ?? 0;
  }

  async markArchived(claim: ColdDocument, archiveRef: string): Promise<boolean> {
    const r = await this.query('markArchived', ASQL.MARK_ARCHIVED_SQL, [claim.space, claim.key, claim.claimToken, claim.epoch, claim.headSeq, archiveRef]);
    return r.rowCount === 1;
  }

  async trimArchived(ref: DocRef, archiveRef: string): Promise<{ trimmed: boolean; logRows: number; snapshotRows: number }> {
    const r = await this.query<{ owned: number; log_rows: number; snapshot_rows: number }>('trimArchived', ASQL.TRIM_ARCHIVED_SQL, [ref.space, ref.key, archiveRef]);
    const row = r.rows[0];
    return { trimmed: (row?.owned ?? 0) > 0, logRows: row?.log_rows ?? 0, snapshotRows: row?.snapshot_rows ?? 0 };
  }

  async listUntrimmed(limit: number): Promise<UntrimmedDocument[]> {
    const r = await this.query<{ space: string; key: string; archive_ref: string }>('listUntrimmed', ASQL.LIST_UNTRIMMED_SQL, [limit]);
    return r.rows.map((row) => ({ space: row.space, key: row.key, archiveRef: row.archive_ref }));
  }

  async referencedArchiveRefs(keys: readonly string[]): Promise<Set<string>> {
    if (keys.length === 0) return new Set();
    const r = await this.query<{ archive_ref: string }>('referencedArchiveRefs', ASQL.REFERENCED_REFS_SQL, [[...keys]]);
    return new Set(r.rows.map((row) => row.archive_ref));
  }

  async restoreArchived(ref: DocRef, host: string, epoch: number, archiveRef: string, snapshot: Snapshot): Promise<boolean> {
    const r = await this.query<{ restored: number }>('restoreArchived', ASQL.RESTORE_BOUND_SQL, [
      ref.space, ref.key, host, epoch, archiveRef, snapshot.seq, jsonParam(snapshot.state), jsonParam(snapshot.meta),
    ]);
    return (r.rows[0]?.restored ?? 0) > 0;
  }

  async unarchive(ref: DocRef, archiveRef: string, snapshot: Snapshot): Promise<boolean> {
    const r = await this.query<{ restored: number }>('unarchive', ASQL.UNARCHIVE_SQL, [
      ref.space, ref.key, archiveRef, snapshot.seq, jsonParam(snapshot.state), jsonParam(snapshot.meta),
    ]);
    return (r.rows[0]?.restored ?? 0) > 0;
  }

  async releaseToArchived(ref: DocRef, host: string, epoch: number, archiveRef: string): Promise<boolean> {
    const r = await this.query('releaseToArchived', ASQL.RELEASE_TO_ARCHIVED_SQL, [ref.space, ref.key, host, epoch, archiveRef]);
    return r.rowCount === 1;
  }

  async hotRows(ref: DocRef): Promise<HotRows> {
    const r = await this.query<{ log_rows: number; snapshot_seq: Int8 | null }>('hotRows', ASQL.HOT_ROWS_SQL, [ref.space, ref.key]);
    const row = r.rows[0];
    return { logRows: row?.log_rows ?? 0, snapshotSeq: row?.snapshot_seq == null ? null : int(row.snapshot_seq) };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.ownsPool) await this.pool.end();
  }

  /**
   * A statement on the per-message path, named so that each connection parses and plans it once
   * instead of per message (measured: the append's round trip 1.05 -> 0.6 ms p50 on local
   * PostgreSQL). Only where every pool connection is its own session: PGlite's socket server
   * multiplexes all connections onto one session, where a second PREPARE of a name fails.
   */
  private async hot(name: string, text: string, values: unknown[]): Promise<{ name?: string; text: string; values: unknown[] }> {
    // A failed probe (database unreachable) is not remembered: the next statement asks again.
    this.sessionPerConnection ??= this.pool.query<{ version: string }>('SELECT version()').then(
      (r) => !/PGlite/i.test(r.rows[0]?.version ?? ''),
      () => { this.sessionPerConnection = null; return false; },
    );
    return (await this.sessionPerConnection) ? { name, text, values } : { text, values };
  }

  private async query<R extends QueryResultRow = QueryResultRow>(what: string, text: string, params: unknown[]): Promise<QueryResult<R>> {
    try {
      return await this.pool.query<R>(text, params);
    } catch (err) {
      throw toStorageError(err, what);
    }
  }
}

/**
 * pg would send a JS array as a PostgreSQL array, so JSON always goes as text with a ::jsonb cast.
 * JSON null is stored as the jsonb value null (the columns are NOT NULL).
 */
function jsonParam(value: Json | undefined): string {
  return JSON.stringify(value ?? null);
}

/** A missing author is SQL NULL. */
function whoParam(who: Who | null): string | null {
  return who === null ? null : JSON.stringify(who);
}

/** Records must be non-empty and run on from the expected head: expectedHead+1, +2, ... */
function checkAppend(what: string, ref: DocRef, expectedHead: number, records: readonly ChangeRecord[]): void {
  const problem = appendProblem(what, ref, expectedHead, records);
  if (problem) throw problem;
}

/** A record as the append statements read it from jsonb; seqs come from array positions. */
function recordPayload(rec: ChangeRecord): { who: Who | null; request: Json; redo: Json; undo: Json } {
  return { who: rec.who ?? null, request: rec.request ?? null, redo: rec.redo ?? null, undo: rec.undo ?? null };
}

function unstorable(ref: DocRef, err: unknown): AdamaError {
  return new AdamaError(E.RECORD_UNSTORABLE, `append ${ref.space}/${ref.key}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
}

function int(v: Int8): number {
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isSafeInteger(n)) throw new AdamaError(E.INTERNAL, `storage: integer out of range: ${v}`);
  return n;
}

function toRecord(row: RecordRow): ChangeRecord {
  return { seq: int(row.seq), who: row.who === null ? null : (row.who as unknown as Who), request: row.request, redo: row.redo, undo: row.undo };
}

function toCold(row: ColdRow): ColdDocument {
  return { space: row.space, key: row.key, epoch: int(row.epoch), headSeq: int(row.head_seq), claimToken: row.archive_claim_token, updatedAtMs: Math.floor(row.updated_at_ms) };
}

/**
 * @module data-service
 * The storage boundary: everything a host needs from Postgres, asynchronous, with ownership
 * fencing built into the two writes that matter (`findBind` and `append`). Implementations:
 * `SqlDataService` over a `pg` pool, which runs the same SQL on real PostgreSQL and on PGlite.
 *
 * Ownership contract (docs/architecture.md §5):
 * - `findBind` binds the document to `host` when it is free, archived, bound to `host` itself
 *   (a restart), or bound to a host that is not live; every such bind increments `epoch`.
 *   Otherwise it reports the live owner and the caller redirects.
 * - `append` inserts change records and advances `head_seq` only if host, epoch and the expected
 *   head all still match; anything else (including a unique-key collision) is `{ok: false}`.
 *   `appendMany` is the same compare-and-set for many documents in one round trip, each item
 *   fenced on its own; an item the database refuses for its data fails alone
 *   (`{ok: false, refused}`), never its batch. No other code path writes `head_seq`.
 */
import type { ArchiveData } from './archive-data';
import type { ChangeRecord, Snapshot } from './records';
import type { DocRef } from '../shared/doc-ref';

export type { ChangeRecord, Snapshot } from './records';
import type { AdamaError } from '../shared/errors';

export type DirectoryState = 'bound' | 'free' | 'archived' | 'deleted';

export interface DirectoryRow extends DocRef {
  host: string | null;
  epoch: number;
  headSeq: number;
  state: DirectoryState;
  archiveRef: string | null;
}

export type FindBindResult =
  | { kind: 'bound'; epoch: number; headSeq: number; archiveRef: string | null; previousState: DirectoryState }
  | { kind: 'owned'; host: string }
  | { kind: 'not_found' };

/**
 * `{ok: false}` alone: fenced (another owner, or a stale head). With `refused`: this item's data
 * cannot be stored (RECORD_UNSTORABLE); nothing of it committed, and the other items of an
 * `appendMany` are unaffected.
 */
export type AppendResult = { ok: true } | { ok: false; refused?: AdamaError };

/** One document's share of an `appendMany`: the arguments of `append`, as one object. */
export interface AppendItem {
  ref: DocRef;
  host: string;
  epoch: number;
  expectedHead: number;
  records: readonly ChangeRecord[];
}

export interface SpaceVersion { space: string; version: number; code: string }

export interface HostLease { hostId: string; address: string; leaseExpiresAtMs: number }

/** Where a document sends its fenced appends: `DataService` itself, or a `GroupCommitter` over it. */
export interface Appender {
  append(ref: DocRef, host: string, epoch: number, expectedHead: number, records: readonly ChangeRecord[]): Promise<AppendResult>;
}

/** One document of a listing: its key, its head seq and when its directory row last changed. */
export interface DocumentListing { key: string; seq: number; updatedAt: string }

/** `ArchiveData` (archive-data.ts) holds the archiver's and the restore path's operations. */
export interface DataService extends ArchiveData {
  /**
   * Creates the document: directory row bound to `host` at head 1 plus record seq 1, atomically,
   * at epoch 1 (or, over a deleted document's tombstone, the epoch after its last). Null if it exists.
   */
  create(ref: DocRef, host: string, first: ChangeRecord): Promise<{ epoch: number } | null>;

  /**
   * The fenced delete (only `host` bound at `epoch`): log and snapshot removed, the directory row
   * kept as a tombstone at a higher epoch. Null when fenced (not ours at that epoch); else the
   * archived object the document had, which the caller removes.
   */
  deleteDocument(ref: DocRef, host: string, epoch: number): Promise<{ archiveRef: string | null } | null>;

  /** A page of a space's documents in key order after `after` (exclusive), deleted ones left out. */
  listDocuments(space: string, after: string, limit: number): Promise<DocumentListing[]>;

  /** One atomic statement; `deadHosts` are hosts membership believes dead (expired leases count as dead too). */
  findBind(ref: DocRef, host: string, deadHosts: readonly string[]): Promise<FindBindResult>;

  /** Fenced compare-and-set append of records whose seqs run expectedHead+1 .. expectedHead+n. */
  append(ref: DocRef, host: string, epoch: number, expectedHead: number, records: readonly ChangeRecord[]): Promise<AppendResult>;

  /**
   * `append` for several documents in one database round trip (group commit across documents).
   * Results are positional. Each item is fenced independently: a stale or colliding item is
   * `{ok: false}` and does not affect the others. All items commit together (one statement),
   * so when the promise rejects (e.g. STORAGE_UNAVAILABLE) every item's outcome is unknown.
   * Refs must be distinct within one call (throws otherwise); validation as for `append`.
   */
  appendMany(items: readonly AppendItem[]): Promise<AppendResult[]>;

  /** Gives the document up (state free, host null) if still owned by host at epoch; idempotent. */
  release(ref: DocRef, host: string, epoch: number): Promise<boolean>;

  /**
   * Frees every row still bound to `host` at any epoch; returns how many. Only for a draining host
   * that holds none of them in memory: the rows a crashed incarnation under the same id left.
   */
  releaseAllBoundTo(host: string): Promise<number>;

  /** Latest snapshot (or null) and every log record after it, in seq order. */
  load(ref: DocRef): Promise<{ snapshot: Snapshot | null; records: ChangeRecord[] }>;

  /** Records with from < seq <= to, in order (for resuming a viewer with `since`). */
  readLog(ref: DocRef, fromExclusive: number, toInclusive: number): Promise<ChangeRecord[]>;

  /**
   * Writes a snapshot at `snapshot.seq` (only if newer than the stored one and the caller still
   * owns the document at `epoch`), then trims log records with seq <= snapshot.seq - keepHistory.
   */
  compact(ref: DocRef, host: string, epoch: number, snapshot: Snapshot, keepHistory: number): Promise<boolean>;

  lookup(ref: DocRef): Promise<DirectoryRow | null>;
  listByHost(host: string): Promise<DocRef[]>;
  /** How many documents `listByHost(host)` would list: what a drain waits to reach 0. */
  countByHost(host: string): Promise<number>;

  deploySpace(space: string, code: string): Promise<SpaceVersion>;
  getSpace(space: string): Promise<SpaceVersion | null>;
  /** The newest deployed version's number, without its code. */
  getSpaceVersion(space: string): Promise<number | null>;

  heartbeatHost(hostId: string, address: string, leaseMs: number): Promise<void>;
  liveHosts(): Promise<HostLease[]>;
  /** Ends the host's lease now (it is no longer live); the row keeps its address for `hostAddress`. */
  expireHost(hostId: string): Promise<void>;
  /** The address the host last registered, live or not (null if it never did): `adama host undrain <id>`. */
  hostAddress(hostId: string): Promise<string | null>;

  close(): Promise<void>;
}

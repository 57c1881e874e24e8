/**
 * @module archive-data
 * The storage operations the archiver and the host's restore path need (docs/archiver.md), part of
 * `DataService`. The directory row is the commit point: `markArchived` is the only write that makes
 * a document archived, and it succeeds only if the row is still unbound at the epoch and head the
 * object was cut from. Every later step (`trimArchived`, `restoreArchived`, `unarchive`,
 * `releaseToArchived`) is guarded on the archive ref that update wrote.
 */
import type { DocRef } from '../shared/doc-ref';
import type { Snapshot } from './records';

/** A free document the archiver claimed: the epoch and head its object must be cut at. */
export interface ColdDocument extends DocRef {
  epoch: number;
  headSeq: number;
  /**
   * This claim's fence (random, lower-case hex, minted by the claim): the object key the claim
   * uploads must name it, markArchived requires the row to still hold it, and the garbage
   * collector revokes it before deleting that object.
   */
  claimToken: string;
  /** When the row last changed (database clock), for the archiver's lag figure. */
  updatedAtMs: number;
}

/** One claim, named by its document and token (the garbage collector reads both from an object key). */
export interface ClaimRef extends DocRef { claimToken: string }

export interface UntrimmedDocument extends DocRef { archiveRef: string }

export interface HotRows { logRows: number; snapshotSeq: number | null }

export interface ArchiveData {
  /**
   * Claims up to `limit` free documents idle for at least `idleMs`, leased to `worker` for
   * `leaseMs` (database clock). Replicas claim disjoint sets (SKIP LOCKED); an expired lease is
   * claimable again, which is how an archiver that died mid-run is recovered.
   */
  claimColdDocuments(worker: string, idleMs: number, leaseMs: number, limit: number): Promise<ColdDocument[]>;
  /**
   * Claims one free document regardless of idleness; null if it is not free or any live claim is
   * on it (this worker's own included: a live claim is never re-taken or extended).
   */
  claimDocument(ref: DocRef, worker: string, leaseMs: number): Promise<ColdDocument | null>;
  /** Gives the claim with this token back before it expires (the document was skipped); a newer claim is left alone. */
  releaseClaim(ref: DocRef, claimToken: string): Promise<void>;
  /**
   * After a failed archive: keeps this claim on the document for `holdMs` from now (database clock),
   * the per-document backoff, instead of letting it expire after one lease. No-op for a token the
   * row no longer holds.
   */
  holdClaim(claim: ClaimRef, holdMs: number): Promise<void>;
  /**
   * The garbage collector's fence: ends every listed claim whose row still holds that exact token,
   * live or not. Once it returns, no markArchived under those tokens can succeed.
   */
  revokeClaims(claims: readonly ClaimRef[]): Promise<number>;
  /**
   * The commit point: state archived with `archiveRef`, only if still free at the claim's
   * epoch/head, never archived since, the row still holds the claim's token unexpired, and
   * `archiveRef` names that token. False means "touched or revoked; skip it".
   */
  markArchived(claim: ColdDocument, archiveRef: string): Promise<boolean>;
  /** Deletes the hot rows (log and snapshot) if the document is still archived under `archiveRef`. */
  trimArchived(ref: DocRef, archiveRef: string): Promise<{ trimmed: boolean; logRows: number; snapshotRows: number }>;
  /** Archived documents that still have hot rows (an interrupted trim), for the archiver to finish. */
  listUntrimmed(limit: number): Promise<UntrimmedDocument[]>;
  /** The subset of `keys` some directory row references; the rest are orphans. */
  referencedArchiveRefs(keys: readonly string[]): Promise<Set<string>>;
  /**
   * The host's restore, after findBind bound an archived document: writes `snapshot` (at the
   * archived head) as the document's only hot state and clears archive_ref, only if `host` still
   * owns it at `epoch` under `archiveRef`. False: ownership moved on.
   */
  restoreArchived(ref: DocRef, host: string, epoch: number, archiveRef: string, snapshot: Snapshot): Promise<boolean>;
  /** The same without a host (admin RestoreNow): archived → free with the snapshot as hot state. */
  unarchive(ref: DocRef, archiveRef: string, snapshot: Snapshot): Promise<boolean>;
  /** A host that could not restore gives the binding back as archived, keeping the ref, so a repaired object can still restore. */
  releaseToArchived(ref: DocRef, host: string, epoch: number, archiveRef: string): Promise<boolean>;
  hotRows(ref: DocRef): Promise<HotRows>;
}

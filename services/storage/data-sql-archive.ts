/**
 * @module data-sql-archive
 * The SQL behind the archive half of `SqlDataService` (docs/archiver.md). Same rules as data-sql.ts:
 * one statement per operation, explicit casts, no transaction spanning round trips (PGlite has one
 * session). The commit point of an archive is MARK_ARCHIVED_SQL; everything before it is
 * invisible to hosts, everything after it is guarded on the row it wrote.
 */

const MS = `* interval '1 millisecond'`;
const COLD_COLUMNS = `d.space, d.key, d.epoch, d.head_seq, d.archive_claim_token, (extract(epoch FROM d.updated_at) * 1000)::float8 AS updated_at_ms`;
/** A fresh claim: holder, lease end and a new random token (32 hex digits, one per row). */
const CLAIM_SET = (worker: string, lease: string): string =>
  `archive_claimed_by = ${worker}::text, archive_claim_until = now() + ${lease}::double precision ${MS},
    archive_claim_token = replace(gen_random_uuid()::text, '-', '')`;
/** The claim columns cleared: no claim, no token. */
const NO_CLAIM = `archive_claimed_by = NULL, archive_claim_until = NULL, archive_claim_token = NULL`;

/**
 * $1 worker, $2 idle ms, $3 lease ms, $4 limit. Claims unbound (free) documents idle past $2 whose
 * claim is absent or expired, each with its own new token. SKIP LOCKED lets replicas claim
 * disjoint batches without waiting; FOR UPDATE re-checks a row that changed after the snapshot (a
 * host bound it) and drops it.
 */
export const CLAIM_COLD_SQL = `
WITH c AS (
  SELECT space, key FROM directory
  WHERE state = 'free' AND archive_ref IS NULL
    AND updated_at < now() - $2::double precision ${MS}
    AND (archive_claim_until IS NULL OR archive_claim_until < now())
  ORDER BY updated_at
  LIMIT $4::int
  FOR UPDATE SKIP LOCKED
)
UPDATE directory d
SET ${CLAIM_SET('$1', '$3')}
FROM c WHERE d.space = c.space AND d.key = c.key
RETURNING ${COLD_COLUMNS}`;

/**
 * $1 space, $2 key, $3 worker, $4 lease ms. Claims one free document now, however recently used
 * (admin ArchiveNow). Never a document under a live claim, whoever holds it, this worker included:
 * re-taking or extending a live claim would let its first upload commit after the collector
 * judged that upload's object by the original lease (issue 18.11).
 */
export const CLAIM_ONE_SQL = `
UPDATE directory d
SET ${CLAIM_SET('$3', '$4')}
WHERE d.space = $1::text AND d.key = $2::text AND d.state = 'free' AND d.archive_ref IS NULL
  AND (d.archive_claim_until IS NULL OR d.archive_claim_until < now())
RETURNING ${COLD_COLUMNS}`;

/** $1 space, $2 key, $3 claim token. Gives a claim back early (the document was skipped); only that claim. */
export const RELEASE_CLAIM_SQL = `
UPDATE directory SET ${NO_CLAIM}
WHERE space = $1::text AND key = $2::text AND archive_claim_token = $3::text`;

/**
 * $1 space, $2 key, $3 claim token, $4 hold ms. Keeps a failed claim (its archive failed) on the
 * document for $4 from now, so no replica retries it before its backoff is over. Only that
 * claim: a revoked or replaced token holds nothing.
 */
export const HOLD_CLAIM_SQL = `
UPDATE directory SET archive_claim_until = now() + $4::double precision ${MS}
WHERE space = $1::text AND key = $2::text AND archive_claim_token = $3::text`;

/**
 * $1 spaces, $2 keys, $3 claim tokens (text[] each, same length). The garbage collector's fence:
 * ends each named claim if the row still holds exactly that token, live or expired. Run (and
 * committed) BEFORE the collector asks which objects are referenced: from then on no markArchived
 * can name an object of those claims, so "unreferenced" stays true until the delete.
 */
export const REVOKE_CLAIMS_SQL = `
UPDATE directory d SET ${NO_CLAIM}
FROM unnest($1::text[], $2::text[], $3::text[]) AS t(space, key, token)
WHERE d.space = t.space AND d.key = t.key AND d.archive_claim_token = t.token`;

/**
 * $1 space, $2 key, $3 claim token, $4 epoch, $5 head seq, $6 archive ref. THE commit point: the
 * row becomes archived only if it is still unbound at the epoch and head the object was cut from
 * (any bind in between bumps the epoch), it still holds exactly this claim's token, unexpired, and
 * the object key names that token. A claim is never re-taken or extended while live, and the
 * collector revokes a token before deleting an object named by it, so a commit can never reference
 * an object the collector has deleted or is about to.
 */
export const MARK_ARCHIVED_SQL = `
UPDATE directory
SET state = 'archived', host = NULL, archive_ref = $6::text, ${NO_CLAIM}, updated_at = now()
WHERE space = $1::text AND key = $2::text AND state = 'free' AND host IS NULL
  AND epoch = $4::bigint AND head_seq = $5::bigint AND archive_ref IS NULL
  AND archive_claim_token = $3::text AND archive_claim_until > now()
  AND strpos($6::text, $3::text) > 0`;

/**
 * $1 space, $2 key, $3 archive ref. Deletes the hot rows of a document that is still archived under
 * this ref. FOR UPDATE makes a concurrent findBind wait for the trim (then restore from the object)
 * or, if the bind won, makes this statement see the bound row and trim nothing.
 */
export const TRIM_ARCHIVED_SQL = `
WITH own AS (
  SELECT 1 FROM directory
  WHERE space = $1::text AND key = $2::text AND state = 'archived' AND archive_ref = $3::text
  FOR UPDATE
),
log AS (
  DELETE FROM doc_log WHERE space = $1::text AND key = $2::text AND EXISTS (SELECT 1 FROM own) RETURNING 1
),
snap AS (
  DELETE FROM doc_snapshot WHERE space = $1::text AND key = $2::text AND EXISTS (SELECT 1 FROM own) RETURNING 1
)
SELECT (SELECT count(*) FROM own)::int AS owned, (SELECT count(*) FROM log)::int AS log_rows,
       (SELECT count(*) FROM snap)::int AS snapshot_rows`;

/** $1 limit. Archived rows whose hot rows survived an interrupted run (crash between update and trim). */
export const LIST_UNTRIMMED_SQL = `
SELECT d.space, d.key, d.archive_ref FROM directory d
WHERE d.state = 'archived' AND d.archive_ref IS NOT NULL
  AND (EXISTS (SELECT 1 FROM doc_log l WHERE l.space = d.space AND l.key = d.key)
       OR EXISTS (SELECT 1 FROM doc_snapshot s WHERE s.space = d.space AND s.key = d.key))
LIMIT $1::int`;

/** $1 keys (text[]). Which of these object keys a directory row still references. */
export const REFERENCED_REFS_SQL = `SELECT archive_ref FROM directory WHERE archive_ref = ANY ($1::text[])`;

/**
 * Shared tail of the two restores: a snapshot at the archived head replaces whatever hot rows an
 * interrupted trim left, so later loads need no object. `own` is the guarded directory update.
 */
const RESTORE_TAIL = `
snap AS (
  INSERT INTO doc_snapshot AS s (space, key, seq, state, meta, updated_at)
  SELECT $1::text, $2::text, $SEQ::bigint, $STATE::jsonb, $META::jsonb, now() FROM own
  ON CONFLICT (space, key) DO UPDATE SET seq = EXCLUDED.seq, state = EXCLUDED.state, meta = EXCLUDED.meta, updated_at = now()
  RETURNING 1
),
trimmed AS (
  DELETE FROM doc_log WHERE space = $1::text AND key = $2::text AND seq <= $SEQ::bigint AND EXISTS (SELECT 1 FROM own) RETURNING 1
)
SELECT (SELECT count(*) FROM own)::int AS restored`;

const tail = (seq: number, state: number, meta: number): string =>
  RESTORE_TAIL.replace(/\$SEQ/g, () => `$${seq}`).replace(/\$STATE/g, () => `$${state}`).replace(/\$META/g, () => `$${meta}`);

/**
 * $1 space, $2 key, $3 host, $4 epoch, $5 archive ref, $6 seq, $7 state, $8 meta. The host's
 * restore: only the binder at this epoch, only for this ref and head; clears archive_ref so the
 * object becomes garbage and later loads replay from the snapshot.
 */
export const RESTORE_BOUND_SQL = `
WITH own AS (
  UPDATE directory SET archive_ref = NULL, updated_at = now()
  WHERE space = $1::text AND key = $2::text AND host = $3::text AND epoch = $4::bigint AND state = 'bound'
    AND archive_ref = $5::text AND head_seq = $6::bigint
  RETURNING 1
),${tail(6, 7, 8)}`;

/** $1 space, $2 key, $3 archive ref, $4 seq, $5 state, $6 meta. Unarchive without a host (admin RestoreNow): back to free. */
export const UNARCHIVE_SQL = `
WITH own AS (
  UPDATE directory SET state = 'free', host = NULL, archive_ref = NULL, updated_at = now()
  WHERE space = $1::text AND key = $2::text AND state = 'archived' AND archive_ref = $3::text AND head_seq = $4::bigint
  RETURNING 1
),${tail(4, 5, 6)}`;

/**
 * $1 space, $2 key, $3 host, $4 epoch, $5 archive ref. A host that could not restore gives the
 * binding back as archived with the same ref, so a repaired object can still be restored later and
 * the archiver (which only claims free rows) never re-archives the empty hot tables.
 */
export const RELEASE_TO_ARCHIVED_SQL = `
UPDATE directory SET state = 'archived', host = NULL, updated_at = now()
WHERE space = $1::text AND key = $2::text AND host = $3::text AND epoch = $4::bigint AND state = 'bound'
  AND archive_ref = $5::text`;

/** $1 space, $2 key. What is still in the hot tables, for inspect and tests. */
export const HOT_ROWS_SQL = `
SELECT (SELECT count(*) FROM doc_log WHERE space = $1::text AND key = $2::text)::int AS log_rows,
       (SELECT seq FROM doc_snapshot WHERE space = $1::text AND key = $2::text) AS snapshot_seq`;

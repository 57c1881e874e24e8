/**
 * @module data-sql
 * The SQL behind `SqlDataService`, one statement per operation so each write is atomic without an
 * explicit transaction (and so PGlite, which has one session, is never held by an open block).
 * Every parameter carries an explicit cast: in `INSERT ... SELECT` and CTEs PostgreSQL cannot infer
 * parameter types from the target columns. Runs unchanged on PostgreSQL 13+ and PGlite.
 */

/**
 * $1 space, $2 key, $3 host, $4 who, $5 request, $6 redo, $7 undo. One row (the epoch bound) when
 * created. A deleted document's key is created again over its tombstone at the next epoch, so a
 * host still holding the deleted incarnation is fenced (its epoch is behind).
 */
export const CREATE_SQL = `
WITH dir AS (
  INSERT INTO directory (space, key, host, epoch, head_seq, state, updated_at)
  VALUES ($1::text, $2::text, $3::text, 1, 1, 'bound', now())
  ON CONFLICT (space, key) DO UPDATE
    SET host = EXCLUDED.host, epoch = directory.epoch + 1, head_seq = 1, state = 'bound', archive_ref = NULL, updated_at = now()
    WHERE directory.state = 'deleted'
  RETURNING space, key, epoch
),
logged AS (
  INSERT INTO doc_log (space, key, seq, who, request, redo, undo)
  SELECT dir.space, dir.key, 1, $4::jsonb, $5::jsonb, $6::jsonb, $7::jsonb FROM dir
)
SELECT epoch FROM dir`;

/**
 * $1 space, $2 key, $3 host, $4 epoch. The fenced delete: only the host bound at that epoch may
 * delete; the row stays as a tombstone (state 'deleted', the epoch bumped, so every copy of the
 * document anywhere is fenced from now on) and the log and snapshot go. One row, with the archived
 * object it had (for the caller to remove), when deleted.
 */
export const DELETE_SQL = `
WITH prev AS (
  SELECT archive_ref FROM directory
  WHERE space = $1::text AND key = $2::text AND host = $3::text AND epoch = $4::bigint AND state = 'bound'
),
d AS (
  UPDATE directory SET state = 'deleted', host = NULL, epoch = epoch + 1, head_seq = 0, archive_ref = NULL, updated_at = now()
  WHERE space = $1::text AND key = $2::text AND host = $3::text AND epoch = $4::bigint AND state = 'bound'
  RETURNING space, key
),
logs AS (DELETE FROM doc_log l USING d WHERE l.space = d.space AND l.key = d.key),
snaps AS (DELETE FROM doc_snapshot s USING d WHERE s.space = d.space AND s.key = d.key)
SELECT prev.archive_ref FROM d, prev`;

/**
 * $1 space, $2 after (exclusive; '' from the start), $3 limit. A page of a space's documents in
 * key order (the directory's primary key), tombstones left out.
 */
export const LIST_DOCUMENTS_SQL = `
SELECT key, head_seq, updated_at FROM directory
WHERE space = $1::text AND key > $2::text AND state <> 'deleted'
ORDER BY key LIMIT $3::int`;

/**
 * $1 space, $2 key, $3 host, $4 dead hosts (text[]).
 * No row: no such document. `epoch` set: bound. `live_owner`: redirect. Neither: the row changed
 * under this statement (a concurrent bind committed after our snapshot) and the caller retries.
 */
export const FIND_BIND_SQL = `
WITH cur AS (
  SELECT d.state, d.host, d.epoch,
         (d.state = 'bound' AND d.host IS NOT NULL AND d.host <> $3::text
          AND d.host <> ALL ($4::text[])
          AND EXISTS (SELECT 1 FROM hosts h WHERE h.host_id = d.host AND h.lease_expires_at > now())) AS live_owner
  FROM directory d
  WHERE d.space = $1::text AND d.key = $2::text
),
bound AS (
  UPDATE directory d
  SET host = $3::text, epoch = d.epoch + 1, state = 'bound', updated_at = now()
  FROM cur
  WHERE d.space = $1::text AND d.key = $2::text
    AND cur.state <> 'deleted' AND NOT cur.live_owner
    -- Compare-and-set against the row judged above: after waiting for a concurrent bind, PostgreSQL
    -- re-checks these against the new row version, and the bumped epoch makes them fail.
    AND d.epoch = cur.epoch AND d.state = cur.state AND d.host IS NOT DISTINCT FROM cur.host
  RETURNING d.epoch, d.head_seq, d.archive_ref
)
SELECT cur.state AS seen_state, cur.host AS seen_host, cur.live_owner,
       bound.epoch, bound.head_seq, bound.archive_ref
FROM cur LEFT JOIN bound ON true`;

/**
 * $1 space, $2 key, $3 host, $4 epoch, $5 expected head, $6 new head, $7 records (jsonb array in
 * seq order). The fenced compare-and-set: the log rows exist only if the directory row matched.
 * Seqs come from array positions, so they are contiguous by construction.
 */
export const APPEND_SQL = `
WITH d AS (
  UPDATE directory SET head_seq = $6::bigint, updated_at = now()
  WHERE space = $1::text AND key = $2::text AND host = $3::text AND epoch = $4::bigint
    AND head_seq = $5::bigint AND state = 'bound'
  RETURNING space, key
)
INSERT INTO doc_log (space, key, seq, who, request, redo, undo)
SELECT d.space, d.key, $5::bigint + r.ord, NULLIF(r.e->'who', 'null'::jsonb), r.e->'request', r.e->'redo', r.e->'undo'
FROM d CROSS JOIN jsonb_array_elements($7::jsonb) WITH ORDINALITY AS r(e, ord)`;

/**
 * $1 items: jsonb array of {i, space, key, host, epoch, expected, head, records} where `records`
 * is the same array APPEND_SQL takes and `head` = expected + its length. APPEND_SQL for many
 * documents in one statement: each item is fenced on its own directory row (a stale item simply
 * matches nothing), the log rows exist only for items whose row matched, and one row per
 * committed item comes back as (i, inserted). Refs must be distinct within one call. A log
 * collision (23505) on any item aborts the whole statement; the caller then retries item by item.
 */
export const APPEND_MANY_SQL = `
WITH input AS (
  SELECT * FROM jsonb_to_recordset($1::jsonb)
    AS x(i int, space text, key text, host text, epoch bigint, expected bigint, head bigint, records jsonb)
),
updated AS (
  UPDATE directory d SET head_seq = input.head, updated_at = now()
  FROM input
  WHERE d.space = input.space AND d.key = input.key AND d.host = input.host AND d.epoch = input.epoch
    AND d.head_seq = input.expected AND d.state = 'bound'
  RETURNING input.i, d.space, d.key, input.expected, input.records
),
inserted AS (
  INSERT INTO doc_log (space, key, seq, who, request, redo, undo)
  SELECT u.space, u.key, u.expected + r.ord, NULLIF(r.e->'who', 'null'::jsonb), r.e->'request', r.e->'redo', r.e->'undo'
  FROM updated u CROSS JOIN jsonb_array_elements(u.records) WITH ORDINALITY AS r(e, ord)
  RETURNING space, key
)
SELECT u.i, count(ins.key)::int AS inserted
FROM updated u LEFT JOIN inserted ins ON ins.space = u.space AND ins.key = u.key
GROUP BY u.i`;

/** $1 space, $2 key, $3 host, $4 epoch. True if released now or already free at that epoch. */
export const RELEASE_SQL = `
WITH freed AS (
  UPDATE directory SET state = 'free', host = NULL, updated_at = now()
  WHERE space = $1::text AND key = $2::text AND host = $3::text AND epoch = $4::bigint AND state = 'bound'
  RETURNING 1
)
SELECT EXISTS (SELECT 1 FROM freed)
    OR EXISTS (SELECT 1 FROM directory WHERE space = $1::text AND key = $2::text
               AND state = 'free' AND host IS NULL AND epoch = $4::bigint) AS released`;

/**
 * $1 host. Frees every row still bound to the host, whatever its epoch: only for a draining host
 * that holds none of them in memory (rows of a crashed incarnation under the same id). An append
 * of a zombie incarnation is then fenced by state = 'bound', and the next findbind raises the epoch.
 */
export const RELEASE_ALL_BOUND_SQL = `
WITH freed AS (
  UPDATE directory SET state = 'free', host = NULL, updated_at = now()
  WHERE host = $1::text AND state = 'bound'
  RETURNING 1
)
SELECT count(*)::int AS released FROM freed`;

/** $1 space, $2 key. Snapshot row first (if any), then log records after it; one statement, one snapshot. */
export const LOAD_SQL = `
WITH s AS (SELECT seq, state, meta FROM doc_snapshot WHERE space = $1::text AND key = $2::text)
SELECT true AS is_snapshot, s.seq, s.state, s.meta,
       NULL::jsonb AS who, NULL::jsonb AS request, NULL::jsonb AS redo, NULL::jsonb AS undo
FROM s
UNION ALL
SELECT false, l.seq, NULL, NULL, l.who, l.request, l.redo, l.undo
FROM doc_log l
WHERE l.space = $1::text AND l.key = $2::text AND l.seq > COALESCE((SELECT seq FROM s), 0)
ORDER BY is_snapshot DESC, seq`;

/** $1 space, $2 key, $3 from (exclusive), $4 to (inclusive). */
export const READ_LOG_SQL = `
SELECT seq, who, request, redo, undo FROM doc_log
WHERE space = $1::text AND key = $2::text AND seq > $3::bigint AND seq <= $4::bigint
ORDER BY seq`;

/**
 * $1 space, $2 key, $3 host, $4 epoch, $5 snapshot seq, $6 state, $7 meta, $8 history to keep.
 * FOR SHARE makes a concurrent takeover wait for this statement (or this statement see it).
 */
export const COMPACT_SQL = `
WITH own AS (
  SELECT 1 FROM directory
  WHERE space = $1::text AND key = $2::text AND host = $3::text AND epoch = $4::bigint
    AND state = 'bound' AND head_seq >= $5::bigint
  FOR SHARE
),
snap AS (
  INSERT INTO doc_snapshot AS s (space, key, seq, state, meta, updated_at)
  SELECT $1::text, $2::text, $5::bigint, $6::jsonb, $7::jsonb, now() FROM own
  ON CONFLICT (space, key) DO UPDATE
    SET seq = EXCLUDED.seq, state = EXCLUDED.state, meta = EXCLUDED.meta, updated_at = now()
    WHERE s.seq < EXCLUDED.seq
  RETURNING s.seq
),
trimmed AS (
  DELETE FROM doc_log
  WHERE space = $1::text AND key = $2::text AND seq <= (SELECT seq FROM snap) - $8::bigint
  RETURNING 1
)
SELECT (SELECT count(*) FROM snap)::int AS written, (SELECT count(*) FROM trimmed)::int AS trimmed`;

export const LOOKUP_SQL = `
SELECT space, key, host, epoch, head_seq, state, archive_ref FROM directory
WHERE space = $1::text AND key = $2::text`;

export const LIST_BY_HOST_SQL = `
SELECT space, key FROM directory WHERE host = $1::text AND state = 'bound' ORDER BY space, key`;

/** The rows LIST_BY_HOST_SQL would return, counted on directory_host_idx without shipping them. */
export const COUNT_BY_HOST_SQL = `
SELECT count(*)::int AS owned FROM directory WHERE host = $1::text AND state = 'bound'`;

/**
 * $1 space, $2 code. Adds version latest+1 unless the latest already has this code. `added` false
 * with different code (or no row) means a concurrent deploy took the version number: retry.
 */
export const DEPLOY_SPACE_SQL = `
WITH latest AS (
  SELECT version, code FROM spaces WHERE space = $1::text ORDER BY version DESC LIMIT 1
),
added AS (
  INSERT INTO spaces (space, version, code)
  SELECT $1::text, COALESCE((SELECT version FROM latest), 0) + 1, $2::text
  WHERE NOT EXISTS (SELECT 1 FROM latest WHERE code = $2::text)
  ON CONFLICT (space, version) DO NOTHING
  RETURNING version, code
)
SELECT version, code, true AS added FROM added
UNION ALL
SELECT version, code, false FROM latest WHERE NOT EXISTS (SELECT 1 FROM added)`;

export const GET_SPACE_SQL = `
SELECT version, code FROM spaces WHERE space = $1::text ORDER BY version DESC LIMIT 1`;

/** The newest version number only: what a host checks on every create and load (the code is cached per version). */
export const GET_SPACE_VERSION_SQL = `
SELECT version FROM spaces WHERE space = $1::text ORDER BY version DESC LIMIT 1`;

/** $1 host id, $2 address, $3 lease in ms. Leases use the database clock so hosts need not agree on time. */
export const HEARTBEAT_SQL = `
INSERT INTO hosts (host_id, address, lease_expires_at, updated_at)
VALUES ($1::text, $2::text, now() + $3::double precision * interval '1 millisecond', now())
ON CONFLICT (host_id) DO UPDATE
  SET address = EXCLUDED.address, lease_expires_at = EXCLUDED.lease_expires_at, updated_at = now()`;

export const LIVE_HOSTS_SQL = `
SELECT host_id, address, (extract(epoch FROM lease_expires_at) * 1000)::float8 AS lease_expires_at_ms
FROM hosts WHERE lease_expires_at > now() ORDER BY host_id`;

export const EXPIRE_HOST_SQL = `UPDATE hosts SET lease_expires_at = now(), updated_at = now() WHERE host_id = $1::text`;

export const HOST_ADDRESS_SQL = `SELECT address FROM hosts WHERE host_id = $1::text`;

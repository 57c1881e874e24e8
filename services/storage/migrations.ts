/**
 * @module migrations
 * Ordered schema migrations, recorded in `schema_migrations`. Each migration runs in its own
 * transaction on one pooled client and starts by claiming its version row with
 * `INSERT ... ON CONFLICT DO NOTHING`: a second process migrating at the same moment blocks on that
 * uncommitted row, then sees the conflict and skips the migration. That row lock is the only
 * coordination; there are no advisory locks and no session settings, because PGlite serves every
 * pool client over one shared session. Catalog races that PostgreSQL reports as 23505 or 42P07
 * (two `CREATE ... IF NOT EXISTS` at once) are tolerated by re-checking what exists.
 *
 * Never edit a released migration; append a new version.
 */
import type { Pool, PoolClient } from 'pg';
import { errorCode, SQLSTATE, toStorageError } from './pg-errors';

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'directory, log, snapshots, hosts, spaces',
    sql: `
      CREATE TABLE IF NOT EXISTS directory (
        space       text        NOT NULL,
        key         text        NOT NULL,
        host        text,
        epoch       bigint      NOT NULL DEFAULT 0,
        head_seq    bigint      NOT NULL DEFAULT 0,
        state       text        NOT NULL CHECK (state IN ('bound', 'free', 'archived', 'deleted')),
        archive_ref text,
        updated_at  timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (space, key)
      );
      CREATE INDEX IF NOT EXISTS directory_host_idx ON directory (host);

      CREATE TABLE IF NOT EXISTS doc_log (
        space      text        NOT NULL,
        key        text        NOT NULL,
        seq        bigint      NOT NULL,
        who        jsonb,
        request    jsonb       NOT NULL,
        redo       jsonb       NOT NULL,
        undo       jsonb       NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (space, key, seq)
      );

      CREATE TABLE IF NOT EXISTS doc_snapshot (
        space      text        NOT NULL,
        key        text        NOT NULL,
        seq        bigint      NOT NULL,
        state      jsonb       NOT NULL,
        meta       jsonb       NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (space, key)
      );

      CREATE TABLE IF NOT EXISTS hosts (
        host_id          text        PRIMARY KEY,
        address          text        NOT NULL,
        lease_expires_at timestamptz NOT NULL,
        updated_at       timestamptz NOT NULL DEFAULT now()
      );

      CREATE TABLE IF NOT EXISTS spaces (
        space      text        NOT NULL,
        version    integer     NOT NULL,
        code       text        NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (space, version)
      );
    `,
  },
  {
    version: 2,
    name: 'archiver claim lease on directory',
    // The archiver's work claim (docs/archiver.md): who holds it and until when, by the database
    // clock. A lease column instead of a held row lock, because PGlite serves every pool client
    // over one session and a transaction held across the object upload would stall every host.
    sql: `
      ALTER TABLE directory ADD COLUMN IF NOT EXISTS archive_claimed_by text;
      ALTER TABLE directory ADD COLUMN IF NOT EXISTS archive_claim_until timestamptz;
      CREATE INDEX IF NOT EXISTS directory_cold_idx ON directory (state, updated_at);
    `,
  },
  {
    version: 3,
    name: 'archiver claim token on directory',
    // The fence of an archive claim (issue 18.11, docs/archiver.md): a random token minted by each
    // claim, named in the object key the claim uploads, required by markArchived and revoked by the
    // garbage collector before it deletes that object. A claim never outlives its token, so a commit
    // can only name an object no collector has decided to delete.
    sql: `
      ALTER TABLE directory ADD COLUMN IF NOT EXISTS archive_claim_token text;
    `,
  },
];

const RACE_CODES: ReadonlySet<string> = new Set([SQLSTATE.uniqueViolation, SQLSTATE.duplicateTable, SQLSTATE.duplicateObject]);

/** Applies every migration not yet recorded, in order; returns the versions this call applied. */
export async function migrate(pool: Pool, migrations: readonly Migration[] = MIGRATIONS): Promise<number[]> {
  checkOrdered(migrations);
  try {
    await ensureMigrationsTable(pool);
    const done = new Set(await appliedVersions(pool));
    const applied: number[] = [];
    for (const m of migrations) {
      if (done.has(m.version)) continue;
      if (await applyOne(pool, m)) applied.push(m.version);
    }
    return applied;
  } catch (err) {
    throw toStorageError(err, 'migrate');
  }
}

/** Versions of `migrations` the database has not applied (all of them on a database never migrated). */
export async function pendingMigrations(pool: Pool, migrations: readonly Migration[] = MIGRATIONS): Promise<number[]> {
  let done: Set<number>;
  try {
    done = new Set(await appliedVersions(pool));
  } catch (err) {
    if ((err as { code?: string }).code !== SQLSTATE.undefinedTable) throw toStorageError(err, 'pendingMigrations');
    done = new Set();
  }
  return migrations.filter((m) => !done.has(m.version)).map((m) => m.version);
}

export async function appliedVersions(pool: Pool): Promise<number[]> {
  const r = await pool.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
  return r.rows.map((row) => row.version);
}

function checkOrdered(migrations: readonly Migration[]): void {
  migrations.forEach((m, i) => {
    const prev = migrations[i - 1];
    if (!Number.isInteger(m.version) || m.version < 1 || (prev !== undefined && m.version <= prev.version)) {
      throw new Error(`migrations must have strictly increasing positive integer versions (at ${m.version})`);
    }
  });
}

async function ensureMigrationsTable(pool: Pool): Promise<void> {
  try {
    await pool.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version    integer     PRIMARY KEY,
      name       text        NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
  } catch (err) {
    // Two processes creating it at once: the loser gets 23505/42P07 although the table now exists.
    const code = errorCode(err);
    if (code === undefined || !RACE_CODES.has(code) || !(await tableExists(pool, 'schema_migrations'))) throw err;
  }
}

async function tableExists(pool: Pool, table: string): Promise<boolean> {
  const r = await pool.query<{ found: boolean }>('SELECT to_regclass($1) IS NOT NULL AS found', [table]);
  return r.rows[0]?.found === true;
}

/** True if this call applied the migration, false if another process already had. */
async function applyOne(pool: Pool, m: Migration): Promise<boolean> {
  const client = await pool.connect();
  let broken = false;
  try {
    await client.query('BEGIN');
    const claim = await client.query(
      'INSERT INTO schema_migrations (version, name) VALUES ($1, $2) ON CONFLICT (version) DO NOTHING RETURNING version',
      [m.version, m.name],
    );
    if (claim.rowCount === 0) {
      await client.query('ROLLBACK');
      return false;
    }
    await client.query(m.sql);
    await client.query('COMMIT');
    return true;
  } catch (err) {
    broken = !(await rollback(client));
    const code = errorCode(err);
    if (code !== undefined && RACE_CODES.has(code) && (await appliedVersions(pool)).includes(m.version)) return false;
    throw err;
  } finally {
    client.release(broken);
  }
}

/** Returns false when the connection is unusable, so the pool discards it. */
async function rollback(client: PoolClient): Promise<boolean> {
  try {
    await client.query('ROLLBACK');
    return true;
  } catch {
    return false;
  }
}
